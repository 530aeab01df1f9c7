/**
 * The steps sagas are made of, each with the type of its result and its compensation beside
 * it. A step that reads another's result is given that step (`ctx.result(step)` is typed by
 * it), so what a saga's steps depend on reads in its step list.
 */
import { OperationType } from '@idp-multicloud/plugin-control-plane-common';
import { DateTime, Duration } from 'luxon';
import {
  DriverError,
  ObservedPhase,
} from '@idp-multicloud/plugin-control-plane-node';
import {
  awaitPhase,
  callContext,
  effectiveParams,
  SagaDependencies,
  Scheduled,
  withDriver,
} from './driverAccess';
import { describeVerdict } from './delivery';
import { SagaContext, SagaStep, StepWait } from './types';

/** What `validate` returns: the generation the operation brings about. */
export interface Validated {
  generation: number;
}

/** What an apply step returns: the phase and version the driver reported. */
export interface Applied {
  phase: ObservedPhase;
  version: string | null;
}

/** What a wait for READY returns. */
export interface Ready {
  version: string | null;
  /** The secret the driver wrote the connection details to. */
  connectionSecretRef: string | null;
}

/** What a networking step returns: the resource's endpoint. */
export interface Networked {
  endpoint: { host: string; port: number };
}

/** What a DNS step returns: the name the resource answers to. */
export interface Named {
  hostname: string;
}

/** What `notify` returns: what it told the owner, and what the run found. */
export interface Notified {
  message: string;
  version?: string;
  hostname?: string;
}

/** What `wait_delivered` returns: the GitOps tool's verdict once it applied the objects. */
export interface Delivered {
  tool?: string;
  application?: string;
  /** The deploy repository revision the tool applied. */
  revision?: string;
  /** Why there was nothing to wait for. */
  skipped?: string;
}

/** A step acting on a placement: its name, and the step that chose the placement, if any. */
interface Placed {
  name?: string;
  /** This saga's schedule step; without it, the step acts where the resource runs. */
  placedBy?: SagaStep<Scheduled>;
}

export function validateStep(): SagaStep<Validated> {
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

/**
 * Chooses a placement (`schedule`), or (named otherwise: `schedule_target`) a migration's
 * target: in the cell, provider or cluster the operation asks for, elsewhere than where the
 * resource runs.
 */
export function scheduleStep(
  deps: SagaDependencies,
  name = 'schedule',
): SagaStep<Scheduled> {
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
    async persist(trx, ctx, { placement, decision, durationMs }) {
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

export function applyStep(
  deps: SagaDependencies,
  { name = 'apply_claim', placedBy }: Placed = {},
): SagaStep<Applied> {
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
        placedBy,
      ),
    // Undoing the claim means it is gone, not only that its deletion started. A claim that
    // ran before this operation, where it runs (an update, a scale), is never deleted: a
    // failed change leaves it at the generation it was applied at, for the next operation to
    // realise, rather than destroy what serves (and, for a database, its data).
    compensate: async ctx => {
      if (!placedBy && ctx.resource.status.observedGeneration) {
        ctx.logger.warn(
          `${ctx.resource.ref} ran before this operation: its claim is kept, not deleted`,
        );
        return;
      }
      await withDriver(
        deps,
        ctx,
        async (driver, resource, target) => {
          await driver.delete(resource, target, callContext(ctx));
          await awaitPhase(deps, ctx, driver, resource, target, ['absent']);
        },
        placedBy,
      );
    },
  };
}

export function waitReadyStep(
  deps: SagaDependencies,
  { name = 'wait_ready', placedBy }: Placed = {},
): SagaStep<Ready> {
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
        placedBy,
      ),
  };
}

export function networkingStep(
  deps: SagaDependencies,
  { name = 'configure_networking', placedBy }: Placed = {},
): SagaStep<Networked> {
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
        placedBy,
      ),
    compensate: ctx =>
      withDriver(
        deps,
        ctx,
        (driver, resource, target) =>
          driver.removeNetworking(resource, target, callContext(ctx)),
        placedBy,
      ),
  };
}

export function dnsStep(
  deps: SagaDependencies,
  { name = 'register_dns', placedBy }: Placed = {},
): SagaStep<Named> {
  return {
    name,
    run: ctx =>
      withDriver(
        deps,
        ctx,
        async (driver, resource, target) =>
          driver.registerDns(resource, target, callContext(ctx)),
        placedBy,
      ),
    compensate: ctx =>
      withDriver(
        deps,
        ctx,
        (driver, resource, target) =>
          driver.deregisterDns(resource, target, callContext(ctx)),
        placedBy,
      ),
  };
}

