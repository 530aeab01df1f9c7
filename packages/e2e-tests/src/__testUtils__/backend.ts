import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths';

/** A running example backend (packages/backend), serving the built app at `baseUrl`. */
export interface RunningBackend {
  baseUrl: string;
  /** The last lines the backend logged, for failure messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts the example backend with the repository's app-config.yaml plus `config` (written
 * next to its log in `workDir`), on a free port, and waits until it is ready. The backend's
 * app plugin serves packages/app/dist, so the app and the API share one origin.
 */
export async function startBackend(options: {
  workDir: string;
  name: string;
  config: (baseUrl: string, port: number) => object;
  timeoutMs?: number;
}): Promise<RunningBackend> {
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const configFile = join(options.workDir, `${options.name}.config.yaml`);
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify(options.config(baseUrl, port), null, 2),
  );
  const logFile = join(options.workDir, `${options.name}.log`);
  const log = createWriteStream(logFile);
  const backendDir = join(repoRoot, 'packages/backend');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('@backstage/cli-node/config/nodeTransform.cjs', {
        paths: [backendDir],
      }),
      'src/index.ts',
      '--config',
      join(repoRoot, 'app-config.yaml'),
      '--config',
      configFile,
    ],
    {
      cwd: backendDir,
      // Its own process group, so that stop() ends it and anything it started.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'development', FORCE_COLOR: '0' },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: string | undefined;
  const exit = new Promise<void>(resolve =>
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      resolve();
    }),
  );

  const logTail = (lines = 40) => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const stop = async () => {
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exit;
      clearTimeout(killer);
    }
    log.end();
  };

  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      throw new Error(
        `The backend ${exited} before it was ready. Its log (${logFile}):\n${logTail()}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/.backstage/health/v1/readiness`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `The backend was not ready after ${
          options.timeoutMs ?? 120_000
        } ms. Its log (${logFile}):\n${logTail()}`,
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
  return { baseUrl, logTail, stop };
}

/**
 * The example app's configuration on top of app-config.yaml: its state (SQLite, the state
 * repository, local repositories) in `workDir`, served on the backend's `baseUrl`.
 */
export const exampleConfig =
  (workDir: string, overrides: object = {}) =>
  (baseUrl: string, port: number) => ({
    app: { baseUrl },
    backend: {
      baseUrl,
      listen: { port, host: '127.0.0.1' },
      cors: { origin: baseUrl },
      database: {
        client: 'better-sqlite3',
        connection: { directory: join(workDir, 'sqlite') },
      },
    },
    auth: {
      providers: {
        guest: {
          userEntityRef: 'user:default/guest',
          dangerouslyAllowOutsideDevelopment: true,
        },
      },
    },
    controlPlane: { dataDir: join(workDir, 'control-plane') },
    localRepositories: { directory: join(workDir, 'repositories') },
    ...overrides,
  });

/** A Backstage token for the guest sign-in, as the app gets it. */
export async function guestToken(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!res.ok) {
    throw new Error(`guest sign-in failed: ${res.status} ${await res.text()}`);
  }
  const body = await res.json();
  return body.backstageIdentity.token;
}
