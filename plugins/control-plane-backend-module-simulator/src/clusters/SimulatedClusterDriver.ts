import {
  ClusterDriver,
  ClusterDriverCallContext,
  ClusterDriverCluster,
  DriverError,
  ObservedCluster,
} from '@idp-multicloud/plugin-control-plane-node';
import { Config } from '@backstage/config';
import { Knex } from 'knex';
import { DateTime } from 'luxon';

/** A change under way: what it goes to, and since when. */
interface Change<T> {
  from: T;
  to: T;
  startedAt: number;
}

interface SimulatedPool {
  machineType: string;
  version: Change<string>;
  nodes: Change<number>;
  /** Nodes an injected fault took down. */
  failedNodes: number;
}

/** One simulated cluster, as persisted. */
export interface SimulatedCluster {
  name: string;
  createdAt: number;
  deletingAt?: number;
  controlPlane: Change<string>;
  pools: Record<string, SimulatedPool>;
  certificatesExpireAt: number;
  /** Versions whose upgrades fail (injected). */
  failingVersions: string[];
  /** Tokens already applied: a retried call changes nothing. */
  tokens: string[];
}

/**
 * A fault the simulator injects into a cluster.
 * @public
 */
export type SimulatedClusterFault =
  | { kind: 'node-failure'; pool: string; nodes: number }
  | { kind: 'certificate-expiry'; expiresAt: string }
  | { kind: 'upgrade-failure'; version: string }
  | { kind: 'clear' };

/**
 * How long simulated cluster changes take, ms.
 * @public
 */
export interface SimulatedClusterTimings {
  createMs: number;
  upgradeMs: number;
  scaleMs: number;
  deleteMs: number;
}

const defaults: SimulatedClusterTimings = {
  createMs: 3000,
  upgradeMs: 2000,
  scaleMs: 1000,
  deleteMs: 1000,
};

const done = <T>(c: Change<T>, now: number, ms: number) =>
  c.from === c.to || now - c.startedAt >= ms;
const value = <T>(c: Change<T>, now: number, ms: number) =>
  done(c, now, ms) ? c.to : c.from;

const controlPlaneStatus = (failed: boolean, created: boolean) => {
  if (failed) return 'False';
  return created ? 'True' : 'Unknown';
};

/**
 * A SIMULATED cluster driver: clusters that take time to create, upgrade, scale and delete,
 * persisted in the database (a restarted backend finds them as they were), with node
 * failures, certificate expiry and failing upgrades to inject. Nothing exists anywhere real.
 * @public
 */
export class SimulatedClusterDriver implements ClusterDriver {
  readonly id = 'simulated';
  private readonly timings: SimulatedClusterTimings;

  constructor(
    private readonly db: Knex,
    timings: Partial<SimulatedClusterTimings> = {},
    private readonly now: () => number = () => DateTime.now().toMillis(),
  ) {
    this.timings = { ...defaults, ...timings };
  }

  private async load(name: string): Promise<SimulatedCluster | undefined> {
    const row = await this.db('simulator_clusters').where({ name }).first();
    return row ? (JSON.parse(row.state) as SimulatedCluster) : undefined;
  }

  private async save(cluster: SimulatedCluster): Promise<void> {
    cluster.tokens = cluster.tokens.slice(-50);
    await this.db('simulator_clusters')
      .insert({
        name: cluster.name,
        state: JSON.stringify(cluster),
        updated_at: this.now(),
      })
      .onConflict('name')
      .merge();
  }

  /** Loads the cluster, applies `change` unless the token did already, saves it. */
  private async change(
    name: string,
    token: string,
    change: (c: SimulatedCluster, now: number) => void,
  ): Promise<SimulatedCluster> {
    const cluster = await this.load(name);
    if (!cluster || cluster.deletingAt) {
      throw new DriverError(`simulated cluster ${name} does not exist`, {
        retryable: false,
        code: 'NotFound',
      });
    }
    if (!cluster.tokens.includes(token)) {
      change(cluster, this.now());
      cluster.tokens.push(token);
      await this.save(cluster);
    }
    return cluster;
  }

