import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `idp login` keeps between runs. */
export interface StoredConfig {
  server?: string;
  token?: string;
}

/** The config file: `IDP_CONFIG`, else `$XDG_CONFIG_HOME/idp/config.json` (~/.config). */
export function configPath(env = process.env): string {
  if (env.IDP_CONFIG) return env.IDP_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'idp', 'config.json');
}

export async function readConfig(path = configPath()): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = JSON.parse(text);
    return {
      server: typeof parsed.server === 'string' ? parsed.server : undefined,
      token: typeof parsed.token === 'string' ? parsed.token : undefined,
    };
  } catch {
    throw new Error(`${path} is not valid JSON; fix or delete it`);
  }
}

/**
 * Writes the config readable by its owner only (0600, in a 0700 folder): it holds a token.
 * Written to a temporary file first, so a crash never leaves half a file.
 */
export async function writeConfig(
  config: StoredConfig,
  path = configPath(),
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, {
    mode: 0o600,
  });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
