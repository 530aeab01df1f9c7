import { QuotaGuard } from '../governance/QuotaGuard';
import {
  OperationType,
  Resource,
  validateResourceParameters,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlaneDriver,
  DriverError,
  DriverResource,
  DriverTarget,
  ObservedPhase,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { SchedulingDecision } from '../scheduling/pipeline';
import { Scheduler } from '../scheduling/Scheduler';
import { Saga, SagaContext, SagaStep } from './types';

/** What the sagas need from the rest of the control plane. */
export interface SagaDependencies {
  db: Knex;
  drivers: DriverRegistry;
  resources: ResourceStore;
  /** How often `wait_ready` asks the driver. */
  readyPollMs: number;
  scheduler: Scheduler;
  /** Admits placements against quotas, race-free (absent: quotas are not enforced at placement). */
  quotas?: QuotaGuard;
  /** Runs a scheduling stage (e.g. in a tracing span). */
  stage?: <T>(name: string, fn: () => T) => T;
  /** Observes each placement decision and how long it took (e.g. for metrics). */
  onDecision?(
    decision: Awaited<ReturnType<Scheduler['decide']>>,
    info: { resource: ResourceRecord; durationMs: number },
  ): void;
  /** Tells the owner a resource is ready (e.g. a Backstage notification). */
  notify?(resource: Resource, message: string): Promise<void>;
}

type Placement = NonNullable<Resource['status']['placement']>;

/** The resource's parameters with its product's defaults and tier's requirements applied. */
export function effectiveParams(
  desired: DesiredState,
  resource: ResourceRecord,
) {
  const product = desired.product(resource.spec.product);
  const tier = desired.tier(resource.spec.tier);
  if (!product || !tier) {
    throw new DriverError(
      `${resource.ref}: ${
        !product
          ? `product ${resource.spec.product}`
          : `tier ${resource.spec.tier}`
      } no longer exists`,
      { retryable: false },
    );
  }
  const checked = validateResourceParameters({
    productId: product.id,
    product: product.spec,
    tierId: resource.spec.tier,
    tier,
    params: resource.spec.params,
  });
  if (!checked.ok) {
    throw new DriverError(
      `${resource.ref}: ${checked.issues
        .map(i => `${i.path}: ${i.message}`)
        .join('; ')}`,
      { retryable: false },
    );
  }
  return checked.params;
}

export function driverResource(ctx: SagaContext): DriverResource {
  const { resource } = ctx;
  return {
    ref: resource.ref,
    uid: resource.uid,
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
    product: resource.spec.product,
    tier: resource.spec.tier,
    owner: resource.spec.owner,
    generation: ctx.operation.targetGeneration ?? resource.status.generation,
    params: effectiveParams(ctx.desired, resource),
    labels: resource.metadata.labels,
  };
}

function targetOf(desired: DesiredState, placement: Placement): DriverTarget {
  const cluster = desired.cluster(placement.cluster);
  if (!cluster) {
    throw new DriverError(
      `cluster ${placement.cluster} is no longer in the fleet`,
      { retryable: false },
    );
  }
  return {
    cell: placement.cell,
    provider: placement.provider,
    cluster: placement.cluster,
    region: cluster.region,
    zones: cluster.zones,
  };
}

function driverFor(
  deps: SagaDependencies,
  desired: DesiredState,
  provider: string,
): ControlPlaneDriver {
  const spec = desired.provider(provider);
  const driver = spec && deps.drivers.get(spec.driver);
  if (!driver) {
    throw new DriverError(
      `no driver ${spec?.driver ?? '?'} is installed for provider ${provider}`,
      { retryable: false },
    );
  }
  return driver;
}

/** What a driver call carries from the step that makes it. */
export function callContext(ctx: SagaContext) {
  return {
    idempotencyToken: ctx.idempotencyToken,
    operationId: ctx.operation.id,
    traceId: ctx.operation.traceId,
    signal: ctx.signal,
    logger: ctx.logger,
  };
}

/** The placement the resource runs on: from this run's schedule step, or its status. */
function currentPlacement(ctx: SagaContext, key = 'schedule'): Placement {
  const scheduled = (ctx.results[key] as { placement?: Placement } | undefined)
    ?.placement;
  const placement = scheduled ?? ctx.resource.status.placement;
  if (!placement) {
    throw new DriverError(`${ctx.resource.ref} has no placement`, {
      retryable: false,
    });
  }
  return placement;
}

/** Acts through the driver of the resource's placement. */
function withDriver<T>(
  deps: SagaDependencies,
  ctx: SagaContext,
  fn: (
    driver: ControlPlaneDriver,
    resource: DriverResource,
    target: DriverTarget,
  ) => Promise<T>,
  placementKey?: string,
): Promise<T> {
  const placement = currentPlacement(ctx, placementKey);
  return fn(
    driverFor(deps, ctx.desired, placement.provider),
    driverResource(ctx),
    targetOf(ctx.desired, placement),
  );
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Waits until the driver observes one of `phases`: through the driver's own wait (a watch)
 * when it has one, else by polling `observe`.
 */
async function awaitPhase(
  deps: SagaDependencies,
  ctx: SagaContext,
  driver: ControlPlaneDriver,
  resource: DriverResource,
  target: DriverTarget,
  phases: ObservedPhase[],
): Promise<ObservedResource> {
  if (driver.awaitPhase) {
    return driver.awaitPhase(resource, target, phases, callContext(ctx));
  }
  for (;;) {
    const observed = await driver.observe(resource, target, callContext(ctx));
    if (phases.includes(observed.phase)) return observed;
    await sleep(deps.readyPollMs, ctx.signal);
  }
}

// ── steps ──────────────────────────────────────────────────────────────────────────────

function validateStep(): SagaStep {
  return {
    name: 'validate',
    async run(ctx) {
      effectiveParams(ctx.desired, ctx.resource);
      return {
        generation:
          ctx.operation.targetGeneration ?? ctx.resource.status.generation,
      };
    },
  };
}

function scheduleStep(deps: SagaDependencies, name = 'schedule'): SagaStep {
  const migrating = name !== 'schedule';
  return {
    name,
    async run(ctx) {
      const { resource, desired } = ctx;
      const target = migrating
        ? (ctx.operation.params as {
            cell?: string;
            provider?: string;
            cluster?: string;
          })
        : undefined;
      const started = performance.now();
      const decision = await deps.scheduler.decide(desired, {
        resource,
        params: effectiveParams(desired, resource),
        cell: target?.cell,
        pinned: target
          ? { provider: target.provider, cluster: target.cluster }
          : undefined,
        exclude:
          migrating && resource.status.placement
            ? [resource.status.placement.cluster]
            : [],
        quotas: await deps.quotas?.placementQuotas(desired, resource),
        stage: deps.stage,
      });
      const durationMs = performance.now() - started;
      deps.onDecision?.(decision, { resource, durationMs });
      if (!decision.selected) {
        // An unschedulable decision is stored too: GET .../placement explains it.
        await deps.scheduler.record(deps.db, {
          resource,
          operationId: ctx.operation.id,
          decision,
          durationMs,
        });
        await deps.quotas?.auditRefusal(resource, decision, ctx.operation);
        throw new DriverError(
          `cannot place ${resource.ref}: ${decision.explanation}`,
          {
            retryable: false,
          },
        );
      }
      const { cell, provider, cluster } = decision.selected;
      return { placement: { cell, provider, cluster }, decision, durationMs };
    },
    async persist(trx, ctx, result) {
      const { placement, decision, durationMs } = result as {
        placement: Placement;
        decision: SchedulingDecision;
        durationMs: number;
      };
      if (!migrating) {
        await deps.quotas?.admit(
          trx,
          ctx.desired,
          ctx.resource,
          placement.provider,
        );
      }
      await deps.scheduler.record(trx, {
        resource: ctx.resource,
        operationId: ctx.operation.id,
        decision,
        durationMs,
      });
      if (!migrating) {
        await deps.resources.updateStatus(trx, ctx.resource.uid, { placement });
      }
    },
    // A resource that never ran forgets the placement it was given; one that runs keeps its own.
    async revert(trx, ctx) {
      if (!migrating && !ctx.resource.status.observedGeneration) {
        await deps.resources.updateStatus(trx, ctx.resource.uid, {
          placement: null,
        });
      }
    },
  };
}

function applyStep(
  deps: SagaDependencies,
  name = 'apply_claim',
  placementKey?: string,
): SagaStep {
  return {
    name,
    run: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) => {
          const observed = await driver.apply(
            resource,
            target,
            callContext(ctx),
          );
          return { phase: observed.phase, version: observed.version ?? null };
        },
        placementKey,
      ),
    // Undoing the claim means it is gone, not only that its deletion started.
    compensate: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) => {
          await driver.delete(resource, target, callContext(ctx));
          await awaitPhase(deps, ctx, driver, resource, target, ['absent']);
        },
        placementKey,
      ),
  };
}

