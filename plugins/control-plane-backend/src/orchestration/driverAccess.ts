/**
 * How a saga's steps reach the rest of the control plane: the dependencies they are built
 * with, the resource's effective parameters, and the driver of its placement, with what a
 * driver call carries from the step that makes it.
 */
import {
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
import { QuotaGuard } from '../governance/QuotaGuard';
import type { Delivery } from './delivery';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { SchedulingDecision } from '../scheduling/pipeline';
import { Scheduler } from '../scheduling/Scheduler';
import { SagaContext, SagaStep } from './types';

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
  /**
   * Delivery through a GitOps tool (a module's provider): creates and updates wait until the
   * tool reports the resource's rendered objects applied and healthy, asking every `pollMs`,
   * and fail after `timeoutMs` of waiting. Absent: no such wait, and no such step.
   */
  delivery?: { via: Delivery; pollMs: number; timeoutMs: number };
}

/** Where a resource runs. */
export type Placement = NonNullable<Resource['status']['placement']>;

/** What a schedule step returns: the placement, and the decision that chose it. */
export interface Scheduled {
  placement: Placement;
  decision: SchedulingDecision;
  durationMs: number;
}

/** The resource's parameters with its product's defaults and tier's requirements applied. */
export function effectiveParams(
  desired: DesiredState,
  resource: ResourceRecord,
) {
  // The project's effective definition: its defaults are the resource's.
  const product = desired.product(
    resource.spec.product,
    resource.metadata.namespace,
  );
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

/** What a driver (or a delivery provider) is told of a resource at `generation`. */
export function toDriverResource(
  resource: ResourceRecord,
  params: Record<string, unknown>,
  generation: number,
): DriverResource {
  return {
    ref: resource.ref,
    uid: resource.uid,
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
    product: resource.spec.product,
    tier: resource.spec.tier,
    owner: resource.spec.owner,
    generation,
    params,
    labels: resource.metadata.labels,
  };
}

/**
 * What a driver or a delivery provider is told of a placed resource at `generation`, and
 * where it runs; undefined when it cannot be said (no placement, its cluster gone from the
 * fleet, parameters that no longer resolve).
 */
export function placedDriverView(
  desired: DesiredState,
  resource: ResourceRecord,
  generation: number,
): { resource: DriverResource; target: DriverTarget } | undefined {
  const placement = resource.status.placement;
  const cluster = placement && desired.cluster(placement.cluster);
  if (!placement || !cluster) return undefined;
  let params: Record<string, unknown>;
  try {
    params = effectiveParams(desired, resource);
  } catch {
    return undefined;
  }
  return {
    resource: toDriverResource(resource, params, generation),
    target: { ...placement, region: cluster.region, zones: cluster.zones },
  };
}

export function driverResource(ctx: SagaContext): DriverResource {
  const { resource } = ctx;
  return toDriverResource(
    resource,
    effectiveParams(ctx.desired, resource),
    ctx.operation.targetGeneration ?? resource.status.generation,
  );
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

/**
 * The placement the resource runs on: what this run's schedule step (`placedBy`) chose, or
 * else its status's.
 */
function currentPlacement(
  ctx: SagaContext,
  placedBy?: SagaStep<Scheduled>,
): Placement {
  const scheduled = placedBy && ctx.result(placedBy)?.placement;
  const placement = scheduled ?? ctx.resource.status.placement;
  if (!placement) {
    throw new DriverError(`${ctx.resource.ref} has no placement`, {
      retryable: false,
    });
  }
  return placement;
}

/** Acts through the driver of the resource's placement (see {@link currentPlacement}). */
export function withDriver<T>(
  deps: SagaDependencies,
  ctx: SagaContext,
  fn: (
    driver: ControlPlaneDriver,
    resource: DriverResource,
    target: DriverTarget,
  ) => Promise<T>,
  placedBy?: SagaStep<Scheduled>,
): Promise<T> {
  const placement = currentPlacement(ctx, placedBy);
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
export async function awaitPhase(
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
