import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  ClusterCreateRequest,
  ClusterHealth,
  ClusterObserved,
  ClusterOperation,
  ClusterOperationType,
  ClusterPatchRequest,
  ClusterPhase,
  ClusterSpec,
  kubernetesRelease,
  kubernetesReleases,
  MANIFEST_API_VERSION,
  ManifestOf,
  unschedulableClusterPhases,
  upgradeRefusals,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ClusterDriver,
  ClusterDriverCluster,
} from '@idp-multicloud/plugin-control-plane-node';
import { DateTime, IANAZone } from 'luxon';
import { isDeepStrictEqual } from 'node:util';
import { CallContext } from '../context';
import { ChangeService } from '../gitops/ChangeService';
import { DesiredState } from '../gitops/DesiredState';
import { KeyedMutex } from '../gitops/mutex';
import { utilizationOf } from '../scheduling/pipeline';
import { ClusterUsage, noUsage } from '../scheduling/Scheduler';
import { ClusterSagaDependencies, sagaPhases, stepNames } from './clusterSagas';
import { ClaimedClusterOperation, ClusterStore } from './ClusterStore';
import { nextMaintenanceWindow } from './channels';
import { clusterHealth } from './health';

/** Cluster drivers by id. */
export class ClusterDriverRegistry {
  private readonly drivers = new Map<string, ClusterDriver>();
  add(driver: ClusterDriver) {
    if (this.drivers.has(driver.id)) {
      throw new Error(`cluster driver ${driver.id} was added twice`);
    }
    this.drivers.set(driver.id, driver);
  }
  get(id: string): ClusterDriver | undefined {
    return this.drivers.get(id);
  }
}

/** What the scheduler knows of a cluster beyond its spec. */
export interface ClusterStatus {
  phase?: ClusterPhase;
  /** 0–100. */
  health: number;
}

type ClusterManifest = ManifestOf<'Cluster'>;

/** The phase an idle cluster moves to when its driver reports it settled. */
const settledPhases: Partial<Record<string, ClusterPhase>> = {
  ready: 'Ready',
  degraded: 'Degraded',
  failed: 'Degraded',
};

/**
 * The cluster lifecycle as the API sees it: reads with observed state and health, and the
 * requests that change the desired state in Git and start lifecycle operations.
 */
export class ClusterService {
  private snapshot?: { at: number; statuses: Map<string, ClusterStatus> };
  /** Updates of a cluster, one at a time in this replica. */
  private readonly updating = new KeyedMutex();

  constructor(
    private readonly o: {
      store: ClusterStore;
      changes: ChangeService;
      drivers: ClusterDriverRegistry;
      sagaDeps: Pick<ClusterSagaDependencies, 'placedOn' | 'apisInUse'>;
      usage(desired: DesiredState): Promise<Map<string, ClusterUsage>>;
      logger: LoggerService;
      wake(): void;
      /** Called with every score computed (the metric). */
      onHealth?(
        cluster: string,
        spec: ClusterSpec,
        health: ClusterHealth,
      ): void;
    },
  ) {}

  current(): Promise<DesiredState> {
    return this.o.changes.current();
  }

  private async manifest(name: string): Promise<ClusterManifest> {
    const m = (await this.current()).get('Cluster', name);
    if (!m) throw new NotFoundError(`No cluster ${name}`);
    return m;
  }

  driverFor(
    desired: DesiredState,
    provider: string,
  ): ClusterDriver | undefined {
    const spec = desired.provider(provider);
    return spec ? this.o.drivers.get(spec.driver) : undefined;
  }

  /** Every cluster's health and what the list shows of it. */
  async list() {
    const desired = await this.current();
    const [usage, observed, failures, active] = await Promise.all([
      this.o.usage(desired),
      this.o.store.allObserved(),
      this.o.store.failuresSince(
        DateTime.now().minus({ hours: 24 }).toMillis(),
      ),
      this.o.store.activeOperations(),
    ]);
    const now = DateTime.now();
    return desired.ofKind('Cluster').map(m => {
      const name = m.metadata.name;
      const used = usage.get(name) ?? noUsage;
      const utilization = utilizationOf(m.spec.capacity, used);
      const ops = active.filter(a => a.cluster === name);
      const seen = observed.get(name);
      const health = clusterHealth(
        {
          spec: m.spec,
          observed: seen,
          utilization,
          failedOperations24h: failures.get(name) ?? 0,
          operating: ops.length > 0,
        },
        DateTime.now(),
      );
      return {
        id: name,
        ...m.spec,
        labels: m.metadata.labels ?? {},
        usage: {
          ...used,
          utilization: Math.round(utilization * 10000) / 10000,
        },
        ...(seen ? { observed: seen } : {}),
        health,
        ...(m.spec.maintenanceWindow
          ? {
              nextMaintenanceWindow:
                nextMaintenanceWindow(m.spec.maintenanceWindow, now)
                  ?.toUTC()
                  .toISO() ?? undefined,
            }
          : {}),
        operations: ops,
      };
    });
  }

