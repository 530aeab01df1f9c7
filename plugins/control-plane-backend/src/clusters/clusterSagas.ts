/**
 * The lifecycle sagas of clusters as data: for each operation type, the phase it starts in,
 * ends in and falls back to, and its steps (named at creation and stored with the operation,
 * so a resumed run finds the same list: `upgrade_pool:general` is the pool it was on).
 */
import {
  ClusterOperationType,
  ClusterPhase,
  upgradeRefusals,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ClusterDriver,
  ClusterDriverCallContext,
  ClusterDriverCluster,
  DriverError,
  ObservedCluster,
} from '@idp-multicloud/plugin-control-plane-node';
import { setTimeout as delay } from 'node:timers/promises';
import { ClaimedClusterOperation, ClusterStore } from './ClusterStore';
import { orderForDrain } from './drainOrder';

/** What a step of a cluster saga sees. */
export interface ClusterStepContext {
  op: ClaimedClusterOperation;
  cluster: ClusterDriverCluster;
  driver: ClusterDriver;
  call: ClusterDriverCallContext;
  deps: ClusterSagaDependencies;
}

/** One step: its side effect and (where it can be undone) its compensation. */
export interface ClusterStep {
  run(ctx: ClusterStepContext): Promise<unknown>;
  compensate?(ctx: ClusterStepContext, result: unknown): Promise<void>;
}

/** A resource placed on a cluster, as a drain moves it. */
export interface PlacedResource {
  ref: string;
  tier: string;
  cell: string;
  dependsOn: string[];
}

/** What the sagas use of the rest of the control plane. */
export interface ClusterSagaDependencies {
  store: ClusterStore;
  /** The resources placed on the cluster now. */
  placedOn(cluster: string): Promise<PlacedResource[]>;
  /**
   * The resources placed on the cluster and the APIs (`apiVersion/Kind`) each uses, as their
   * drivers report them (a driver that cannot tell reports nothing).
   */
  apisInUse(cluster: string): Promise<{ ref: string; apis: string[] }[]>;
  /**
   * Starts (once per key) a `migrate` of the resource to another cluster of its cell, and
   * resolves when it ended: its final state.
   */
  migrate(
    ref: string,
    cell: string,
    ctx: { actor: string; idempotencyKey: string; signal: AbortSignal },
  ): Promise<string>;
  /** Removes the cluster's manifest from Git. */
  removeManifest(cluster: string, actor: string): Promise<void>;
  pollMs: number;
}

/** Phases of an operation type: where it starts from, where success and failure lead. */
export interface ClusterSagaPhases {
  from: ClusterPhase[];
  start: ClusterPhase;
  success: ClusterPhase;
  failure: ClusterPhase;
}

export const sagaPhases: Record<ClusterOperationType, ClusterSagaPhases> = {
  create: {
    from: ['Provisioning'],
    start: 'Provisioning',
    success: 'Ready',
    failure: 'Degraded',
  },
  upgrade: {
    from: ['Ready', 'Degraded'],
    start: 'Upgrading',
    success: 'Ready',
    failure: 'Degraded',
  },
  scale: {
    from: ['Ready', 'Degraded'],
    start: 'Ready',
    success: 'Ready',
    failure: 'Ready',
  },
  drain: {
    from: ['Ready', 'Degraded'],
    start: 'Draining',
    // Drained, it stays cordoned: nothing is placed on it until it is decommissioned.
    success: 'Draining',
    failure: 'Ready',
  },
  decommission: {
    from: ['Ready', 'Degraded', 'Draining'],
    start: 'Decommissioning',
    success: 'Deleted',
    failure: 'Degraded',
  },
};

/** The step names of an operation, fixed when it is created. */
export function stepNames(
  type: ClusterOperationType,
  params: Record<string, unknown>,
): string[] {
  switch (type) {
    case 'create':
      return ['apply', 'wait_ready'];
    case 'upgrade':
      return [
        'preflight',
        'upgrade_control_plane',
        ...(params.pools as string[]).map(p => `upgrade_pool:${p}`),
        'verify',
      ];
    case 'scale':
      return (params.pools as { name: string }[]).map(
        p => `scale_pool:${p.name}`,
      );
    case 'drain':
      return ['migrate_workloads', 'verify_empty'];
    case 'decommission':
      return [
        'check_empty',
        'delete_cluster',
        'wait_absent',
        'remove_manifest',
      ];
    default:
      throw new Error(`no cluster saga ${type}`);
  }
}

const minorOf = (v: string | null) =>
  v ? /^1\.(\d+)/.exec(v)?.[1] : undefined;
const sameMinor = (a: string | null, b: string) => minorOf(a) === minorOf(b);

/** Polls the driver until `until` holds; a failed cluster fails the step. */
async function awaitCluster(
  ctx: ClusterStepContext,
  until: (o: ObservedCluster) => boolean,
): Promise<ObservedCluster> {
  for (;;) {
    const observed = await ctx.driver.observe(ctx.cluster, ctx.call);
    await ctx.deps.store.recordObservation(ctx.cluster.name, observed);
    if (until(observed)) return observed;
    if (observed.phase === 'failed') {
      throw new DriverError(
        `cluster ${ctx.cluster.name} failed: ${
          observed.message ?? 'no reason given'
        }`,
        { retryable: false, code: 'ClusterFailed' },
      );
    }
    await delay(ctx.deps.pollMs, undefined, { signal: ctx.call.signal });
  }
}

const settled = (o: ObservedCluster) =>
  o.phase === 'ready' || o.phase === 'degraded';

