import { LoggerService } from '@backstage/backend-plugin-api';
import {
  Condition,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { AuditLog } from '../audit/AuditLog';
import { now } from '../database/time';
import { isPostgres, isUniqueViolation, readJson } from '../database/util';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { DesiredState } from '../gitops/DesiredState';
import { StateIndexer } from '../gitops/StateIndexer';
import { Mutex } from '../gitops/mutex';
import { effectiveParams } from '../orchestration/sagas';
import { OperationStore } from '../operations/OperationStore';
import {
  ResourceRecord,
  ResourceRow,
  ResourceStore,
  toResource,
} from '../resources/ResourceStore';

/** What to do when a resource drifted: put it back (default) or only report it. */
export type DriftPolicy = 'correct' | 'warn';

export interface ReconcilerOptions {
  db: Knex;
  indexer: StateIndexer;
  resources: ResourceStore;
  operations: OperationStore;
  events: ResourceEventStore;
  audit: AuditLog;
  drivers: DriverRegistry;
  logger: LoggerService;
  /** Starts the engine after operations were created. */
  wake(): void;
  /**
   * The drift policy of a cell (and tier), for its resources that set none (a resource's own
   * policy wins). The control plane reads it from the feature flag `drift.autoCorrect`,
   * then the Cell's `driftPolicy`.
   */
  cellDriftPolicy?(
    cell: string,
    desired: DesiredState,
    tier: string,
  ): DriftPolicy | undefined | Promise<DriftPolicy | undefined>;
  /** Counts drift for metrics. */
  onDrift?(resource: ResourceRecord, fields: string[]): void;
}

export interface PassResult {
  started: { ref: string; type: string; operationId: string }[];
}

export interface DriftResult {
  checked: number;
  drifted: { ref: string; fields: string[]; corrected: boolean }[];
}

/** Commits of operation requests that change the spec they bring about. */
const OPERATION_REQUESTS = [
  'resource.scale',
  'resource.upgrade-version',
  'resource.migrate',
];
const OPERATION_REQUEST_GRACE_MS = 30_000;

const ACTIVE_OPERATION = `exists (select 1 from operations o where o.resource_uid = resources.uid and o.state in ('pending', 'running', 'compensating'))`;

/**
 * Compares desired state with observed state and starts the operations that close the
 * difference. A pass reads only resources whose state or generation says there is work
 * (a converged pass writes nothing): PENDING ones whose dependencies are READY are created,
 * changed ones (generation ahead of what was realised, and not a generation that failed)
 * are updated, DELETING ones that nothing depends on any more are deleted.
 */
export class Reconciler {
  private readonly mutex = new Mutex();
  /** Where the next drift check goes on: drift checks rotate over every resource, by uid. */
  private driftCursor = '';

  constructor(private readonly options: ReconcilerOptions) {}

  pass(): Promise<PassResult> {
    return this.mutex.run(() => this.passLocked());
  }

  private async passLocked(): Promise<PassResult> {
    const { db } = this.options;
    const rows: ResourceRow[] = await db<ResourceRow>('resources')
      .whereNot('state', 'DELETED')
      .andWhere(qb =>
        qb
          .where('state', 'PENDING')
          .orWhere('state', 'DELETING')
          .orWhere(b =>
            b
              .whereIn('state', ['READY', 'DEGRADED', 'FAILED'])
              .andWhereRaw('generation > observed_generation')
              .andWhere(c =>
                c
                  .whereNull('failed_generation')
                  .orWhereRaw('failed_generation < generation'),
              ),
          ),
      )
      .andWhereRaw(`not ${ACTIVE_OPERATION}`);
    const started: PassResult['started'] = [];
    if (rows.length === 0) return { started };

    const candidates = rows.map(toResource);
    const states = await this.liveStates(
      candidates.flatMap(r => r.spec.dependsOn ?? []),
    );
    const dependents = await this.liveDependents(
      candidates.filter(r => r.status.state === 'DELETING'),
    );
    const requested = await this.changedByOperationRequests(rows);

    for (const resource of candidates) {
      const state = resource.status.state;
      let type: 'create' | 'update' | 'delete' | undefined;
      let reason = '';
      if (state === 'DELETING') {
        const waiting = dependents.get(resource.ref) ?? [];
        if (waiting.length === 0) {
          type = 'delete';
          reason = 'removed from the desired state';
        }
      } else if (state === 'PENDING' || state === 'FAILED') {
        const blocked = (resource.spec.dependsOn ?? []).filter(
          dep => states.get(dep) !== 'READY',
        );
        if (blocked.length === 0) {
          type = 'create';
          reason =
            state === 'FAILED'
              ? `generation ${resource.status.generation} asked for`
              : 'requested';
        }
      } else if (!requested.has(resource.uid)) {
        type = 'update';
        reason = `generation ${resource.status.generation} differs from the running ${resource.status.observedGeneration}`;
      }
      if (!type) continue;
      const id = await this.startOperation(resource, type, reason);
      if (id) started.push({ ref: resource.ref, type, operationId: id });
    }
    if (started.length > 0) this.options.wake();
    return { started };
  }

  /**
   * Resources whose new generation was committed moments ago by an operation request (a
   * scale, upgrade-version or migrate commits the spec it brings about, then records its
   * operation): that operation realises the generation, so the pass leaves them alone rather
   * than racing it with an update. One whose operation never came (a crash in between) is
   * updated once the grace period is over.
   */
  private async changedByOperationRequests(
    rows: ResourceRow[],
  ): Promise<Set<string>> {
    const changed = rows.filter(
      r =>
        ['READY', 'DEGRADED', 'FAILED'].includes(r.state) &&
        Number(r.generation) > Number(r.observed_generation) &&
        r.desired_commit,
    );
    if (changed.length === 0) return new Set();
    const commits = await this.options
      .db('audit_events')
      .whereIn(
        'commit_sha',
        changed.map(r => r.desired_commit!),
      )
      .whereIn('action', OPERATION_REQUESTS)
      .select('commit_sha', 'at');
    const since = Date.now() - OPERATION_REQUEST_GRACE_MS;
    const recent = new Set(
      commits.filter(c => Date.parse(c.at) > since).map(c => c.commit_sha),
    );
    return new Set(
      changed.filter(r => recent.has(r.desired_commit!)).map(r => r.uid),
    );
  }

  /**
   * Creates the operation unless one is already active for the resource (any replica), or
   * the resource moved on since this pass read it: the row is locked and compared with what
   * the pass saw, so a slow pass on one replica cannot start a second create for a resource
   * another replica has meanwhile provisioned.
   */
  private async startOperation(
    resource: ResourceRecord,
    type: 'create' | 'update' | 'delete',
    reason: string,
  ): Promise<string | undefined> {
    return this.options.db.transaction(trx =>
      this.createIfUnchanged(trx, resource, type, reason),
    );
  }

  /**
   * {@link startOperation} in the caller's transaction (the operation under a savepoint):
   * its id, or `undefined` when the resource moved on or an operation is already in flight.
   */
  private async createIfUnchanged(
    trx: Knex.Transaction,
    resource: ResourceRecord,
    type: 'create' | 'update' | 'delete',
    reason: string,
  ): Promise<string | undefined> {
    if (!(await this.unchanged(trx, resource))) return undefined;
    try {
      return await trx.transaction(savepoint =>
        this.options.operations.create(
          {
            resourceUid: resource.uid,
            resourceRef: resource.ref,
            type,
            params: {},
            actor: 'control-plane',
            reason,
            targetGeneration: resource.status.generation,
          },
          savepoint,
        ),
      );
    } catch (error) {
      // another replica (or an API call) started one first
      if (error instanceof ConflictError || isUniqueViolation(error))
        return undefined;
      throw error;
    }
  }

  /** Whether the resource row is still as it was read (locked until the commit on PostgreSQL). */
  private async unchanged(
    trx: Knex.Transaction,
    resource: ResourceRecord,
  ): Promise<boolean> {
    const row = await trx('resources')
      .where({
        uid: resource.uid,
        state: resource.status.state,
        generation: resource.status.generation,
        observed_generation: resource.status.observedGeneration,
      })
      .modify(q => {
        if (isPostgres(this.options.db)) q.forUpdate();
      })
      .first('uid');
    return Boolean(row);
  }

  private async liveStates(refs: string[]): Promise<Map<string, string>> {
    const live = await this.options.resources.getLiveMany([...new Set(refs)]);
    return new Map(live.map(r => [r.ref, r.status.state]));
  }

  /** For each resource being deleted, the live resources that still depend on it. */
  private async liveDependents(
    deleting: ResourceRecord[],
  ): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (deleting.length === 0) return result;
    const refs = new Set(deleting.map(r => r.ref));
    const rows = await this.options
      .db('resources')
      .whereNot('state', 'DELETED')
      .andWhere(qb => {
        for (const ref of refs) qb.orWhere('spec', 'like', `%"${ref}"%`);
      })
      .select('namespace', 'name', 'spec');
    for (const row of rows) {
      for (const dep of readJson<{ dependsOn?: string[] }>(row.spec, {})
        .dependsOn ?? []) {
        if (refs.has(dep)) {
          result.set(dep, [
            ...(result.get(dep) ?? []),
            stringifyResourceRef(row),
          ]);
        }
      }
    }
    return result;
  }

  /**
   * Asks the drivers what actually runs, for READY and DEGRADED resources (`limit` at a time,
   * taking up where the previous check stopped, so that every resource is checked in turn
   * however many there are), and records drift: a structured diff of the parameters, an audit
   * event, a condition, an event. Under the `correct` policy an update puts the desired state
   * back; under `warn` it is only reported, once for as long as the drift stays the same. A
   * resource that stopped (or recovered) being healthy moves between READY and DEGRADED. A
   * pass that finds nothing new writes nothing.
   */
  async detectDrift(limit = 200): Promise<DriftResult> {
    return this.mutex.run(() => this.detectDriftLocked(limit));
  }

  private async batchToCheck(limit: number): Promise<ResourceRow[]> {
    const query = (uid: (q: Knex.QueryBuilder) => void, n: number) =>
      this.options
        .db<ResourceRow>('resources')
        .whereIn('state', ['READY', 'DEGRADED'])
        .whereNotNull('placement')
        .andWhere(uid)
        .andWhereRaw(`not ${ACTIVE_OPERATION}`)
        .orderBy('uid', 'asc')
        .limit(n);
    const after = this.driftCursor;
    const rows = await query(q => q.where('uid', '>', after), limit);
    if (rows.length < limit && after !== '') {
      // wrapped around: the start of the list, up to where this batch began
      rows.push(
        ...(await query(q => q.where('uid', '<=', after), limit - rows.length)),
      );
    }
    this.driftCursor = rows.length > 0 ? rows[rows.length - 1].uid : '';
    return rows;
  }

  private async detectDriftLocked(limit: number): Promise<DriftResult> {
    const { db, indexer, drivers, resources } = this.options;
    const desired = await indexer.current();
    const rows = await this.batchToCheck(limit);
    const result: DriftResult = { checked: 0, drifted: [] };
    for (const resource of rows.map(toResource)) {
      const placement = resource.status.placement!;
      const provider = desired.provider(placement.provider);
      const driver = provider && drivers.get(provider.driver);
      const cluster = desired.cluster(placement.cluster);
      if (!driver || !cluster) continue;
      let params: Record<string, unknown>;
      try {
        params = effectiveParams(desired, resource);
      } catch {
        continue;
      }
      const controller = new AbortController();
      const observed = await driver
        .observe(
          {
            ref: resource.ref,
            uid: resource.uid,
            namespace: resource.metadata.namespace,
            name: resource.metadata.name,
            product: resource.spec.product,
            tier: resource.spec.tier,
            owner: resource.spec.owner,
            generation: resource.status.observedGeneration,
            params,
            labels: resource.metadata.labels,
          },
          { ...placement, region: cluster.region, zones: cluster.zones },
          {
            idempotencyToken: `observe:${resource.uid}`,
            operationId: 'reconciler',
            signal: controller.signal,
            logger: this.options.logger,
          },
        )
        .catch(error => {
          this.options.logger.warn(`could not observe: ${error}`, {
            resourceRef: resource.ref,
          });
          return undefined;
        });
      if (!observed) continue;
      result.checked += 1;

      const fields =
        observed.phase === 'absent'
          ? ['(the resource is gone)']
          : Object.keys(observed.params ?? {}).filter(
              key =>
                JSON.stringify(observed.params![key]) !==
                JSON.stringify(params[key]),
            );
      if (fields.length === 0) {
        await this.followHealth(resource, observed.phase, observed.message);
        continue;
      }
      const policy: DriftPolicy =
        resource.spec.driftPolicy ??
        (await this.options.cellDriftPolicy?.(
          resource.spec.cell,
          desired,
          resource.spec.tier,
        )) ??
        'correct';
      const diff = Object.fromEntries(
        fields
          .filter(f => !f.startsWith('('))
          .map(f => [f, { desired: params[f], actual: observed.params?.[f] }]),
      );
      // The condition's message states the drift exactly: the same message is the same drift.
      const message = `${fields.join(', ')} differ from the desired state${
        Object.keys(diff).length > 0 ? `: ${JSON.stringify(diff)}` : ''
      }`.slice(0, 1000);
      const previous = resource.status.conditions.find(
        c => c.type === 'Drifted',
      );
      if (
        policy === 'warn' &&
        previous?.status === 'True' &&
        previous.reason === 'Reported' &&
        previous.message === message
      ) {
        // reported already, and nothing changed since
        result.drifted.push({ ref: resource.ref, fields, corrected: false });
        continue;
      }
      const corrected = await db.transaction(async trx => {
        let correcting = false;
        if (policy === 'correct') {
          correcting = Boolean(
            await this.createIfUnchanged(
              trx,
              resource,
              'update',
              `correcting drift in ${fields.join(', ')}`,
            ),
          );
        }
        let reason = 'Reported';
        if (correcting) reason = 'Correcting';
        else if (policy === 'correct') reason = 'NotCorrected';
        let outcome = 'reported only (policy warn)';
        if (correcting) outcome = 'correcting it';
        else if (policy === 'correct')
          outcome = 'not corrected: another operation is in flight';
        await resources.updateStatus(trx, resource.uid, {
          conditions: setCondition(resource.status.conditions, {
            type: 'Drifted',
            status: 'True',
            reason,
            message,
          }),
        });
        await this.options.events.append(
          {
            ref: resource.ref,
            uid: resource.uid,
            type: 'drift.detected',
            message: `drift in ${fields.join(', ')}; ${outcome}`,
            data: { fields, diff, policy, corrected: correcting },
          },
          trx,
        );
        await this.options.audit.append(
          {
            actor: 'control-plane',
            action: 'resource.drift',
            target: resource.ref,
            outcome: 'accepted',
            reason: JSON.stringify({
              fields,
              diff,
              policy,
              corrected: correcting,
            }).slice(0, 2000),
          },
          trx,
        );
        return correcting;
      });
      this.options.events.announce([resource.ref]);
      this.options.onDrift?.(resource, fields);
      if (corrected) this.options.wake();
      result.drifted.push({ ref: resource.ref, fields, corrected });
    }
    return result;
  }

  private async followHealth(
    resource: ResourceRecord,
    phase: string,
    message?: string,
  ) {
    const { resources } = this.options;
    const to = healthTransition(resource.status.state, phase);
    const drifted = resource.status.conditions.find(
      c => c.type === 'Drifted' && c.status === 'True',
    );
    if (!to && !drifted) return;
    await this.options.db.transaction(async trx => {
      if (to) {
        await resources.transition(
          resource.uid,
          resource.status.state,
          to,
          {
            actor: 'control-plane',
            reason: message ?? `the driver reports it ${phase}`,
          },
          trx,
        );
      }
      if (drifted) {
        await resources.updateStatus(trx, resource.uid, {
          conditions: setCondition(resource.status.conditions, {
            type: 'Drifted',
            status: 'False',
            reason: 'Converged',
            message: 'matches the desired state',
          }),
        });
      }
    });
    this.options.events.announce([resource.ref]);
  }
}

/** READY turns DEGRADED when the driver reports trouble, and back when it recovers. */
function healthTransition(
  state: string,
  phase: string,
): 'READY' | 'DEGRADED' | undefined {
  if (state === 'READY' && (phase === 'degraded' || phase === 'failed'))
    return 'DEGRADED';
  if (state === 'DEGRADED' && phase === 'ready') return 'READY';
  return undefined;
}

function setCondition(
  conditions: Condition[],
  condition: Omit<Condition, 'lastTransitionTime'>,
): Condition[] {
  const previous = conditions.find(c => c.type === condition.type);
  const at =
    previous && previous.status === condition.status
      ? previous.lastTransitionTime
      : now();
  return [
    ...conditions.filter(c => c.type !== condition.type),
    { ...condition, lastTransitionTime: at },
  ];
}
