import { createIdpClient } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { configPath, readConfig, writeConfig } from '../config';
import { readStdin, UsageError } from '../params';
import { serverOf, tokenSubject } from '../session';

async function readToken(): Promise<string> {
  if (!process.stdin.isTTY) return (await readStdin()).trim();
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question('Backstage token: ')).trim();
  } finally {
    rl.close();
  }
}

/** A token of the Backstage instance's guest sign-in, as its app gets one. */
async function guestToken(server: string): Promise<string> {
  const res = await fetch(`${server}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  if (!res.ok) {
    throw new Error(
      `${server} gave no guest token (${res.status}): is guest sign-in enabled?`,
    );
  }
  const body = (await res.json()) as { backstageIdentity?: { token?: string } };
  const token = body.backstageIdentity?.token;
  if (!token)
    throw new Error(`${server} answered the guest sign-in without a token`);
  return token;
}

export function loginCommands(): Command[] {
  const login = new Command('login')
    .description(
      'Save the server and a token for the next commands, in a file only you can read (mode 0600)',
    )
    .option('--guest', "sign in as the instance's guest (local instances)")
    .addHelpText(
      'after',
      '\nThe token comes from --token, IDP_TOKEN, --guest, or standard input (a prompt on a terminal).\n' +
        'The file is $XDG_CONFIG_HOME/idp/config.json (~/.config), or IDP_CONFIG.',
    )
    .action(async (opts: { guest?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<{
        server?: string;
        token?: string;
      }>();
      const saved = await readConfig();
      const server = serverOf(globals.server, saved.server);
      if (opts.guest && globals.token) {
        throw new UsageError('give either --guest or a token, not both');
      }
      const token = opts.guest
        ? await guestToken(server)
        : globals.token ?? (await readToken());
      if (!token) throw new UsageError('no token given');
      // Check it before saving it: a call every signed-in user may make.
      await createIdpClient({ baseUrl: server, token }).resources.list({
        limit: 1,
      });
      await writeConfig({ server, token });
      process.stderr.write(
        `Signed in to ${server}${
          tokenSubject(token) ? ` as ${tokenSubject(token)}` : ''
        }; saved in ${configPath()}\n`,
      );
    });
  const logout = new Command('logout')
    .description('Forget the saved token')
    .action(async () => {
      const saved = await readConfig();
      await writeConfig({ server: saved.server });
      process.stderr.write('Signed out.\n');
    });
  return [login, logout];
}