function waitReadyStep(
  deps: SagaDependencies,
  name = 'wait_ready',
  placementKey?: string,
): SagaStep {
  return {
    name,
    run: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) => {
          const observed = await awaitPhase(
            deps,
            ctx,
            driver,
            resource,
            target,
            ['ready', 'failed'],
          );
          if (observed.phase === 'failed') {
            throw new DriverError(
              `${resource.ref} failed on ${target.cluster}: ${
                observed.message ?? 'no reason given'
              }`,
              { retryable: false },
            );
          }
          return {
            version: observed.version ?? null,
            connectionSecretRef: observed.connectionSecretRef ?? null,
          };
        },
        placementKey,
      ),
  };
}

function networkingStep(
  deps: SagaDependencies,
  name = 'configure_networking',
  placementKey?: string,
): SagaStep {
  return {
    name,
    run: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) => ({
          endpoint: await driver.configureNetworking(
            resource,
            target,
            callContext(ctx),
          ),
        }),
        placementKey,
      ),
    compensate: ctx =>
      withDriver(
        deps,
        ctx,
        (driver, resource, target) =>
          driver.removeNetworking(resource, target, callContext(ctx)),
        placementKey,
      ),
  };
}

function dnsStep(
  deps: SagaDependencies,
  name = 'register_dns',
  placementKey?: string,
): SagaStep {
  return {
    name,
    run: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) =>
          driver.registerDns(resource, target, callContext(ctx)),
        placementKey,
      ),
    compensate: ctx =>
      withDriver(
        deps,
        ctx,
        (driver, resource, target) =>
          driver.deregisterDns(resource, target, callContext(ctx)),
        placementKey,
      ),
  };
}

