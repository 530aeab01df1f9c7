import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import { resourceOperatePermission } from '@idp-multicloud/plugin-control-plane-common';
import { Operation } from '@idp-multicloud/sdk';
import { Button, Flex, Text } from '@backstage/ui';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { controlPlaneApiRef, orUndefined } from '../../api';
import { AsyncView, DataTable, formatTime, StateBadge } from '../common';
import { useConfirmedAction } from './ResourceActions';

const running = new Set(['pending', 'running']);
/** States in which an operation's reason tells what went wrong (otherwise: why it was started). */
const troubled = new Set([
  'failed',
  'compensated',
  'cancelled',
  'needs-attention',
]);

function stepNote(step: Operation['steps'][number]): string {
  const notes: string[] = [];
  if (step.attempts > 1) notes.push(`${step.attempts - 1} retries`);
  if (step.compensationAttempts > 0)
    notes.push(`compensated (${step.compensationAttempts} attempts)`);
  if (step.error) notes.push(step.error);
  return notes.join('; ');
}

/** One operation, loaded fresh from GET /operations/{id} when opened; none when gone. */
const OperationDetails = (props: {
  id: string;
  tick: number;
  onReload: () => void;
}) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => orUndefined(api.operation(props.id)),
    [api, props.id, props.tick],
  );
  return (
    <AsyncView
      what="the operation"
      loading={loading}
      error={error}
      value={value}
      empty={{
        title: 'Operation not found',
        description: `The control plane no longer has operation ${props.id}. Reload the operations to see the resource's current ones; its state history below still records every state the operation moved it through.`,
        action: (
          <Button variant="secondary" onPress={props.onReload}>
            Reload operations
          </Button>
        ),
      }}
    >
      {op => (
        <Flex direction="column" gap="2">
          <DataTable
            caption={`Steps of ${op.type}`}
            columns={[
              { title: 'Step', render: s => s.name },
              { title: 'State', render: s => <StateBadge state={s.state} /> },
              { title: 'Attempts', render: s => String(s.attempts) },
              { title: 'Notes', render: s => stepNote(s) || '—' },
              { title: 'Finished', render: s => formatTime(s.finishedAt) },
            ]}
            rows={op.steps}
            rowKey={s => s.name}
          />
          <ol aria-label={`Timeline of ${op.type}`}>
            {op.timeline.map(t => (
              <li key={t.id}>
                <Text variant="body-small">
                  {formatTime(t.at)} · {t.type}
                  {t.step ? ` · ${t.step}` : ''} — {t.message}
                </Text>
              </li>
            ))}
          </ol>
        </Flex>
      )}
    </AsyncView>
  );
};

/** The operations that acted on a resource, newest first, with their steps on demand. */
export const OperationTimeline = (props: {
  resourceRef: string;
  tick: number;
}) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error, retry } = useAsyncRetry(
    () => api.operations(props.resourceRef),
    [api, props.resourceRef, props.tick],
  );
  const operate = usePermission({
    permission: resourceOperatePermission,
    resourceRef: props.resourceRef,
  });
  const [open, setOpen] = useState<string>();
  const { ask, dialog, outcomeAlert } = useConfirmedAction(retry);

  return (
    <AsyncView
      what="operations"
      loading={loading}
      error={error}
      value={value}
      isEmpty={v => v.length === 0}
      empty={{
        title: 'No operations yet',
        description:
          'Operations appear here once the control plane acts on this resource: creating it, or an operation you run above.',
      }}
    >
      {ops => (
        <Flex direction="column" gap="2">
          {outcomeAlert}
          <DataTable
            caption="Operations"
            columns={[
              { title: 'Operation', render: o => o.type },
              { title: 'State', render: o => <StateBadge state={o.state} /> },
              { title: 'Started by', render: o => o.actor },
              { title: 'Started', render: o => formatTime(o.createdAt) },
              {
                title: 'Problem',
                render: o =>
                  o.error ??
                  (troubled.has(o.state) ? o.reason : undefined) ??
                  '—',
              },
              {
                title: 'Actions',
                render: o => (
                  <Flex gap="1">
                    <Button
                      size="small"
                      variant="tertiary"
                      aria-expanded={open === o.id}
                      onPress={() => setOpen(open === o.id ? undefined : o.id)}
                    >
                      {open === o.id ? 'Hide steps' : 'Show steps'}
                    </Button>
                    {operate.allowed &&
                      running.has(o.state) &&
                      !o.cancelRequested && (
                        <Button
                          size="small"
                          variant="secondary"
                          onPress={() =>
                            ask({
                              title: `Cancel the ${o.type} operation?`,
                              confirmLabel: 'Cancel operation',
                              destructive: true,
                              description:
                                'The operation stops and the steps it completed are undone, newest first.',
                              run: async () => {
                                const r = await api.cancelOperation(o.id);
                                return `Cancellation of ${o.type} requested (${r.state})`;
                              },
                            })
                          }
                        >
                          Cancel operation
                        </Button>
                      )}
                    {operate.allowed && o.state === 'needs-attention' && (
                      <Button
                        size="small"
                        variant="secondary"
                        onPress={() =>
                          ask({
                            title: `Retry the compensation of ${o.type}?`,
                            confirmLabel: 'Retry compensation',
                            description:
                              'The control plane tries again to undo what the operation did.',
                            run: async () => {
                              const r = await api.retryOperation(o.id);
                              return `Retry of ${o.type} accepted (${r.state})`;
                            },
                          })
                        }
                      >
                        Retry compensation
                      </Button>
                    )}
                  </Flex>
                ),
              },
            ]}
            rows={[...ops].sort((a, b) =>
              b.createdAt.localeCompare(a.createdAt),
            )}
            rowKey={o => o.id}
          />
          {open && (
            <OperationDetails
              id={open}
              tick={props.tick}
              onReload={() => {
                setOpen(undefined);
                retry();
              }}
            />
          )}
          {dialog}
        </Flex>
      )}
    </AsyncView>
  );
};
