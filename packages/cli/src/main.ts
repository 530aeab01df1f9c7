import { IdpError, IdpReviewRequiredError } from '@idp-multicloud/sdk';
import { Command, CommanderError, Option } from 'commander';
import { version } from '../package.json';
import { auditCommands } from './commands/audit';
import { changeCommands, describeProposal } from './commands/changes';
import { clusterCommands } from './commands/clusters';
import { completionCommands } from './commands/completion';
import { generateCommands } from './commands/generate';
import { loginCommands } from './commands/login';
import { manifestCommands } from './commands/manifests';
import { operationCommands } from './commands/operations';
import { productCommands, projectCommands } from './commands/projects';
import { resourceCommands } from './commands/resources';
import { rollbackCommands } from './commands/rollback';
import { rolloutCommands } from './commands/rollout';
import { validateCommands } from './commands/validate';
import { fields, OutputFormat, outputFormats, print, table } from './format';
import { UsageError } from './params';
import { sessionOf } from './session';
import { refuseUnknownSubcommands } from './unknownCommand';

/**
 * Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong, 3 the change
 * needs review and was proposed as a pull request instead of made.
 */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_PROPOSED = 3;

function healthCommand(): Command {
  return new Command('health')
    .description(
      'Show whether the control plane is up, its database and migrations',
    )
    .action(async (_o: unknown, command: Command) => {
      const session = await sessionOf(command);
      const health = await session.idp.health();
      print(session.output, health, () =>
        fields([
          ['status', health.status],
          ['database', health.database.client],
          [
            'migrations',
            `${health.database.migrations.applied.length} applied, ${health.database.migrations.pending.length} pending`,
          ],
        ]),
      );
      if (health.status !== 'ok') process.exitCode = EXIT_FAILURE;
    });
}

function reconcileCommand(): Command {
  return new Command('reconcile')
    .description(
      'Run a reconciler pass now (platform engineers): start what closes the gap between desired and observed state',
    )
    .option(
      '--drift',
      'also ask the drivers for the actual state, to find drift',
    )
    .action(async (opts: { drift?: boolean }, command: Command) => {
      const session = await sessionOf(command);
      const result = await session.idp.reconciler.run({
        drift: Boolean(opts.drift),
      });
      print(session.output, result, () =>
        result.started.length
          ? table(
              ['RESOURCE', 'OPERATION', 'ID'],
              result.started.map(s => [s.ref, s.type, s.operationId]),
            )
          : 'Converged: nothing to start.',
      );
    });
}

/** Every command on every level reports usage errors the same way. */
function configure(command: Command) {
  command.exitOverride().showHelpAfterError('(add --help for usage)');
  refuseUnknownSubcommands(command);
  command.commands.forEach(configure);
}

/** The `idp` program. @internal */
export function buildProgram(): Command {
  const program = new Command('idp')
    .description(
      'Ask the IDP Multicloud control plane for infrastructure, and watch it.',
    )
    .version(version, '-V, --version')
    .addOption(
      new Option(
        '-s, --server <url>',
        'the Backstage backend (default: the one `idp login` saved, else http://localhost:7007)',
      ).env('IDP_SERVER'),
    )
    .addOption(
      new Option(
        '--token <token>',
        'a Backstage token (default: the one `idp login` saved)',
      ).env('IDP_TOKEN'),
    )
    .addOption(
      new Option('-o, --output <format>', 'how to print results')
        .choices(outputFormats)
        .default('table'),
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 the operation failed, 2 a usage error, 3 the change needs review: it was proposed as a pull request (follow it with idp changes show <id> --wait).\n\n' +
        '  idp login --guest\n' +
        '  idp create mysql orders-db --cell cell-us --tier medium --size large --wait\n' +
        '  idp list --owner group:default/payments -o yaml\n' +
        '  idp ops scale orders-db --replicas 3 --wait\n' +
        '  idp apply -f resources.yaml --dry-run\n' +
        '  idp generate compose --component checkout\n' +
        '  idp validate --base origin/main --format github   # exit codes: idp validate --help\n',
    );
  for (const command of [
    healthCommand(),
    ...loginCommands(),
    ...resourceCommands(),
    ...operationCommands(),
    ...manifestCommands(),
    ...auditCommands(),
    ...generateCommands(),
    ...productCommands(),
    ...projectCommands(),
    ...rollbackCommands(),
    ...changeCommands(),
    ...rolloutCommands(),
    ...clusterCommands(),
    ...validateCommands(),
    reconcileCommand(),
  ]) {
    program.addCommand(command);
  }
  for (const command of completionCommands(program))
    program.addCommand(command);
  configure(program);
  return program;
}

/** What a failed call prints: the server's message and each field it refused. */
function describeError(error: unknown): string {
  if (error instanceof IdpError) {
    const lines = [`error: ${error.message}`];
    for (const issue of error.issues) {
      const line = `${issue.path}: ${issue.message}`;
      if (!error.message.includes(line)) lines.push(`  ${line}`);
    }
    return lines.join('\n');
  }
  return `error: ${(error as Error)?.message ?? String(error)}`;
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
    if (error instanceof IdpReviewRequiredError) {
      const { proposal } = error;
      print(program.opts().output as OutputFormat, proposal, () =>
        [
          `Needs review: proposed as pull request #${
            proposal.pullRequest?.number ?? '?'
          } ${
            proposal.pullRequest?.url ?? ''
          }; nothing changes until it is approved and merged.`,
          describeProposal(proposal),
          `Follow it: idp changes show ${proposal.id} --wait`,
        ].join('\n'),
      );
      process.exitCode = EXIT_PROPOSED;
      return;
    }
    process.stderr.write(`${describeError(error)}\n`);
    process.exitCode = error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