function notifyStep(deps: SagaDependencies): SagaStep {
  return {
    name: 'notify',
    async run(ctx) {
      const version = (
        ctx.results.wait_ready as { version?: string } | undefined
      )?.version;
      const hostname = (
        ctx.results.register_dns as { hostname?: string } | undefined
      )?.hostname;
      const message = `${ctx.resource.ref} is ready${
        hostname ? ` at ${hostname}` : ''
      }`;
      await deps
        .notify?.(ctx.resource, message)
        .catch(error =>
          ctx.logger.warn(`could not notify the owner: ${error}`),
        );
      return {
        message,
        ...(version ? { version } : {}),
        ...(hostname ? { hostname } : {}),
      };
    },
    async persist(trx, ctx, result) {
      const { version } = result as { version?: string };
      const found = {
        ...(version ? { version } : {}),
        ...connectionOf(ctx.results),
      };
      if (Object.keys(found).length) {
        await deps.resources.updateStatus(trx, ctx.resource.uid, found);
      }
    },
  };
}

/**
 * How to reach the resource, from what this run's steps found: the secret its driver wrote
 * the connection details to (the wait for READY), the endpoint (networking) and its DNS
 * name. Only what the run found; what it did not touch stays as it was.
 */
function connectionOf(results: Record<string, unknown>): {
  endpoint?: { host: string; port: number; hostname?: string };
  connectionSecret?: string;
} {
  const pick = <T>(steps: string[]) =>
    steps.map(s => results[s] as T | undefined).find(r => r !== undefined);
  const ready = pick<{ connectionSecretRef?: string | null }>([
    'wait_target_ready',
    'wait_ready',
  ]);
  const networking = pick<{ endpoint?: { host: string; port: number } }>([
    'configure_target_networking',
    'configure_networking',
  ]);
  const dns = pick<{ hostname?: string }>([
    'switch_traffic',
    'repoint_dns',
    'register_dns',
  ]);
  return {
    ...(networking?.endpoint
      ? {
          endpoint: {
            ...networking.endpoint,
            ...(dns?.hostname ? { hostname: dns.hostname } : {}),
          },
        }
      : {}),
    ...(ready?.connectionSecretRef
      ? { connectionSecret: ready.connectionSecretRef }
      : {}),
  };
}

function driverOperationStep(
  deps: SagaDependencies,
  type: OperationType,
  step: string,
): SagaStep {
  return {
    name: step,
    run: ctx =>
      withDriver(deps, ctx, (driver, resource, target) =>
        driver.runOperation(
          { type, step, params: ctx.operation.params },
          resource,
          target,
          callContext(ctx),
        ),
      ),
  };
}

// ── sagas ──────────────────────────────────────────────────────────────────────────────

