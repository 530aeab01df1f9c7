import { Schemas } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { fields, print } from '../format';
import { UsageError } from '../params';
import { durationMs, Session, sessionOf } from '../session';

type Proposal = Schemas['ChangeProposal'];

const ended = (p: Proposal) => p.status === 'applied' || p.status === 'closed';

/** A proposal for people: its status, pull request, approvers and objects. */
export function describeProposal(p: Proposal): string {
  return fields([
    ['change', p.id],
    ['title', p.title],
    ['status', p.status],
    [
      'pull request',
      p.pullRequest ? `#${p.pullRequest.number} ${p.pullRequest.url}` : '',
    ],
    ['by', p.actor],
    ['approvers', p.approvers.join(', ') || '(none yet)'],
    ['merge commit', p.mergeCommit ?? ''],
    ['objects', p.objects.map(o => `${o.action} ${o.ref}`).join(', ')],
  ]);
}

/** Follows a proposal until it is applied or closed, or the timeout passes. */
export async function followProposal(
  session: Session,
  id: string,
  timeout: string,
  pollMs = 2000,
): Promise<Proposal> {
  const deadline = Date.now() + durationMs(timeout);
  let proposal = await session.idp.changes.proposal(id);
  while (!ended(proposal)) {
    if (Date.now() >= deadline) {
      throw new Error(
        `change ${id} is still ${proposal.status} after ${timeout}${
          proposal.pullRequest ? ` (${proposal.pullRequest.url})` : ''
        }`,
      );
    }
    await new Promise(r => setTimeout(r, pollMs));
    proposal = await session.idp.changes.proposal(id);
  }
  return proposal;
}

export function changeCommands(): Command[] {
  const changes = new Command('changes').description(
    "Changes proposed for review as pull requests: 'idp changes show <id> --wait' follows one to Applied or Closed",
  );
  changes
    .command('show')
    .description(
      'A proposed change: Awaiting approval → Merged → Applied, or Closed; its pull request and approvers',
    )
    .argument('<id>', 'the change id a write needing review answered with')
    .option('--wait', 'follow it until it is applied or closed')
    .option(
      '--timeout <duration>',
      'how long --wait waits (e.g. 30m, 2h)',
      '1h',
    )
    .addHelpText(
      'after',
      '\nWith --wait the exit code is 0 once the change is applied and 1 when its pull request is closed unmerged.\n\n' +
        '  idp changes show 6f1c2a90-2b1e-4c55-9d7e-0a3e1c7d9b12\n' +
        '  idp changes show 6f1c2a90-2b1e-4c55-9d7e-0a3e1c7d9b12 --wait --timeout 2h\n',
    )
    .action(
      async (
        id: string,
        opts: { wait?: boolean; timeout: string },
        command: Command,
      ) => {
        if (
          !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(
            id,
          )
        ) {
          throw new UsageError(`${id}: a change id is a UUID`);
        }
        durationMs(opts.timeout);
        const session = await sessionOf(command);
        const proposal = opts.wait
          ? await followProposal(session, id, opts.timeout)
          : await session.idp.changes.proposal(id);
        print(session.output, proposal, () => describeProposal(proposal));
        if (opts.wait && proposal.status === 'closed') process.exitCode = 1;
      },
    );
  return [changes];
}
