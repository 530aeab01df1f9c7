/**
 * What a saga does to its resource (and the audit log) as it starts, succeeds, or ends
 * failed: writes of other stores, made in the commit of the saga's own record (see
 * SagaStore's `also`).
 */
import {
  canTransition,
  Condition,
  ResourceState,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { AuditLog } from '../audit/AuditLog';
import { now } from '../database/time';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { AlsoWrite, StepStart } from '../operations/SagaStore';
import { ClaimedOperation, Saga } from './types';

/** The stores a saga's effects write to. */
export interface EffectStores {
  resources: ResourceStore;
  audit: AuditLog;
}

function upsertCondition(
  conditions: Condition[],
  condition: Omit<Condition, 'lastTransitionTime'>,
): Condition[] {
  const previous = conditions.find(c => c.type === condition.type);
  const changed = !previous || previous.status !== condition.status;
  return [
    ...conditions.filter(c => c.type !== condition.type),
    {
      ...condition,
      lastTransitionTime: changed ? now() : previous!.lastTransitionTime,
    },
  ];
}

/** Moves the operation's resource to `to`, when it is not there and may go there. */
async function moveResource(
  stores: Pick<EffectStores, 'resources'>,
  op: ClaimedOperation,
  trx: Knex.Transaction,
  to: ResourceState,
  reason: string,
  /** The resource as read in `trx` already, if it was. */
  read?: ResourceRecord,
) {
  const current =
    read ?? (await stores.resources.getByUid(op.resourceUid, trx));
  if (
    !current ||
    current.status.state === to ||
    !canTransition(current.status.state, to)
  ) {
    return;
  }
  await stores.resources.transition(
    op.resourceUid,
    current.status.state,
    to,
    { actor: op.actor, reason, operationId: op.id },
    trx,
  );
}

/** The transition a saga starts with, when the resource stands where it starts from. */
function startTransition(saga: Saga, state: ResourceState) {
  const start = saga.transitions.start;
  return start?.from.includes(state) ? start : undefined;
}

/**
 * The start of a saga's first step, with the resource's transition the saga starts with
 * when the resource stands where it starts from. `resource`: the resource as this run read
 * it (a transition is written only when it applies); without it (the claim's start), the
 * resource is read in the start's transaction, and a resource that is gone refuses it.
 */
export function firstStart(
  stores: Pick<EffectStores, 'resources'>,
  saga: Saga,
  op: ClaimedOperation,
  resource?: ResourceRecord,
): StepStart {
  const first = { position: 0, name: saga.steps[0].name, attempt: 1 };
  const reason = `${op.type} started`;
  if (resource) {
    const start = startTransition(saga, resource.status.state);
    return start
      ? {
          ...first,
          also: trx => moveResource(stores, op, trx, start.to, reason),
        }
      : first;
  }
  return {
    ...first,
    also: async trx => {
      const read = await stores.resources.getByUid(op.resourceUid, trx);
      if (!read) throw new Error(`resource ${op.resourceRef} is gone`);
      const start = startTransition(saga, read.status.state);
      if (start) await moveResource(stores, op, trx, start.to, reason, read);
    },
  };
}

/**
 * The operation succeeded: the resource takes the saga's success state (and, for a saga
 * that realises a generation, records it as running and Ready); the audit log says so.
 */
export function successEffects(
  stores: EffectStores,
  saga: Saga,
  op: ClaimedOperation,
  resource: ResourceRecord,
): AlsoWrite {
  const generation = op.targetGeneration ?? resource.status.generation;
  const reason = `${op.type} succeeded`;
  return async trx => {
    if (saga.transitions.success) {
      await moveResource(stores, op, trx, saga.transitions.success, reason);
    }
    if (saga.realisesGeneration) {
      const current = await stores.resources.getByUid(op.resourceUid, trx);
      await stores.resources.updateStatus(trx, op.resourceUid, {
        reason,
        observedGeneration: Math.max(
          generation,
          current?.status.observedGeneration ?? 0,
        ),
        failedGeneration: null,
        conditions: upsertCondition(current?.status.conditions ?? [], {
          type: 'Ready',
          status: 'True',
          reason: `${op.type}Succeeded`,
          message: `generation ${generation} is running`,
        }),
      });
    } else {
      // status.reason follows the last operation, also one that moves no state.
      await stores.resources.updateStatus(trx, op.resourceUid, { reason });
    }
    await stores.audit.append(
      {
        actor: op.actor,
        action: `operation.${op.type}`,
        target: op.resourceRef,
        outcome: 'succeeded',
        reason: `operation ${op.id}`,
      },
      trx,
    );
  };
}

/**
 * The operation ended failed (`why`), its completed steps undone: the resource takes the
 * saga's failure state (and, for a saga that realises a generation, records the generation
 * as failed, and whether it is Ready); the audit log says so.
 */
export function failureEffects(
  stores: EffectStores,
  saga: Saga,
  op: ClaimedOperation,
  resource: ResourceRecord,
  why: string,
  cancelled = false,
): AlsoWrite {
  const readyCondition = (
    state: ResourceState | undefined,
  ): Condition['status'] => {
    if (saga.transitions.failure === 'FAILED') return 'False';
    return state === 'READY' ? 'True' : 'Unknown';
  };
  const reason = `${op.type} ${why}`;
  return async trx => {
    if (saga.transitions.failure) {
      await moveResource(stores, op, trx, saga.transitions.failure, reason);
    }
    if (saga.realisesGeneration) {
      const current = await stores.resources.getByUid(op.resourceUid, trx);
      await stores.resources.updateStatus(trx, op.resourceUid, {
        reason,
        failedGeneration: op.targetGeneration ?? resource.status.generation,
        conditions: upsertCondition(current?.status.conditions ?? [], {
          type: 'Ready',
          status: readyCondition(current?.status.state),
          reason: `${op.type}Failed`,
          message: reason,
        }),
      });
    } else {
      await stores.resources.updateStatus(trx, op.resourceUid, { reason });
    }
    await saga.onFailure?.(trx, { cancelled, why });
    await stores.audit.append(
      {
        actor: op.actor,
        action: `operation.${op.type}`,
        target: op.resourceRef,
        outcome: 'failed',
        reason: `operation ${op.id} ${why}`,
      },
      trx,
    );
  };
}