/** The saga of every operation type. */
export function createSagas(deps: SagaDependencies): Record<string, Saga> {
  const realise = (type: string, extra: SagaStep[] = []): Saga => ({
    type,
    steps: [
      validateStep(),
      ...extra,
      applyStep(deps),
      waitReadyStep(deps),
      notifyStep(deps),
    ],
    transitions: {},
    realisesGeneration: true,
  });
  return {
    create: {
      type: 'create',
      steps: [
        validateStep(),
        scheduleStep(deps),
        applyStep(deps),
        waitReadyStep(deps),
        networkingStep(deps),
        dnsStep(deps),
        notifyStep(deps),
      ],
      transitions: {
        start: { from: ['PENDING', 'FAILED'], to: 'PROVISIONING' },
        success: 'READY',
        failure: 'FAILED',
      },
      realisesGeneration: true,
    },
    update: realise('update'),
    scale: realise('scale'),
    'upgrade-version': {
      ...realise('upgrade-version', [
        driverOperationStep(deps, 'upgrade-version', 'precheck'),
      ]),
    },
    delete: {
      type: 'delete',
      steps: [
        {
          name: 'deregister_dns',
          run: ctx =>
            ctx.resource.status.placement
              ? withDriver(deps, ctx, (d, r, t) =>
                  d.deregisterDns(r, t, callContext(ctx)),
                )
              : Promise.resolve(),
        },
        {
          name: 'remove_networking',
          run: ctx =>
            ctx.resource.status.placement
              ? withDriver(deps, ctx, (d, r, t) =>
                  d.removeNetworking(r, t, callContext(ctx)),
                )
              : Promise.resolve(),
        },
        {
          name: 'delete_claim',
          run: ctx =>
            ctx.resource.status.placement
              ? withDriver(deps, ctx, (d, r, t) =>
                  d.delete(r, t, callContext(ctx)),
                )
              : Promise.resolve(),
        },
        {
          name: 'wait_absent',
          run: ctx =>
            ctx.resource.status.placement
              ? withDriver(deps, ctx, async (driver, resource, target) => {
                  await awaitPhase(deps, ctx, driver, resource, target, [
                    'absent',
                  ]);
                })
              : Promise.resolve(),
        },
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
    },
    failover: {
      type: 'failover',
      steps: [
        driverOperationStep(deps, 'failover', 'promote_replica'),
        dnsStep(deps, 'repoint_dns'),
        waitReadyStep(deps),
        notifyStep(deps),
      ],
      transitions: { success: 'READY' },
      realisesGeneration: false,
    },
    backup: {
      type: 'backup',
      steps: [
        driverOperationStep(deps, 'backup', 'snapshot'),
        driverOperationStep(deps, 'backup', 'verify_backup'),
      ],
      transitions: {},
      realisesGeneration: false,
    },
    restore: {
      type: 'restore',
      steps: [
        driverOperationStep(deps, 'restore', 'validate_backup'),
        driverOperationStep(deps, 'restore', 'restore_data'),
        waitReadyStep(deps),
        notifyStep(deps),
      ],
      transitions: {},
      realisesGeneration: false,
    },
    'rotate-credentials': {
      type: 'rotate-credentials',
      steps: [
        driverOperationStep(deps, 'rotate-credentials', 'rotate'),
        driverOperationStep(deps, 'rotate-credentials', 'restart_consumers'),
      ],
      transitions: {},
      realisesGeneration: false,
    },
    migrate: {
      type: 'migrate',
      steps: [
        validateStep(),
        scheduleStep(deps, 'schedule_target'),
        applyStep(deps, 'provision_target', 'schedule_target'),
        waitReadyStep(deps, 'wait_target_ready', 'schedule_target'),
        networkingStep(deps, 'configure_target_networking', 'schedule_target'),
        {
          name: 'sync_data',
          run: ctx =>
            withDriver(
              deps,
              ctx,
              (driver, resource, target) =>
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
                  target,
                  callContext(ctx),
                ),
              'schedule_target',
            ),
        },
        {
          // Points the name at the target; undoing it points it back at the source.
          ...dnsStep(deps, 'switch_traffic', 'schedule_target'),
          compensate: ctx =>
            withDriver(deps, ctx, (driver, resource, target) =>
              driver
                .registerDns(resource, target, callContext(ctx))
                .then(() => undefined),
            ),
        },
        {
          // Only now, with the target READY and serving, does the source go: its endpoint,
          // then the resource itself, waited for until it is gone.
          name: 'decommission_source',
          run: ctx =>
            withDriver(deps, ctx, async (driver, resource, target) => {
              await driver.removeNetworking(resource, target, callContext(ctx));
              await driver.delete(resource, target, callContext(ctx));
              await awaitPhase(deps, ctx, driver, resource, target, ['absent']);
              return { source: target.cluster };
            }),
          async persist(trx, ctx) {
            const target = (
              ctx.results.schedule_target as { placement: Placement }
            ).placement;
            await deps.resources.updateStatus(trx, ctx.resource.uid, {
              placement: target,
              ...connectionOf(ctx.results),
            });
          },
        },
      ],
      transitions: {},
      realisesGeneration: true,
    },
  };
}
