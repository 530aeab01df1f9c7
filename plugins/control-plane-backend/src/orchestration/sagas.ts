/**
 * The saga of every operation type: its steps in order, each compensation beside its step
 * (see ./steps), and what the operation does to the resource's state.
 */
import {
  awaitPhase,
  callContext,
  SagaDependencies,
  withDriver,
} from './driverAccess';
import {
  applyStep,
  connectionOf,
  deliveredStep,
  dnsStep,
  driverOperationStep,
  networkingStep,
  Named,
  notifyStep,
  scheduleStep,
  validateStep,
  waitReadyStep,
} from './steps';
import { Saga, SagaStep } from './types';

export type { SagaDependencies } from './driverAccess';
export { callContext, effectiveParams } from './driverAccess';

/**
 * Provisions a resource: placed, applied, READY, reachable, delivered by its GitOps tool
 * (with one), its owner told.
 */
function createSaga(deps: SagaDependencies): Saga {
  const schedule = scheduleStep(deps);
  const placed = { placedBy: schedule };
  const ready = waitReadyStep(deps, placed);
  const networking = networkingStep(deps, placed);
  const dns = dnsStep(deps, placed);
  return {
    type: 'create',
    steps: [
      validateStep(),
      schedule,
      applyStep(deps, placed),
      ready,
      networking,
      dns,
      ...(deps.delivery ? [deliveredStep(deps.delivery, placed)] : []),
      notifyStep(deps, { ready, networking, dns }),
    ],
    transitions: {
      start: { from: ['PENDING', 'FAILED'], to: 'PROVISIONING' },
      success: 'READY',
      failure: 'FAILED',
    },
    realisesGeneration: true,
  };
}

/** Brings a running resource to its desired generation, where it runs (`extra` first). */
function realiseSaga(
  deps: SagaDependencies,
  type: string,
  extra: SagaStep[] = [],
): Saga {
  const ready = waitReadyStep(deps);
  return {
    type,
    steps: [
      validateStep(),
      ...extra,
      applyStep(deps),
      ready,
      ...(deps.delivery ? [deliveredStep(deps.delivery)] : []),
      notifyStep(deps, { ready }),
    ],
    transitions: {},
    realisesGeneration: true,
  };
}

/** Removes a resource: its name, its endpoint, its claim (waited for until gone). */
function deleteSaga(deps: SagaDependencies): Saga {
  /** A step acting through the driver, where the resource was placed (if it ever was). */
  const ifPlaced = (name: string, act: SagaStep['run']): SagaStep => ({
    name,
    run: ctx => (ctx.resource.status.placement ? act(ctx) : Promise.resolve()),
  });
  return {
    type: 'delete',
    steps: [
      ifPlaced('deregister_dns', ctx =>
        withDriver(deps, ctx, (d, r, t) =>
          d.deregisterDns(r, t, callContext(ctx)),
        ),
      ),
      ifPlaced('remove_networking', ctx =>
        withDriver(deps, ctx, (d, r, t) =>
          d.removeNetworking(r, t, callContext(ctx)),
        ),
      ),
      ifPlaced('delete_claim', ctx =>
        withDriver(deps, ctx, (d, r, t) => d.delete(r, t, callContext(ctx))),
      ),
      ifPlaced('wait_absent', ctx =>
        withDriver(deps, ctx, async (driver, resource, target) => {
          await awaitPhase(deps, ctx, driver, resource, target, ['absent']);
        }),
      ),
      {
        name: 'release',
        async run() {},
        async persist(trx, ctx) {
          await deps.resources.updateStatus(trx, ctx.resource.uid, {
            placement: null,
          });
        },
      },
    ],
    transitions: { success: 'DELETED', failure: 'FAILED' },
    realisesGeneration: false,
  };
}

/** Promotes the replica, points the name at it, and waits for READY. */
function failoverSaga(deps: SagaDependencies): Saga {
  const ready = waitReadyStep(deps);
  return {
    type: 'failover',
    steps: [
      driverOperationStep(deps, 'failover', 'promote_replica'),
      dnsStep(deps, { name: 'repoint_dns' }),
      ready,
      notifyStep(deps, { ready }),
    ],
    transitions: { success: 'READY' },
    realisesGeneration: false,
  };
}