/**
 * Waits until the GitOps tool delivering the resource's cluster (Argo CD, Flux) reports its
 * rendered objects applied and healthy: the resource is not READY before. The first run
 * renders what runs on each cluster (the reconciler's drift pass renders again later); each
 * later run asks the tool once, and the operation waits between runs without holding a
 * worker. After `timeoutMs` of waiting (counted from the first wait, across restarts) the
 * step fails with the tool's last word, and the saga compensates.
 */
export function deliveredStep(
  delivery: NonNullable<SagaDependencies['delivery']>,
  { name = 'wait_delivered', placedBy }: Placed = {},
): SagaStep<Delivered> {
  return {
    name,
    async run(ctx) {
      const placement =
        (placedBy && ctx.result(placedBy)?.placement) ??
        ctx.resource.status.placement;
      const resource = {
        ...ctx.resource,
        status: {
          ...ctx.resource.status,
          placement,
          generation:
            ctx.operation.targetGeneration ?? ctx.resource.status.generation,
        },
      };
      if (!ctx.waitingSince) {
        // the first run renders, unless nothing is there to render for
        if (!delivery.via.delivers(resource, ctx.desired)) {
          return { skipped: 'no GitOps tool delivers it' };
        }
        await delivery.via.render();
      }
      const verdict = await delivery.via.verdict(resource, ctx.desired);
      if (!verdict) return { skipped: 'no GitOps tool delivers it' };
      const { status } = verdict;
      if (status?.inSync) {
        return {
          tool: status.tool,
          application: status.application,
          ...(status.revision ? { revision: status.revision } : {}),
        };
      }
      const why = describeVerdict(verdict);
      const since = ctx.waitingSince ?? DateTime.utc();
      const left =
        since.plus({ milliseconds: delivery.timeoutMs }).toMillis() -
        Date.now();
      if (left <= 0) {
        throw new DriverError(
          `not delivered within ${Duration.fromMillis(delivery.timeoutMs)
            .rescale()
            .toHuman()}: ${why}`,
          { retryable: false },
        );
      }
      throw new StepWait(
        Math.min(delivery.pollMs, left),
        `waiting for delivery: ${why}`,
      );
    },
  };
}

/** The steps of a saga that find how to reach the resource. */
export interface ConnectionSteps {
  /** The wait for READY: the secret holding the connection details. */
  ready?: SagaStep<Ready>;
  /** Networking: the endpoint. */
  networking?: SagaStep<Networked>;
  /** DNS: the endpoint's name. */
  dns?: SagaStep<Named>;
}

/**
 * How to reach the resource, from what this run's steps found: the secret its driver wrote
 * the connection details to (the wait for READY), the endpoint (networking) and its DNS
 * name. Only what the run found; what it did not touch stays as it was.
 */
export function connectionOf(
  ctx: SagaContext,
  steps: ConnectionSteps,
): {
  endpoint?: { host: string; port: number; hostname?: string };
  connectionSecret?: string;
} {
  const ready = steps.ready && ctx.result(steps.ready);
  const networking = steps.networking && ctx.result(steps.networking);
  const dns = steps.dns && ctx.result(steps.dns);
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

/**
 * Tells the owner the resource is ready (at its DNS name, when `steps.dns` found one), and
 * records the version and how to reach it that the run's steps found.
 */
export function notifyStep(
  deps: SagaDependencies,
  steps: ConnectionSteps,
): SagaStep<Notified> {
  return {
    name: 'notify',
    async run(ctx) {
      const version = steps.ready && ctx.result(steps.ready)?.version;
      const hostname = steps.dns && ctx.result(steps.dns)?.hostname;
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
    async persist(trx, ctx, { version }) {
      const found = {
        ...(version ? { version } : {}),
        ...connectionOf(ctx, steps),
      };
      if (Object.keys(found).length) {
        await deps.resources.updateStatus(trx, ctx.resource.uid, found);
      }
    },
  };
}

/** A step of an operation of the unified contract, run by the driver. */
export function driverOperationStep(
  deps: SagaDependencies,
  type: OperationType,
  step: string,
): SagaStep<Record<string, unknown>> {
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
