import { Command } from 'commander';
import { fields, print, table } from '../format';
import { sessionOf } from '../session';

export function auditCommands(): Command[] {
  const audit = new Command('audit')
    .description(
      'Read the audit log: who changed what, when, from where, with what outcome',
    )
    .option('--actor <ref>', 'by this user or service')
    .option('--action <action>', 'e.g. resource.create')
    .option('--target <ref>', 'on this object')
    .option('--outcome <outcome>', 'accepted, rejected, succeeded or failed')
    .option('--since <time>', 'at or after this ISO 8601 time')
    .option('--until <time>', 'before this ISO 8601 time')
    .option('--limit <n>', 'events per page', v => Number(v), 50)
    .option('--cursor <cursor>', 'the page after this cursor')
    .action(async (opts: any, command: Command) => {
      const session = await sessionOf(command);
      const page = await session.idp.audit.list({
        actor: opts.actor,
        action: opts.action,
        target: opts.target,
        outcome: opts.outcome,
        since: opts.since,
        until: opts.until,
        limit: opts.limit,
        cursor: opts.cursor,
      } as any);
      print(session.output, page, () =>
        page.items.length
          ? table(
              ['ID', 'AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'REASON'],
              page.items.map(e => [
                e.id,
                e.at,
                e.verified === false ? `${e.actor} (unverified)` : e.actor,
                e.action,
                e.target,
                e.outcome,
                e.reason,
              ]),
            )
          : 'No audit events match.',
      );
      if (page.nextCursor && session.output === 'table') {
        process.stderr.write(`more: --cursor ${page.nextCursor}\n`);
      }
    });
  audit
    .command('verify')
    .description(
      'Walk the hash chain of the audit log; exit 1 naming the first broken event',
    )
    .action(async (_o: unknown, command: Command) => {
      const session = await sessionOf(command);
      const result = await session.idp.audit.verify();
      print(session.output, result, () =>
        result.valid
          ? `The chain is intact: ${result.checked} events checked.`
          : fields([
              ['broken at event', result.firstBroken?.id],
              ['why', result.firstBroken?.reason],
              ['checked', result.checked],
            ]),
      );
      if (!result.valid) process.exitCode = 1;
    });
  return [audit];
}