/** Restores a backup, then waits for READY. */
function restoreSaga(deps: SagaDependencies): Saga {
  const ready = waitReadyStep(deps);
  return {
    type: 'restore',
    steps: [
      driverOperationStep(deps, 'restore', 'validate_backup'),
      driverOperationStep(deps, 'restore', 'restore_data'),
      ready,
      notifyStep(deps, { ready }),
    ],
    transitions: {},
    realisesGeneration: false,
  };
}

/** An operation the driver runs step by step, and that changes nothing else. */
function driverSaga(
  deps: SagaDependencies,
  type: 'backup' | 'rotate-credentials',
  steps: string[],
): Saga {
  return {
    type,
    steps: steps.map(step => driverOperationStep(deps, type, step)),
    transitions: {},
    realisesGeneration: false,
  };
}

/**
 * Moves a resource to another cluster: the target placed, provisioned, READY and reachable,
 * the data synced, the traffic switched, and only then the source decommissioned.
 */
function migrateSaga(deps: SagaDependencies): Saga {
  const target = scheduleStep(deps, 'schedule_target');
  const onTarget = (name: string) => ({ name, placedBy: target });
  const ready = waitReadyStep(deps, onTarget('wait_target_ready'));
  const networking = networkingStep(
    deps,
    onTarget('configure_target_networking'),
  );
  const switchTraffic: SagaStep<Named> = {
    // Points the name at the target; undoing it points it back at the source.
    ...dnsStep(deps, onTarget('switch_traffic')),
    compensate: ctx =>
      withDriver(deps, ctx, (driver, resource, source) =>
        driver
          .registerDns(resource, source, callContext(ctx))
          .then(() => undefined),
      ),
  };
  return {
    type: 'migrate',
    steps: [
      validateStep(),
      target,
      applyStep(deps, onTarget('provision_target')),
      ready,
      networking,
      {
        name: 'sync_data',
        run: ctx =>
          withDriver(
            deps,
            ctx,
            (driver, resource, placement) =>
              driver.runOperation(
                {
                  type: 'migrate',
                  step: 'sync_data',
                  params: {
                    ...ctx.operation.params,
                    source: ctx.resource.status.placement,
                  },
                },
                resource,
                placement,
                callContext(ctx),
              ),
            target,
          ),
      },
      switchTraffic,
      {
        // Only now, with the target READY and serving, does the source go: its endpoint,
        // then the resource itself, waited for until it is gone.
        name: 'decommission_source',
        run: ctx =>
          withDriver(deps, ctx, async (driver, resource, source) => {
            await driver.removeNetworking(resource, source, callContext(ctx));
            await driver.delete(resource, source, callContext(ctx));
            await awaitPhase(deps, ctx, driver, resource, source, ['absent']);
            return { source: source.cluster };
          }),
        async persist(trx, ctx) {
          const placement = ctx.result(target)?.placement;
          if (!placement) {
            throw new Error(`${target.name} has no placement to move to`);
          }
          await deps.resources.updateStatus(trx, ctx.resource.uid, {
            placement,
            ...connectionOf(ctx, { ready, networking, dns: switchTraffic }),
          });
        },
      },
    ],
    transitions: {},
    realisesGeneration: true,
  };
}

/** The saga of every operation type. */
export function createSagas(deps: SagaDependencies): Record<string, Saga> {
  return {
    create: createSaga(deps),
    update: realiseSaga(deps, 'update'),
    scale: realiseSaga(deps, 'scale'),
    'upgrade-version': realiseSaga(deps, 'upgrade-version', [
      driverOperationStep(deps, 'upgrade-version', 'precheck'),
    ]),
    delete: deleteSaga(deps),
    failover: failoverSaga(deps),
    backup: driverSaga(deps, 'backup', ['snapshot', 'verify_backup']),
    restore: restoreSaga(deps),
    'rotate-credentials': driverSaga(deps, 'rotate-credentials', [
      'rotate',
      'restart_consumers',
    ]),
    migrate: migrateSaga(deps),
  };
}