  async apply(
    cluster: ClusterDriverCluster,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    const existing = await this.load(cluster.name);
    const now = this.now();
    if (!existing || existing.deletingAt) {
      const { version } = cluster.spec;
      await this.save({
        name: cluster.name,
        createdAt: now,
        controlPlane: { from: version, to: version, startedAt: now },
        pools: Object.fromEntries(
          cluster.spec.nodePools.map(p => [
            p.name,
            {
              machineType: p.machineType,
              version: { from: version, to: version, startedAt: now },
              nodes: { from: 0, to: p.count, startedAt: now },
              failedNodes: 0,
            },
          ]),
        ),
        certificatesExpireAt: DateTime.fromMillis(now)
          .plus({ days: 365 })
          .toMillis(),
        failingVersions: [],
        tokens: [ctx.idempotencyToken],
      });
      return this.observe(cluster, ctx);
    }
    return this.observe(cluster, ctx);
  }

  async upgradeControlPlane(
    cluster: ClusterDriverCluster,
    version: string,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    await this.change(cluster.name, ctx.idempotencyToken, (c, now) => {
      const current = value(c.controlPlane, now, this.timings.upgradeMs);
      c.controlPlane = { from: current, to: version, startedAt: now };
    });
    return this.observe(cluster, ctx);
  }

  async upgradePool(
    cluster: ClusterDriverCluster,
    pool: string,
    version: string,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    await this.change(cluster.name, ctx.idempotencyToken, (c, now) => {
      const p = Object.hasOwn(c.pools, pool) ? c.pools[pool] : undefined;
      if (!p) {
        throw new DriverError(`no pool ${pool} on ${cluster.name}`, {
          retryable: false,
        });
      }
      const current = value(p.version, now, this.timings.upgradeMs);
      p.version = { from: current, to: version, startedAt: now };
    });
    return this.observe(cluster, ctx);
  }

  async scalePool(
    cluster: ClusterDriverCluster,
    pool: string,
    count: number,
    ctx: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    await this.change(cluster.name, ctx.idempotencyToken, (c, now) => {
      const spec = cluster.spec.nodePools.find(p => p.name === pool);
      const p = Object.hasOwn(c.pools, pool) ? c.pools[pool] : undefined;
      if (!p) {
        c.pools[pool] = {
          machineType: spec?.machineType ?? 'standard-4',
          version: {
            from: c.controlPlane.to,
            to: c.controlPlane.to,
            startedAt: now,
          },
          nodes: { from: 0, to: count, startedAt: now },
          failedNodes: 0,
        };
        return;
      }
      const current = value(p.nodes, now, this.timings.scaleMs);
      p.nodes = { from: current, to: count, startedAt: now };
    });
    return this.observe(cluster, ctx);
  }

