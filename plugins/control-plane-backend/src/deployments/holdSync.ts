/*
 * A rollout holds the GitOps tool's auto-sync of what it changes: while a deployment runs,
 * the tool must not put back the routing and version the rollout is moving (Argo CD's
 * self-heal would). The hold is the saga's first step, its release the last; a failed or
 * aborted rollout releases it as the first step's compensation.
 */
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { Delivery } from '../orchestration/delivery';
import {
  ClaimedOperation,
  Saga,
  SagaContext,
  SagaStep,
} from '../orchestration/types';

/** `saga` with a hold of auto-sync around its steps; itself without a delivery provider. */
export function withSyncHold(
  saga: Saga | undefined,
  delivery: Delivery,
  op: ClaimedOperation,
): Saga | undefined {
  const deploymentId = (op.params as { deploymentId?: string }).deploymentId;
  if (!saga || !delivery.enabled || !deploymentId) return saga;
  const set = async (ctx: SagaContext, on: boolean) => {
    const item = delivery.deliveredResource(ctx.resource, ctx.desired);
    if (!item) return;
    try {
      await delivery.hold(item, deploymentId, on);
    } catch (error) {
      throw new DriverError(
        `could not ${on ? 'hold' : 'release'} auto-sync for ${
          ctx.resource.ref
        }: ${error}`,
        { retryable: true, cause: error },
      );
    }
  };
  const hold: SagaStep = {
    name: 'hold_auto_sync',
    run: ctx => set(ctx, true),
    compensate: ctx => set(ctx, false),
  };
  const release: SagaStep = {
    name: 'release_auto_sync',
    // The rollout is over by now: a release that fails is reported, not a reason to undo it
    // (the hold stays visible on the tool's side until the next rollout's release).
    run: ctx =>
      set(ctx, false).catch(error =>
        ctx.logger.warn(`${error}`, { resourceRef: ctx.resource.ref }),
      ),
  };
  return { ...saga, steps: [hold, ...saga.steps, release] };
}
