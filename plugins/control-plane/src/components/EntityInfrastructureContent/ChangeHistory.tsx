import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import { Button, Link, Text } from '@backstage/ui';
import { resourceUpdatePermission } from '@idp-multicloud/plugin-control-plane-common';
import { IdpReviewRequiredError, Resource, Schemas } from '@idp-multicloud/sdk';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { AsyncView, DataTable, formatTime } from '../common';
import { useConfirmedAction } from './ResourceActions';

type Change = Schemas['Change'];
type Proposal = Schemas['ChangeProposal'];

/**
 * Rolls a resource back to how `target` left it: reverts every later change, newest first
 * (what `idp rollback --to` does). A revert that needs review is proposed as a pull request
 * and ends the walk: the rest waits until it is merged.
 */
export async function rollBackTo(
  revert: (sha: string) => Promise<unknown>,
  history: Change[],
  target: Change,
): Promise<{ reverted: number; proposal?: Proposal }> {
  const later = history.slice(0, history.indexOf(target));
  let reverted = 0;
  for (const change of later) {
    try {
      await revert(change.sha);
      reverted++;
    } catch (error) {
      if (error instanceof IdpReviewRequiredError) {
        return { reverted, proposal: error.proposal };
      }
      throw error;
    }
  }
  return { reverted };
}

/**
 * A resource's history in the state repository: each commit that changed it (who, when,
 * what), numbered as versions, with "Roll back to this" on every version but the newest.
 */
export const ChangeHistory = (props: {
  resource: Resource;
  tick: number;
  onChanged: () => void;
}) => {
  const { resource } = props;
  const api = useApi(controlPlaneApiRef);
  const [reload, setReload] = useState(0);
  const [proposal, setProposal] = useState<Proposal>();
  const update = usePermission({
    permission: resourceUpdatePermission,
    resourceRef: resource.ref,
  });
  const { ask, dialog, outcomeAlert } = useConfirmedAction(() => {
    setReload(n => n + 1);
    props.onChanged();
  });
  const list = useAsync(
    () => api.changes(resource.ref),
    [api, resource.ref, props.tick, reload],
  );
  const name = resource.metadata.name;
  return (
    <>
      {outcomeAlert}
      {proposal?.pullRequest && (
        <Text variant="body-small">
          Pull request for review:{' '}
          <Link href={proposal.pullRequest.url}>
            #{proposal.pullRequest.number}
          </Link>{' '}
          (change {proposal.id}, {proposal.status})
        </Text>
      )}
      <AsyncView
        what="the changes"
        loading={list.loading}
        error={list.error}
        value={list.value}
        isEmpty={v => v.length === 0}
        empty={{
          title: 'No change in Git yet',
          description: `Each commit of the state repository that changes ${name} appears here.`,
        }}
      >
        {history => (
          <DataTable
            caption="Changes in Git"
            rows={history}
            rowKey={c => c.sha}
            rowLabel={c => `version ${history.length - history.indexOf(c)}`}
            columns={[
              {
                title: 'Version',
                render: c => String(history.length - history.indexOf(c)),
              },
              { title: 'Commit', render: c => c.sha.slice(0, 12) },
              { title: 'When', render: c => formatTime(c.date) },
              {
                title: 'Change',
                render: c => c.objects.map(o => o.action).join(', '),
              },
              {
                title: 'By',
                render: c => (c.verified ? c.actor : `${c.actor} (unverified)`),
              },
              { title: 'Subject', render: c => c.subject },
              {
                title: 'Roll back',
                render: c => {
                  const index = history.indexOf(c);
                  if (!update.allowed || index === 0) return null;
                  const sha = c.sha.slice(0, 12);
                  return (
                    <Button
                      variant="secondary"
                      size="small"
                      aria-label={`Roll back to ${sha}`}
                      onPress={() =>
                        ask({
                          title: `Roll ${name} back to version ${
                            history.length - index
                          }?`,
                          confirmLabel: 'Roll back',
                          destructive: true,
                          description: `The ${index} later change${
                            index === 1 ? ' is' : 's are'
                          } reverted in Git, newest first, each a commit validated and checked by policy like any change. Where changes need review, the revert is proposed as a pull request instead.`,
                          run: async () => {
                            const done = await rollBackTo(
                              commit => api.revertChange(commit),
                              history,
                              c,
                            );
                            setProposal(done.proposal);
                            return done.proposal
                              ? `Needs review: the revert was proposed as pull request #${done.proposal.pullRequest?.number}; ${done.reverted} change(s) reverted before it`
                              : `${name} rolled back to ${sha} (${
                                  done.reverted
                                } change${
                                  done.reverted === 1 ? '' : 's'
                                } reverted)`;
                          },
                        })
                      }
                    >
                      Roll back to this
                    </Button>
                  );
                },
              },
            ]}
          />
        )}
      </AsyncView>
      {dialog}
    </>
  );
};