  async get(name: string) {
    const item = (await this.list()).find(c => c.id === name);
    if (!item) throw new NotFoundError(`No cluster ${name}`);
    const [placed, operations] = await Promise.all([
      this.o.sagaDeps.placedOn(name),
      this.o.store.operationsOf(name, { limit: 10 }),
    ]);
    return { ...item, operations, placed: placed.map(p => p.ref) };
  }

  /**
   * Phase and health of each cluster, for the scheduler: read at most once a second, so a
   * placement decision does not score the fleet again.
   */
  async statuses(): Promise<Map<string, ClusterStatus>> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < 1000) {
      return this.snapshot.statuses;
    }
    // Only clusters the lifecycle manages: one it never observed is scored by the scheduler
    // as before (provider health alone).
    const statuses = new Map(
      (await this.list())
        .filter(c => c.observed)
        .map(c => [c.id, { phase: c.observed!.phase, health: c.health.score }]),
    );
    this.snapshot = { at: now, statuses };
    return statuses;
  }

  async healthHistory(name: string, hours = 24) {
    const item = (await this.list()).find(c => c.id === name);
    if (!item) throw new NotFoundError(`No cluster ${name}`);
    return {
      cluster: name,
      health: item.health,
      series: await this.o.store.healthSeries(
        name,
        DateTime.now().minus({ hours }).toMillis(),
      ),
    };
  }

  /**
   * Observes every managed cluster no operation is changing, moves it between Ready and
   * Degraded as its driver reports, and records its health score.
   */
  async refresh(): Promise<void> {
    const desired = await this.current();
    const observed = await this.o.store.allObserved();
    const busy = new Set(
      (await this.o.store.activeOperations()).map(o => o.cluster),
    );
    for (const m of desired.ofKind('Cluster')) {
      const name = m.metadata.name;
      const seen = observed.get(name);
      const driver = this.driverFor(desired, m.spec.provider);
      if (!seen || !driver || busy.has(name)) continue;
      try {
        const o = await driver.observe(this.driverCluster(m), {
          idempotencyToken: `observe:${name}`,
          operationId: 'observe',
          signal: AbortSignal.timeout(30_000),
          logger: this.o.logger,
        });
        await this.o.store.recordObservation(name, o);
        const to = settledPhases[o.phase];
        if (
          to &&
          (seen.phase === 'Ready' || seen.phase === 'Degraded') &&
          to !== seen.phase
        ) {
          await this.o.store
            .transition(name, seen.phase, to)
            .catch(() => undefined);
        }
      } catch (error) {
        this.o.logger.warn(`could not observe cluster ${name}: ${error}`);
      }
    }
    this.snapshot = undefined;
    const listed = await this.list();
    await this.o.store.recordEmptiness(
      new Set(
        listed
          .filter(c => c.observed && c.observed.phase !== 'Deleted')
          .filter(c => c.usage.resources === 0)
          .map(c => c.id),
      ),
    );
    for (const c of listed) {
      if (c.observed) await this.o.store.recordHealth(c.id, c.health);
      this.o.onHealth?.(c.id, c, c.health);
    }
    await this.o.store.pruneHealth(
      DateTime.now().minus({ days: 30 }).toMillis(),
    );
  }

  driverCluster(m: ClusterManifest): ClusterDriverCluster {
    return {
      name: m.metadata.name,
      spec: m.spec,
      labels: m.metadata.labels ?? {},
    };
  }

  /** The driver and desired cluster of an operation (from the snapshot it was created with). */
  async resolve(op: ClaimedClusterOperation) {
    const cluster = op.params.cluster as ClusterDriverCluster;
    const desired = await this.current();
    const driver =
      this.driverFor(desired, cluster.spec.provider) ??
      this.o.drivers.get(op.params.driver as string);
    if (!driver) throw new Error(`no cluster driver for ${cluster.name}`);
    return { driver, cluster };
  }

  private async commit(
    ctx: CallContext,
    action: string,
    name: string,
    message: string,
    compute: (s: DesiredState) => ClusterManifest,
  ): Promise<string | null> {
    const result = await this.o.changes.apply({
      actor: ctx.actor,
      action,
      target: `cluster:${name}`,
      message,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      source: ctx.source,
      compute: s => ({ put: [compute(s)], remove: [] }),
    });
    return result.commit ?? null;
  }

  /**
   * Creates the operation, moving the cluster (adopted when never observed) to its start
   * phase; a deferred one (waiting for its window until `runAfter`) moves when it starts.
   */
  private async startOperation(
    m: ClusterManifest,
    type: ClusterOperationType,
    params: Record<string, unknown>,
    ctx: CallContext,
    driverId: string,
    runAfter?: number,
  ): Promise<ClusterOperation> {
    const name = m.metadata.name;
    const phases = sagaPhases[type];
    const deferred = runAfter !== undefined && runAfter > Date.now();
    const op = await this.o.store.createOperation(
      {
        cluster: name,
        type,
        params: {
          ...params,
          cluster: this.driverCluster(m),
          driver: driverId,
          ...(deferred ? { deferred: true } : {}),
        },
        actor: ctx.actor,
        steps: stepNames(type, params),
        ...(deferred ? { runAfter } : {}),
      },
      async trx => {
        if (type === 'create') {
          // A cluster of this name decommissioned before: it starts anew.
          await trx('clusters').where({ name, phase: 'Deleted' }).delete();
          await this.o.store.insert(name, 'Provisioning', undefined, trx);
          const row = await trx('clusters').where({ name }).first();
          if (row.phase !== 'Provisioning') {
            throw new ConflictError(
              `cannot create ${name} while it is ${row.phase}`,
            );
          }
          return;
        }
        // A cluster of Git never managed before is adopted as Ready.
        await this.o.store.insert(name, 'Ready', undefined, trx);
        const row = await trx('clusters').where({ name }).first();
        if (!phases.from.includes(row.phase)) {
          throw new ConflictError(
            `cannot ${type} ${name} while it is ${row.phase}`,
          );
        }
        if (deferred) return;
        await this.o.store.transition(name, row.phase, phases.start, trx);
      },
    );
    this.snapshot = undefined;
    this.o.wake();
    return op;
  }

  private async assertIdle(name: string, observed?: ClusterObserved) {
    const active = await this.o.store.operationsOf(name, { active: true });
    if (active.length) {
      throw new ConflictError(
        `cluster ${name} has an operation in flight: ${active[0].type} ${active[0].id}`,
      );
    }
    if (observed && ['Decommissioning', 'Deleted'].includes(observed.phase)) {
      throw new ConflictError(`cluster ${name} is ${observed.phase}`);
    }
  }

  async create(body: ClusterCreateRequest, ctx: CallContext) {
    const desired = await this.current();
    if (desired.get('Cluster', body.name)) {
      throw new ConflictError(`cluster ${body.name} exists`);
    }
    // A cluster decommissioned under this name (Deleted) may be created again; one still
    // managed (its manifest removed by hand) may not: its create could never start.
    const observed = await this.o.store.observed(body.name);
    if (observed && observed.phase !== 'Deleted') {
      throw new ConflictError(
        `cluster ${body.name} is still ${observed.phase}: decommission it first`,
      );
    }
    const cell = desired.cell(body.cell);
    if (!cell) throw new InputError(`cell: no cell ${body.cell}`);
    if (!desired.provider(body.provider)) {
      throw new InputError(`provider: no provider ${body.provider}`);
    }
    if (!cell.providers.includes(body.provider)) {
      throw new InputError(
        `provider: ${body.provider} has no clusters in ${
          body.cell
        } (its providers: ${cell.providers.join(', ')})`,
      );
    }
    const driver = this.driverFor(desired, body.provider);
    if (!driver) {
      throw new InputError(
        `provider: no cluster driver for ${body.provider} (driver ${
          desired.provider(body.provider)!.driver
        })`,
      );
    }
    checkVersion(body.version);
    checkUnique(body.zones, i => `zones[${i}]`);
    checkUnique(
      body.nodePools.map(p => p.name),
      i => `nodePools[${i}].name`,
    );
    body.nodePools.forEach((p, i) => {
      checkPoolBounds(p, `nodePools[${i}]`);
      (p.zones ?? []).forEach((z, j) => {
        if (!body.zones.includes(z)) {
          throw new InputError(
            `nodePools[${i}].zones[${j}]: ${z} is not a zone of the cluster (${body.zones.join(
              ', ',
            )})`,
          );
        }
      });
    });
    checkTimeZone(body.maintenanceWindow);
    const nodes = body.nodePools.reduce((n, p) => n + p.count, 0);
    const manifest: ClusterManifest = {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Cluster',
      metadata: { name: body.name, labels: body.labels ?? {} },
      spec: {
        cell: body.cell,
        provider: body.provider,
        region: body.region,
        zones: body.zones,
        version: body.version,
        lifecycle: 'active',
        nodePools: body.nodePools,
        ...(body.channel ? { channel: body.channel } : {}),
        ...(body.maintenanceWindow
          ? { maintenanceWindow: body.maintenanceWindow }
          : {}),
        capacity: body.capacity ?? {
          cpu: Math.max(1, nodes * 8),
          memoryGi: Math.max(1, nodes * 32),
          storageGi: nodes * 512,
          maxResources: Math.max(1, nodes * 5),
        },
      },
    };
    const commit = await this.commit(
      ctx,
      'cluster.create',
      body.name,
      `create cluster ${body.name}`,
      s => {
        if (s.get('Cluster', body.name))
          throw new ConflictError(`cluster ${body.name} exists`);
        return manifest;
      },
    );
    const operation = await this.startOperation(
      manifest,
      'create',
      {},
      ctx,
      driver.id,
    );
    return { cluster: body.name, commit, operation };
  }

  /**
   * Changes a cluster's desired spec; a new version starts an upgrade, new pool sizes a
   * scale. `extra` is recorded with the upgrade (e.g. the channel rollout that asked for it).
   */
  async update(
    name: string,
    body: ClusterPatchRequest,
    ctx: CallContext,
    extra: Record<string, unknown> = {},
  ) {
    // One change of a cluster at a time in this replica: a second scale checked while the
    // first one's commit is landing, before its operation exists, would commit its size and
    // then be refused. Across replicas, the check in the commit refuses it.
    return this.updating.run(name, () =>
      this.applyUpdate(name, body, ctx, extra),
    );
  }

  private async applyUpdate(
    name: string,
    body: ClusterPatchRequest,
    ctx: CallContext,
    extra: Record<string, unknown>,
  ) {
    const m = await this.manifest(name);
    const desired = await this.current();
    const driver = this.driverFor(desired, m.spec.provider);
    const observed = await this.o.store.observed(name);
    if (body.version && body.nodePools) {
      throw new InputError(
        'version: upgrade and scale are separate operations; change version or nodePools, not both',
      );
    }
    checkTimeZone(body.maintenanceWindow ?? undefined);
    const upgrading =
      body.version !== undefined && body.version !== m.spec.version;
    // An upgrade in the window starts when the window (as this request leaves it) next opens.
    let runAfter: number | undefined;
    if (body.when === 'window') {
      if (!upgrading) {
        throw new InputError(
          'when: only an upgrade (a new version) waits for the maintenance window',
        );
      }
      const window =
        body.maintenanceWindow === undefined
          ? m.spec.maintenanceWindow
          : body.maintenanceWindow ?? undefined;
      if (!window) {
        throw new InputError(
          `when: cluster ${name} has no maintenance window to wait for`,
        );
      }
      const opens = nextMaintenanceWindow(window, DateTime.now());
      if (!opens) {
        throw new InputError(
          `when: the maintenance window of ${name} never opens`,
        );
      }
      runAfter = opens.toMillis();
    }
    let poolChanges: { name: string; count: number; from: number }[] = [];
    if (body.nodePools) {
      checkUnique(
        body.nodePools.map(p => p.name),
        i => `nodePools[${i}].name`,
      );
      body.nodePools.forEach((p, i) => {
        const pool = m.spec.nodePools.find(x => x.name === p.name);
        if (!pool) {
          throw new InputError(
            `nodePools[${i}].name: no pool ${p.name} on ${name}`,
          );
        }
        checkPoolBounds({ ...pool, ...p }, `nodePools[${i}]`);
      });
      poolChanges = body.nodePools
        .map(p => ({
          name: p.name,
          count: p.count,
          from:
            observed?.pools.find(x => x.name === p.name)?.nodes ??
            m.spec.nodePools.find(x => x.name === p.name)!.count,
        }))
        .filter(
          p => p.count !== m.spec.nodePools.find(x => x.name === p.name)!.count,
        );
    }
    const operating = upgrading || poolChanges.length > 0;
    if (operating) {
      if (!driver) {
        throw new ConflictError(
          `no cluster driver manages ${name} (provider ${m.spec.provider})`,
        );
      }
      await this.assertIdle(name, observed);
      // Refused before anything is committed: the operation could not start from this phase.
      const type = upgrading ? 'upgrade' : 'scale';
      if (observed && !sagaPhases[type].from.includes(observed.phase)) {
        throw new ConflictError(
          `cannot ${type} ${name} while it is ${observed.phase}`,
        );
      }
    }
    let from = observed?.controlPlaneVersion ?? m.spec.version;
    if (upgrading) {
      const refusals = upgradeRefusals(
        {
          controlPlane: from,
          pools: m.spec.nodePools.map(p => ({
            name: p.name,
            version:
              observed?.pools.find(x => x.name === p.name)?.version ?? from,
          })),
          apisInUse: await this.o.sagaDeps.apisInUse(name),
        },
        body.version!,
      );
      if (refusals.length) {
        throw new InputError(`version: ${refusals.join('; ')}`);
      }
      checkVersion(body.version!);
      from = m.spec.version;
    }
    const commit = await this.commit(
      ctx,
      'cluster.update',
      name,
      `update cluster ${name}`,
      s => {
        const now = s.get('Cluster', name);
        if (!now) throw new NotFoundError(`No cluster ${name}`);
        // The operation was checked against the version and pools read above: changed since
        // (a concurrent scale or upgrade), what is committed would not be what it does.
        if (
          operating &&
          (now.spec.version !== m.spec.version ||
            !isDeepStrictEqual(now.spec.nodePools, m.spec.nodePools))
        ) {
          throw new ConflictError(
            `cluster ${name} changed while this request was checked; try again`,
          );
        }
        const spec: ClusterSpec = { ...now.spec };
        if (body.version) spec.version = body.version;
        if (body.nodePools) {
          spec.nodePools = now.spec.nodePools.map(p => {
            const change = body.nodePools!.find(x => x.name === p.name);
            return change ? { ...p, ...change } : p;
          });
        }
        if (body.channel !== undefined) {
          if (body.channel === null) delete spec.channel;
          else spec.channel = body.channel;
        }
        if (body.maintenanceWindow !== undefined) {
          if (body.maintenanceWindow === null) delete spec.maintenanceWindow;
          else spec.maintenanceWindow = body.maintenanceWindow;
        }
        return {
          ...now,
          metadata: body.labels
            ? { ...now.metadata, labels: body.labels }
            : now.metadata,
          spec,
        };
      },
    );
    let operation: ClusterOperation | undefined;
    if (body.maintenanceWindow !== undefined && !operating) {
      // An upgrade waiting for the window follows it (no window any more: it starts now).
      const opens = body.maintenanceWindow
        ? nextMaintenanceWindow(body.maintenanceWindow, DateTime.now())
        : DateTime.now();
      const moved = await this.o.store.rescheduleDeferred(
        name,
        opens?.toMillis() ?? Date.now(),
      );
      if (moved) {
        this.o.wake();
        operation = await this.o.store.operation(moved);
      }
    }
    if (operating) {
      const updated = await this.manifest(name);
      operation = upgrading
        ? await this.startOperation(
            updated,
            'upgrade',
            {
              ...extra,
              from,
              to: body.version,
              pools: updated.spec.nodePools.map(p => p.name),
              ...(runAfter !== undefined
                ? { notBefore: DateTime.fromMillis(runAfter).toUTC().toISO() }
                : {}),
            },
            ctx,
            driver!.id,
            runAfter,
          )
        : await this.startOperation(
            updated,
            'scale',
            { pools: poolChanges },
            ctx,
            driver!.id,
          );
    }
    return { cluster: name, commit, ...(operation ? { operation } : {}) };
  }

  async drain(name: string, ctx: CallContext) {
    const m = await this.manifest(name);
    const driver = this.driverFor(await this.current(), m.spec.provider);
    if (!driver) {
      throw new ConflictError(
        `no cluster driver manages ${name} (provider ${m.spec.provider})`,
      );
    }
    await this.assertIdle(name, await this.o.store.observed(name));
    const operation = await this.startOperation(m, 'drain', {}, ctx, driver.id);
    return { cluster: name, commit: null, operation };
  }

  /**
   * Returns a drained cluster to service (un-cordons it): Draining → Ready, and the scheduler
   * places on it again. Nothing moves back by itself.
   */
  async uncordon(name: string, ctx: CallContext) {
    await this.manifest(name);
    await this.o.store.uncordon(name, `returned to service by ${ctx.actor}`);
    this.snapshot = undefined;
    return { cluster: name, commit: null };
  }

  async decommission(name: string, ctx: CallContext) {
    const m = await this.manifest(name);
    const driver = this.driverFor(await this.current(), m.spec.provider);
    if (!driver) {
      throw new ConflictError(
        `no cluster driver manages ${name} (provider ${m.spec.provider})`,
      );
    }
    await this.assertIdle(name, await this.o.store.observed(name));
    const placed = await this.o.sagaDeps.placedOn(name);
    if (placed.length) {
      throw new ConflictError(
        `cluster ${name} still runs ${placed.length} resource(s) (${placed
          .slice(0, 5)
          .map(p => p.ref)
          .join(', ')}${placed.length > 5 ? ', …' : ''}): drain it first`,
      );
    }
    const operation = await this.startOperation(
      m,
      'decommission',
      {},
      ctx,
      driver.id,
    );
    return { cluster: name, commit: null, operation };
  }

  /** Removes the manifest of a decommissioned cluster (the last step of its saga). */
  async removeManifest(name: string, actor: string): Promise<void> {
    await this.o.changes.apply({
      actor,
      action: 'cluster.decommission',
      target: `cluster:${name}`,
      message: `decommission cluster ${name}`,
      requestId: `decommission-${name}`,
      compute: s => ({
        put: [],
        remove: s.get('Cluster', name)
          ? [{ kind: 'Cluster', namespace: 'default', name }]
          : [],
      }),
    });
  }

  /** Whether the scheduler may place on the cluster, and why not. */
  static unschedulable(
    status: ClusterStatus | undefined,
    minHealth: number,
  ): string | undefined {
    if (!status) return undefined;
    if (status.phase && unschedulableClusterPhases.includes(status.phase)) {
      return `cluster is ${status.phase}`;
    }
    if (status.health < minHealth) {
      return `cluster health ${status.health} is below ${minHealth}`;
    }
    return undefined;
  }
}