function poolStep(name: string, op: ClaimedClusterOperation): ClusterStep {
  const to = op.params.to as string;
  const from = op.params.from as string;
  return {
    async run(ctx) {
      await ctx.driver.upgradePool(ctx.cluster, name, to, ctx.call);
      const o = await awaitCluster(
        ctx,
        seen =>
          settled(seen) &&
          sameMinor(seen.pools.find(p => p.name === name)?.version ?? null, to),
      );
      return {
        pool: name,
        version: o.pools.find(p => p.name === name)?.version,
      };
    },
    async compensate(ctx) {
      // Back to the version it ran: the control plane stays within the skew policy of it.
      await ctx.driver.upgradePool(ctx.cluster, name, from, ctx.call);
      await awaitCluster(
        ctx,
        seen =>
          settled(seen) &&
          sameMinor(
            seen.pools.find(p => p.name === name)?.version ?? null,
            from,
          ),
      );
    },
  };
}

function scaleStep(name: string, op: ClaimedClusterOperation): ClusterStep {
  const pool = (
    op.params.pools as { name: string; count: number; from: number }[]
  ).find(p => p.name === name)!;
  const to =
    (count: number): ClusterStep['run'] =>
    async ctx => {
      await ctx.driver.scalePool(ctx.cluster, name, count, ctx.call);
      const o = await awaitCluster(
        ctx,
        seen =>
          settled(seen) &&
          seen.pools.find(p => p.name === name)?.nodes === count,
      );
      return { pool: name, nodes: o.pools.find(p => p.name === name)?.nodes };
    };
  return {
    run: to(pool.count),
    async compensate(ctx) {
      await to(pool.from)(ctx);
    },
  };
}

/** The step of an operation by its recorded name. */
export function stepFor(
  name: string,
  op: ClaimedClusterOperation,
): ClusterStep {
  const [kind, arg] = name.split(':');
  switch (kind) {
    case 'apply':
      return {
        run: async ctx => {
          const o = await ctx.driver.apply(ctx.cluster, ctx.call);
          return { phase: o.phase };
        },
        compensate: ctx => ctx.driver.delete(ctx.cluster, ctx.call),
      };
    case 'wait_ready':
      return {
        run: async ctx => {
          const o = await awaitCluster(ctx, settled);
          return { version: o.controlPlaneVersion };
        },
      };
    case 'preflight':
      return {
        run: async ctx => {
          const observed = await ctx.driver.observe(ctx.cluster, ctx.call);
          const refusals = upgradeRefusals(
            {
              controlPlane:
                observed.controlPlaneVersion ?? (op.params.from as string),
              pools: observed.pools.map(p => ({
                name: p.name,
                version: p.version ?? (op.params.from as string),
              })),
              apisInUse: await ctx.deps.apisInUse(ctx.cluster.name),
            },
            op.params.to as string,
          );
          if (refusals.length) {
            throw new DriverError(`pre-flight: ${refusals.join('; ')}`, {
              retryable: false,
              code: 'PreflightFailed',
            });
          }
          return { from: observed.controlPlaneVersion, to: op.params.to };
        },
      };
    case 'upgrade_control_plane':
      return {
        run: async ctx => {
          const to = op.params.to as string;
          await ctx.driver.upgradeControlPlane(ctx.cluster, to, ctx.call);
          const o = await awaitCluster(
            ctx,
            seen => settled(seen) && sameMinor(seen.controlPlaneVersion, to),
          );
          return { version: o.controlPlaneVersion };
        },
        // A control plane is not downgraded: the pools' compensations keep them within skew.
      };
    case 'upgrade_pool':
      return poolStep(arg, op);
    case 'verify':
      return {
        run: async ctx => {
          const o = await awaitCluster(ctx, settled);
          return {
            phase: o.phase,
            nodesReady: o.pools.reduce((n, p) => n + p.ready, 0),
          };
        },
      };
    case 'scale_pool':
      return scaleStep(arg, op);
    case 'migrate_workloads':
      return {
        run: async ctx => {
          const placed = await ctx.deps.placedOn(ctx.cluster.name);
          const moved: { ref: string; state: string }[] = [];
          for (const r of orderForDrain(placed)) {
            const state = await ctx.deps.migrate(r.ref, r.cell, {
              actor: op.actor,
              idempotencyKey: `${op.id}:${r.ref}`,
              signal: ctx.call.signal,
            });
            if (state !== 'succeeded') {
              throw new DriverError(
                `migrating ${r.ref} off ${ctx.cluster.name} ended ${state}`,
                { retryable: false, code: 'MigrateFailed' },
              );
            }
            moved.push({ ref: r.ref, state });
          }
          return { moved };
        },
      };
    case 'verify_empty':
    case 'check_empty':
      return {
        run: async ctx => {
          const placed = await ctx.deps.placedOn(ctx.cluster.name);
          if (placed.length) {
            throw new DriverError(
              `${placed.length} resource(s) still placed on ${
                ctx.cluster.name
              }: ${placed.map(p => p.ref).join(', ')}`,
              { retryable: false, code: 'NotEmpty' },
            );
          }
          return { empty: true };
        },
      };
    case 'delete_cluster':
      return { run: ctx => ctx.driver.delete(ctx.cluster, ctx.call) };
    case 'wait_absent':
      return {
        run: async ctx => {
          await awaitCluster(ctx, o => o.phase === 'absent');
          return { absent: true };
        },
      };
    case 'remove_manifest':
      return {
        run: async ctx => {
          await ctx.deps.removeManifest(ctx.cluster.name, op.actor);
          return { removed: `clusters/${ctx.cluster.name}.yaml` };
        },
      };
    default:
      throw new Error(`no cluster step ${name}`);
  }
}
