import { Command, CommanderError, Option } from 'commander';
import { createIdpClient, IdpClient } from '@idp-multicloud/sdk';
import { version } from '../package.json';

/** Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

interface GlobalOptions {
  server: string;
  token?: string;
  output: 'table' | 'json';
}

function clientFor(opts: GlobalOptions): IdpClient {
  return createIdpClient({ baseUrl: opts.server, token: opts.token });
}

function print(opts: GlobalOptions, value: unknown, table: () => string) {
  process.stdout.write(
    opts.output === 'json'
      ? `${JSON.stringify(value, null, 2)}\n`
      : `${table()}\n`,
  );
}

function buildProgram(): Command {
  const program = new Command('idp')
    .description(
      'Ask the IDP Multicloud control plane for infrastructure and watch it.',
    )
    .version(version)
    .addOption(
      new Option('-s, --server <url>', 'Backstage backend base URL')
        .env('IDP_SERVER')
        .default('http://localhost:7007'),
    )
    .addOption(new Option('--token <token>', 'bearer token').env('IDP_TOKEN'))
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .exitOverride()
    .showHelpAfterError();

  program
    .command('health')
    .description(
      'Show whether the control plane is up, its database and migrations',
    )
    .action(async () => {
      const opts = program.opts<GlobalOptions>();
      const health = await clientFor(opts).health();
      print(opts, health, () =>
        [
          `status      ${health.status}`,
          `database    ${health.database.client}`,
          `migrations  ${health.database.migrations.applied.length} applied, ${health.database.migrations.pending.length} pending`,
        ].join('\n'),
      );
      if (health.status !== 'ok') {
        process.exitCode = EXIT_FAILURE;
      }
    });

  return program;
}

/**
 * Runs the `idp` command with the given argv (as `process.argv`).
 * @public
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const e = error as {
      message?: string;
      body?: { error?: { message?: string } };
    };
    process.stderr.write(
      `error: ${e.body?.error?.message ?? e.message ?? String(error)}\n`,
    );
    process.exitCode = EXIT_FAILURE;
  }
}