/** A version must be of a release the control plane knows, and a patch that release has. */
function checkVersion(version: string) {
  const release = kubernetesRelease(version);
  if (!release) {
    throw new InputError(
      `version: ${version} is not a supported release (supported: ${kubernetesReleases
        .map(r => r.minor)
        .join(', ')})`,
    );
  }
  const patch = Number(version.split('.')[2] ?? 0);
  const latest = Number(release.latestPatch.split('.')[2] ?? 0);
  if (patch > latest) {
    throw new InputError(
      `version: ${version} does not exist (the latest patch of ${release.minor} is ${release.latestPatch})`,
    );
  }
}

/** A window's time zone must be one luxon knows (an IANA zone): else no window ever opens. */
function checkTimeZone(window: { timeZone: string } | undefined) {
  if (window && !IANAZone.isValidZone(window.timeZone)) {
    throw new InputError(
      `maintenanceWindow.timeZone: ${window.timeZone} is not an IANA time zone (e.g. Europe/Paris)`,
    );
  }
}

/** Refuses a value that repeats an earlier one, naming where it is. */
function checkUnique(values: string[], field: (index: number) => string) {
  values.forEach((value, i) => {
    if (values.indexOf(value) !== i) {
      throw new InputError(`${field(i)}: ${value} is repeated`);
    }
  });
}

function checkPoolBounds(
  p: { count: number; min?: number; max?: number },
  field: string,
) {
  if (p.min !== undefined && p.count < p.min) {
    throw new InputError(
      `${field}.count: ${p.count} is below the pool's min ${p.min}`,
    );
  }
  if (p.max !== undefined && p.count > p.max) {
    throw new InputError(
      `${field}.count: ${p.count} is above the pool's max ${p.max}`,
    );
  }
}
