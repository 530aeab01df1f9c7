import { Schemas } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { print, table } from '../format';
import { UsageError } from '../params';
import { refArgument, sessionOf } from '../session';

type Change = Schemas['Change'];

/**
 * The changes to revert, newest first, to bring a resource back to how `to` left it: every
 * change after it. `to` is a commit SHA (full or abbreviated) or a version: the resource's
 * n-th change, counting from 1 (its creation) as `idp rollback --list` numbers them. Without
 * `to`: the last change alone.
 */
export function changesToRevert(
  history: Change[],
  to: string | undefined,
): Change[] {
  if (history.length === 0) {
    throw new UsageError('the resource has no change to roll back');
  }
  if (to === undefined) return [history[0]];
  let index: number;
  if (/^[0-9]{1,6}$/.test(to)) {
    const version = Number(to);
    if (version < 1 || version > history.length) {
      throw new UsageError(
        `--to ${to}: the resource has versions 1 to ${history.length}`,
      );
    }
    index = history.length - version;
  } else if (/^[0-9a-f]{4,40}$/.test(to)) {
    const matches = history
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c.sha.startsWith(to));
    if (matches.length !== 1) {
      throw new UsageError(
        matches.length === 0
          ? `--to ${to}: no change of the resource has this SHA (see idp rollback --list)`
          : `--to ${to}: several changes of the resource start with it; give more of the SHA`,
      );
    }
    index = matches[0].i;
  } else {
    throw new UsageError(
      `--to ${to}: must be a commit SHA or a version number`,
    );
  }
  if (index === 0) {
    throw new UsageError(
      `--to ${to}: that is the resource's last change; nothing to roll back`,
    );
  }
  return history.slice(0, index);
}

export function rollbackCommands(): Command[] {
  const rollback = new Command('rollback')
    .description(
      'Roll a resource back by reverting its changes in the state repository (validated, checked by policy and audited like any change): the last one, or every one after --to',
    )
    .argument('<resource>', 'name, namespace/name or resource:namespace/name')
    .option(
      '--to <sha|version>',
      'the change to go back to: a commit SHA, or a version as --list numbers them (1 = created)',
    )
    .option(
      '--list',
      "list the resource's changes (versions) and change nothing",
    )
    .option(
      '--propose',
      'propose the revert for review as a pull request (where changes need approval) instead of committing it; one change at a time',
    )
    .addHelpText(
      'after',
      '\nA revert that conflicts with a later change of the same objects is refused (exit 1) naming that change.\n\n' +
        '  idp rollback payments/orders-db            # undo the last change (a deletion: re-create it)\n' +
        '  idp rollback payments/orders-db --list\n' +
        '  idp rollback payments/orders-db --to 2     # back to version 2\n' +
        '  idp rollback payments/orders-db --propose  # as a pull request, where changes need review\n',
    )
    .action(
      async (
        resource: string,
        opts: { to?: string; list?: boolean; propose?: boolean },
        command: Command,
      ) => {
        const ref = refArgument(resource);
        const session = await sessionOf(command);
        const history = (await session.idp.changes.list(ref, { limit: 500 }))
          .items;
        if (opts.list) {
          print(session.output, history, () =>
            table(
              ['VERSION', 'SHA', 'DATE', 'ACTION', 'BY', 'SUBJECT'],
              history.map((c, i) => [
                history.length - i,
                c.sha.slice(0, 12),
                c.date,
                c.objects[0]?.action ?? '',
                c.verified ? c.actor : `${c.actor} (unverified)`,
                c.subject,
              ]),
            ),
          );
          return;
        }
        const toRevert = changesToRevert(history, opts.to);
        if (opts.propose) {
          if (toRevert.length > 1) {
            throw new UsageError(
              `--propose reverts one change at a time (--to ${opts.to} reverts ${toRevert.length}): propose the newest, merge it, then the next`,
            );
          }
          const proposal = await session.idp.changes.proposeRevert(
            toRevert[0].sha,
          );
          print(session.output, proposal, () =>
            [
              `Proposed the revert of ${toRevert[0].sha.slice(
                0,
                12,
              )} for review: ${proposal.pullRequest?.url ?? ''}`,
              `change ${proposal.id}: ${proposal.status}`,
            ].join('\n'),
          );
          return;
        }
        const reverts: Schemas['ChangeRevert'][] = [];
        for (const change of toRevert) {
          reverts.push(await session.idp.changes.revert(change.sha));
        }
        print(session.output, reverts, () =>
          reverts
            .map(
              r =>
                `Reverted ${r.reverted.slice(0, 12)}${
                  r.commit
                    ? ` as commit ${r.commit.slice(0, 12)}`
                    : ' (nothing to change)'
                }: ${r.objects.map(o => `${o.action} ${o.ref}`).join(', ')}`,
            )
            .join('\n'),
        );
      },
    );
  return [rollback];
}
