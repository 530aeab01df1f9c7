import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  resourceDeletePermission,
  resourceOperatePermission,
} from '@idp-multicloud/plugin-control-plane-common';
import { Resource, Schemas } from '@idp-multicloud/sdk';
import { Alert, Button, Flex, Text } from '@backstage/ui';
import { useState } from 'react';
import { controlPlaneApiRef } from '../../api';
import { OperationType } from '../../types';
import { ConfirmDialog } from '../common';

const allOperationTypes: OperationType[] = [
  'failover',
  'migrate',
  'backup',
  'restore',
  'scale',
  'rotate-credentials',
  'upgrade-version',
];

/** An action waiting for confirmation, and what it does. */
export interface PendingAction {
  title: string;
  confirmLabel: string;
  destructive?: boolean;
  description: string;
  run: () => Promise<string>;
}

export interface Outcome {
  ok: boolean;
  message: string;
}

/** Confirms then runs one action at a time and reports its outcome. */
export function useConfirmedAction(onDone: () => void) {
  const [pending, setPending] = useState<PendingAction>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      const message = await pending.run();
      setOutcome({ ok: true, message });
    } catch (error) {
      setOutcome({
        ok: false,
        message: `${pending.title} failed: ${(error as Error).message}`,
      });
    } finally {
      setBusy(false);
      setPending(undefined);
      onDone();
    }
  };
  const dialog = (
    <ConfirmDialog
      open={!!pending}
      title={pending?.title ?? ''}
      confirmLabel={pending?.confirmLabel ?? ''}
      destructive={pending?.destructive}
      busy={busy}
      onConfirm={confirm}
      onClose={() => setPending(undefined)}
    >
      {pending?.description}
    </ConfirmDialog>
  );
  const outcomeAlert = outcome && (
    <div role="status">
      <Alert
        status={outcome.ok ? 'success' : 'danger'}
        icon
        title={outcome.message}
      />
    </div>
  );
  return { ask: setPending, dialog, outcomeAlert };
}

/** What the user may do to a resource: only the actions their permissions allow. */
export const ResourceActions = (props: {
  resource: Resource;
  state: string;
  product?: Schemas['Product'];
  onChanged: () => void;
}) => {
  const { resource, state } = props;
  const api = useApi(controlPlaneApiRef);
  const name = resource.metadata.name;
  const operate = usePermission({
    permission: resourceOperatePermission,
    resourceRef: resource.ref,
  });
  const remove = usePermission({
    permission: resourceDeletePermission,
    resourceRef: resource.ref,
  });
  const types = props.product?.operations ?? allOperationTypes;
  const [type, setType] = useState<OperationType | ''>('');
  const { ask, dialog, outcomeAlert } = useConfirmedAction(props.onChanged);
  const gone = state === 'DELETING' || state === 'DELETED';

  if (operate.loading || remove.loading) {
    return null;
  }
  if (!operate.allowed && !remove.allowed) {
    return (
      <Text as="p" variant="body-small" color="secondary">
        You may look at {name} but not act on it. Its owner can run operations
        or delete it.
      </Text>
    );
  }

  return (
    <Flex direction="column" gap="2">
      <Flex gap="2" align="end" style={{ flexWrap: 'wrap' }}>
        {operate.allowed && !gone && types.length > 0 && (
          <>
            <label>
              <Text variant="body-small">Operation </Text>
              <select
                value={type}
                onChange={e => setType(e.target.value as OperationType)}
              >
                <option value="">Choose…</option>
                {types.map(t => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
            <Button
              variant="secondary"
              size="small"
              isDisabled={!type}
              onPress={() =>
                type &&
                ask({
                  title: `Run ${type} on ${name}?`,
                  confirmLabel: `Run ${type}`,
                  description: `The control plane starts a ${type} operation on ${resource.ref}. You can follow its steps below and cancel it while it runs.`,
                  run: async () => {
                    const op = await api.runOperation(resource.ref, type);
                    return `${type} of ${name} started (operation ${op.id}, ${op.state})`;
                  },
                })
              }
            >
              Run operation
            </Button>
          </>
        )}
        {operate.allowed && state === 'FAILED' && (
          <Button
            variant="secondary"
            size="small"
            onPress={() =>
              ask({
                title: `Retry ${name}?`,
                confirmLabel: 'Retry',
                description: `The control plane tries the failed generation of ${resource.ref} again.`,
                run: async () => {
                  const r = await api.retryResource(resource.ref);
                  return `Retry of ${name} accepted: now ${r.status.state}`;
                },
              })
            }
          >
            Retry
          </Button>
        )}
        {remove.allowed && !gone && (
          <Button
            variant="secondary"
            destructive
            size="small"
            onPress={() =>
              ask({
                title: `Delete ${name}?`,
                confirmLabel: 'Delete',
                destructive: true,
                description: `${resource.ref} and its data will be destroyed. Resources that depend on it block the deletion.`,
                run: async () => {
                  const r = await api.deleteResource(resource.ref);
                  return `Deletion accepted: ${r.deleting
                    .map(d => d.replace(/^resource:/, ''))
                    .join(', ')}`;
                },
              })
            }
          >
            Delete
          </Button>
        )}
      </Flex>
      {outcomeAlert}
      {dialog}
    </Flex>
  );
};