  async observe(
    cluster: ClusterDriverCluster,
    _ctx?: ClusterDriverCallContext,
  ): Promise<ObservedCluster> {
    const c = await this.load(cluster.name);
    const now = this.now();
    if (!c || (c.deletingAt && now - c.deletingAt >= this.timings.deleteMs)) {
      return {
        phase: 'absent',
        controlPlaneVersion: null,
        pools: [],
        conditions: [],
      };
    }
    const t = this.timings;
    const created = now - c.createdAt >= t.createMs;
    const failing = (v: Change<string>) =>
      v.from !== v.to &&
      c.failingVersions.includes(v.to) &&
      now - v.startedAt >= t.upgradeMs;
    const pools = Object.entries(c.pools).map(([name, p]) => {
      const nodes = created ? value(p.nodes, now, t.scaleMs) : 0;
      const ready = Math.max(0, nodes - p.failedNodes);
      return {
        name,
        version: failing(p.version)
          ? p.version.from
          : value(p.version, now, t.upgradeMs),
        nodes,
        ready,
        settled:
          created &&
          done(p.nodes, now, t.scaleMs) &&
          (done(p.version, now, t.upgradeMs) || failing(p.version)),
        failed: failing(p.version),
      };
    });
    const cpFailed = failing(c.controlPlane);
    const cpVersion = cpFailed
      ? c.controlPlane.from
      : value(c.controlPlane, now, t.upgradeMs);
    const nodesReady = pools.every(p => p.ready === p.nodes);
    const certOk = c.certificatesExpireAt > now;
    const conditions = [
      {
        type: 'ControlPlaneReady',
        status: controlPlaneStatus(cpFailed, created),
        ...(cpFailed
          ? {
              reason: 'UpgradeFailed',
              message: `upgrade to ${c.controlPlane.to} failed`,
            }
          : {}),
      },
      {
        type: 'NodesReady',
        status: nodesReady ? 'True' : 'False',
        ...(nodesReady
          ? {}
          : {
              reason: 'NodeFailure',
              message: pools
                .filter(p => p.ready < p.nodes)
                .map(p => `${p.name}: ${p.nodes - p.ready} not ready`)
                .join(', '),
            }),
      },
      {
        type: 'CertificatesValid',
        status: certOk ? 'True' : 'False',
        ...(certOk ? {} : { reason: 'Expired' }),
      },
    ] as ObservedCluster['conditions'];
    const anyFailed = cpFailed || pools.some(p => p.failed);
    let phase: ObservedCluster['phase'];
    if (c.deletingAt) phase = 'deleting';
    else if (anyFailed) phase = 'failed';
    else if (
      !created ||
      !done(c.controlPlane, now, t.upgradeMs) ||
      pools.some(p => !p.settled)
    )
      phase = 'provisioning';
    else if (!nodesReady || !certOk) phase = 'degraded';
    else phase = 'ready';
    return {
      phase,
      controlPlaneVersion: cpVersion,
      pools: pools.map(({ name, version, nodes, ready }) => ({
        name,
        version,
        nodes,
        ready,
      })),
      conditions,
      certificatesExpireAt: DateTime.fromMillis(
        c.certificatesExpireAt,
      ).toISO()!,
      kubeconfigSecretRef: `simulator/clusters/${c.name}/kubeconfig`,
      ...(anyFailed ? { message: 'an upgrade failed' } : {}),
    };
  }

  async delete(
    cluster: ClusterDriverCluster,
    _ctx: ClusterDriverCallContext,
  ): Promise<void> {
    const c = await this.load(cluster.name);
    if (!c || c.deletingAt) return;
    c.deletingAt = this.now();
    await this.save(c);
  }

  /** Injects a fault into a simulated cluster (or clears its faults). */
  async injectFault(name: string, fault: SimulatedClusterFault): Promise<void> {
    const c = await this.load(name);
    if (!c) {
      throw new DriverError(`simulated cluster ${name} does not exist`, {
        retryable: false,
        code: 'NotFound',
      });
    }
    switch (fault.kind) {
      case 'node-failure': {
        const p = Object.hasOwn(c.pools, fault.pool)
          ? c.pools[fault.pool]
          : undefined;
        if (!p) throw new Error(`no pool ${fault.pool} on ${name}`);
        p.failedNodes = fault.nodes;
        break;
      }
      case 'certificate-expiry':
        c.certificatesExpireAt = DateTime.fromISO(fault.expiresAt).toMillis();
        break;
      case 'upgrade-failure':
        c.failingVersions.push(fault.version);
        break;
      case 'clear':
        c.failingVersions = [];
        for (const p of Object.values(c.pools)) p.failedNodes = 0;
        c.certificatesExpireAt = DateTime.fromMillis(this.now())
          .plus({ days: 365 })
          .toMillis();
        break;
      default:
        throw new Error(`unknown fault ${JSON.stringify(fault)}`);
    }
    await this.save(c);
  }
}

/**
 * The simulated cluster driver on `db`, timed by `controlPlane.simulator.clusters`
 * (`createMs`, `upgradeMs`, `scaleMs`, `deleteMs`).
 */
export function simulatedClusterDriverFromConfig(
  config: Config,
  db: Knex,
): SimulatedClusterDriver {
  const c = config.getOptionalConfig('controlPlane.simulator.clusters');
  const timings: Partial<SimulatedClusterTimings> = {};
  for (const key of ['createMs', 'upgradeMs', 'scaleMs', 'deleteMs'] as const) {
    const ms = c?.getOptionalNumber(key);
    if (ms !== undefined) timings[key] = ms;
  }
  return new SimulatedClusterDriver(db, timings);
}
