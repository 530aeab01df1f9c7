import { ConflictError } from '@backstage/errors';
import {
  canClusterTransition,
  ClusterHealth,
  ClusterObserved,
  ClusterOperation,
  ClusterOperationType,
  ClusterPhase,
} from '@idp-multicloud/plugin-control-plane-common';
import { ObservedCluster } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { randomUUID } from 'node:crypto';
import { ResourceEventStore } from '../events/ResourceEventStore';

type Db = Knex | Knex.Transaction;

/** The worker no longer holds the operation: another worker carries on. */
export class LeaseLostError extends Error {
  constructor(id: string) {
    super(`lost the lease of cluster operation ${id}`);
    this.name = 'LeaseLostError';
  }
}

/** A step of a cluster operation, as recorded. */
export type ClusterStepRecord = ClusterOperation['steps'][number];

/** A cluster operation this worker holds the lease of. */
export interface ClaimedClusterOperation extends ClusterOperation {
  fence: number;
  owner: string;
}

/** The event of a step moving to each state (the names resources' steps use). */
const stepEvents: Record<string, string> = {
  pending: 'step.retried',
  running: 'step.started',
  succeeded: 'step.succeeded',
  failed: 'step.failed',
  compensated: 'step.compensated',
};

const iso = (ms: number) => DateTime.fromMillis(Number(ms)).toUTC().toISO()!;

function observedFromRow(row: any): ClusterObserved {
  return {
    phase: row.phase,
    controlPlaneVersion: row.control_plane_version ?? null,
    pools: JSON.parse(row.pools),
    nodesReady: Number(row.nodes_ready),
    nodesTotal: Number(row.nodes_total),
    conditions: JSON.parse(row.conditions),
    certificatesExpireAt: row.certificates_expire_at ?? null,
    phaseChangedAt: iso(row.phase_changed_at),
    observedAt: iso(row.observed_at),
  };
}

function operationFromRow(row: any): ClusterOperation {
  return {
    id: row.id,
    cluster: row.cluster,
    type: row.type,
    state: row.state,
    params: JSON.parse(row.params),
    actor: row.actor,
    error: row.error ?? null,
    steps: JSON.parse(row.steps),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The columns of what a driver observed. */
function observationColumns(o: ObservedCluster) {
  return {
    control_plane_version: o.controlPlaneVersion,
    pools: JSON.stringify(o.pools),
    nodes_ready: o.pools.reduce((n, p) => n + p.ready, 0),
    nodes_total: o.pools.reduce((n, p) => n + p.nodes, 0),
    conditions: JSON.stringify(o.conditions),
    certificates_expire_at: o.certificatesExpireAt ?? null,
  };
}

/**
 * The owner of the tables `clusters` (observed state), `cluster_operations` (lifecycle
 * sagas) and `cluster_health_samples`. Every phase change is a compare-and-set against the
 * phase table of `-common`; every write to an operation is fenced by its lease.
 *
 * With an event store, each phase change, accepted operation and step outcome is also an
 * event of `cluster:<name>` on the stream resources use, written in the same transaction.
 */
export class ClusterStore {
  constructor(
    private readonly db: Knex,
    private readonly now: () => number = () => DateTime.now().toMillis(),
    private readonly events?: ResourceEventStore,
  ) {}

  private async event(
    db: Db,
    cluster: string,
    type: string,
    message: string,
    data: Record<string, unknown>,
    operationId?: string,
  ) {
    // The stream's operation_id column holds a resource operation's uuid; a cluster
    // operation's id (`cop-<uuid>`) is longer and goes with the data.
    await this.events?.append(
      {
        ref: `cluster:${cluster}`,
        type,
        message,
        data: operationId ? { ...data, operationId } : data,
      },
      db,
    );
  }

  async observed(name: string): Promise<ClusterObserved | undefined> {
    const row = await this.db('clusters').where({ name }).first();
    return row ? observedFromRow(row) : undefined;
  }

  async allObserved(): Promise<Map<string, ClusterObserved>> {
    const rows = await this.db('clusters').select();
    return new Map(rows.map(r => [r.name as string, observedFromRow(r)]));
  }

  /** Starts observing a cluster in `phase` (a cluster the control plane creates or adopts). */
  async insert(
    name: string,
    phase: ClusterPhase,
    observed: ObservedCluster | undefined,
    db: Db = this.db,
  ): Promise<void> {
    const now = this.now();
    await db('clusters')
      .insert({
        name,
        phase,
        ...observationColumns(
          observed ?? {
            phase: 'absent',
            controlPlaneVersion: null,
            pools: [],
            conditions: [],
          },
        ),
        phase_changed_at: now,
        observed_at: now,
      })
      .onConflict('name')
      .ignore();
  }

  /**
   * Returns a drained (cordoned) cluster to service: Draining → Ready, refused while an
   * operation runs on it.
   */
  async uncordon(name: string, actor: string): Promise<void> {
    await this.db.transaction(async trx => {
      const active = await trx('cluster_operations')
        .where({ cluster: name })
        .whereIn('state', ['pending', 'running'])
        .first();
      if (active) {
        throw new ConflictError(
          `cluster ${name} has an operation in flight: ${active.type} ${active.id}`,
        );
      }
      const row = await trx('clusters').where({ name }).first();
      if (!row || row.phase !== 'Draining') {
        throw new ConflictError(
          `cluster ${name} is ${
            row?.phase ?? 'not managed'
          }, not Draining: only a drained cluster can be returned to service`,
        );
      }
      await this.transition(name, 'Draining', 'Ready', trx, actor);
    });
  }

  /**
   * Moves a cluster from `from` to `to`: refused by the phase table, or a ConflictError
   * naming both phases when the cluster is no longer in `from`.
   */
  async transition(
    name: string,
    from: ClusterPhase,
    to: ClusterPhase,
    db: Db = this.db,
    cause?: string,
  ): Promise<void> {
    if (!canClusterTransition(from, to)) {
      throw new ConflictError(
        `cluster ${name} cannot move from ${from} to ${to}`,
      );
    }
    if (from === to) return;
    const changed = await db('clusters')
      .where({ name, phase: from })
      .update({ phase: to, phase_changed_at: this.now() });
    if (changed === 0) {
      const current = await db('clusters').where({ name }).first();
      throw new ConflictError(
        `cluster ${name} is ${
          current?.phase ?? 'not observed'
        }, not ${from}: it cannot move to ${to}`,
      );
    }
    await this.event(
      db,
      name,
      'phase.changed',
      `${from} → ${to}${cause ? ` (${cause})` : ''}`,
      { from, to, ...(cause ? { cause } : {}) },
    );
  }

  /** Records what the driver observed (not the phase, which only transitions change). */
  async recordObservation(name: string, o: ObservedCluster): Promise<void> {
    await this.db('clusters')
      .where({ name })
      .update({ ...observationColumns(o), observed_at: this.now() });
  }

  /**
   * Records which managed clusters are empty now: an empty one keeps the time it became
   * empty, one with something placed on it has none (and its proposal is forgotten).
   */
  async recordEmptiness(empty: Set<string>): Promise<void> {
    const now = this.now();
    const rows = await this.db('clusters').select('name', 'empty_since');
    for (const row of rows) {
      const isEmpty = empty.has(row.name);
      if (isEmpty && row.empty_since === null) {
        await this.db('clusters')
          .where({ name: row.name })
          .whereNull('empty_since')
          .update({ empty_since: now });
      } else if (!isEmpty && row.empty_since !== null) {
        await this.db('clusters')
          .where({ name: row.name })
          .update({ empty_since: null, decommission_proposal: null });
      }
    }
  }

  /** Since when each empty managed cluster has been empty (ms), and its proposal if any. */
  async idleness(): Promise<
    Map<string, { emptySince: number; proposal: string | null }>
  > {
    const rows = await this.db('clusters')
      .whereNotNull('empty_since')
      .select('name', 'empty_since', 'decommission_proposal');
    return new Map(
      rows.map(r => [
        r.name as string,
        {
          emptySince: Number(r.empty_since),
          proposal: r.decommission_proposal ?? null,
        },
      ]),
    );
  }

  async recordProposal(name: string, proposal: string): Promise<void> {
    await this.db('clusters')
      .where({ name })
      .update({ decommission_proposal: proposal });
  }

  /** Lets `channel`'s clusters move to `minor` (e.g. `1.32`); approving twice keeps the first. */
  async approveMinor(channel: string, minor: string, actor: string) {
    await this.db('cluster_rollout_approvals')
      .insert({
        channel,
        minor,
        approved_by: actor,
        approved_at: this.now(),
      })
      .onConflict(['channel', 'minor'])
      .ignore();
  }

  /** The minors approved on a channel. */
  async approvedMinors(channel: string): Promise<Set<string>> {
    const rows = await this.db('cluster_rollout_approvals')
      .where({ channel })
      .select('minor');
    return new Set(rows.map(r => r.minor as string));
  }

  // --- operations ---------------------------------------------------------------------

  /**
   * Creates an operation, refused (409) while another one of the cluster is pending or
   * running; `also` runs in the same transaction (e.g. the phase the operation starts in).
   */
  async createOperation(
    op: {
      cluster: string;
      type: ClusterOperationType;
      params: Record<string, unknown>;
      actor: string;
      steps: string[];
      /** Not claimed before this time (ms): an upgrade waiting for its maintenance window. */
      runAfter?: number;
    },
    also?: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<ClusterOperation> {
    const id = `cop-${randomUUID()}`;
    const now = this.now();
    await this.db.transaction(async trx => {
      const active = await trx('cluster_operations')
        .where({ cluster: op.cluster })
        .whereIn('state', ['pending', 'running'])
        .first();
      if (active) {
        throw new ConflictError(
          `cluster ${op.cluster} has an operation in flight: ${active.type} ${active.id}`,
        );
      }
      await trx('cluster_operations').insert({
        id,
        cluster: op.cluster,
        type: op.type,
        state: 'pending',
        params: JSON.stringify(op.params),
        actor: op.actor,
        steps: JSON.stringify(
          op.steps.map(name => ({ name, state: 'pending', attempts: 0 })),
        ),
        created_at: now,
        updated_at: now,
        run_after: op.runAfter ?? 0,
      });
      await this.event(
        trx,
        op.cluster,
        'operation.accepted',
        `${op.type} of ${op.cluster} accepted, by ${op.actor}`,
        { type: op.type, actor: op.actor, steps: op.steps },
        id,
      );
      await also?.(trx);
    });
    return (await this.operation(id))!;
  }

  /**
   * Moves the start of a cluster's deferred operation that has not started (an upgrade
   * waiting for its maintenance window) to `runAfter`: the window moved. Returns its id.
   */
  async rescheduleDeferred(
    cluster: string,
    runAfter: number,
  ): Promise<string | undefined> {
    const waiting = (await this.operationsOf(cluster, { active: true })).find(
      op =>
        op.state === 'pending' &&
        op.params.deferred === true &&
        op.steps.every(s => s.state === 'pending' && s.attempts === 0),
    );
    if (!waiting) return undefined;
    await this.db('cluster_operations')
      .where({ id: waiting.id, state: 'pending' })
      .where('lease_until', '<', this.now())
      .update({
        run_after: runAfter,
        params: JSON.stringify({
          ...waiting.params,
          notBefore: DateTime.fromMillis(runAfter).toUTC().toISO(),
        }),
        updated_at: this.now(),
      });
    return waiting.id;
  }

  async operation(id: string): Promise<ClusterOperation | undefined> {
    const row = await this.db('cluster_operations').where({ id }).first();
    return row ? operationFromRow(row) : undefined;
  }

  async operationsOf(
    cluster: string,
    options: { active?: boolean; limit?: number } = {},
  ): Promise<ClusterOperation[]> {
    const q = this.db('cluster_operations')
      .where({ cluster })
      .orderBy('created_at', 'desc')
      .limit(options.limit ?? 20);
    if (options.active) q.whereIn('state', ['pending', 'running']);
    return (await q).map(operationFromRow);
  }

  async activeOperations(): Promise<ClusterOperation[]> {
    const rows = await this.db('cluster_operations')
      .whereIn('state', ['pending', 'running'])
      .orderBy('created_at');
    return rows.map(operationFromRow);
  }

  /** Failed or compensated operations of a cluster since `since` (ms). */
  async failuresSince(since: number): Promise<Map<string, number>> {
    const rows = await this.db('cluster_operations')
      .whereIn('state', ['failed', 'compensated'])
      .where('updated_at', '>=', since)
      .select('cluster')
      .count({ n: '*' })
      .groupBy('cluster');
    return new Map(
      rows.map(r => [(r as { cluster: string }).cluster, Number(r.n)]),
    );
  }

  /**
   * Claims up to `limit` runnable operations for `owner`: pending or running ones whose lease
   * ran out (a worker that died) and whose retry is due. Each claim is a compare-and-set on
   * the fencing token, so two workers never hold one operation.
   */
  async claim(
    owner: string,
    limit: number,
    leaseMs: number,
    exclude: string[],
  ): Promise<ClaimedClusterOperation[]> {
    const now = this.now();
    const candidates = await this.db('cluster_operations')
      .whereIn('state', ['pending', 'running'])
      .where('run_after', '<=', now)
      .where('lease_until', '<', now)
      .whereNotIn('id', exclude.length ? exclude : [''])
      .orderBy('created_at')
      .limit(limit)
      .select('id', 'fence');
    const claimed: ClaimedClusterOperation[] = [];
    for (const c of candidates) {
      const fence = Number(c.fence) + 1;
      const changed = await this.db('cluster_operations')
        .where({ id: c.id, fence: c.fence })
        .where('lease_until', '<', now)
        .update({
          lease_owner: owner,
          lease_until: now + leaseMs,
          fence,
          state: 'running',
          updated_at: now,
        });
      if (changed === 1) {
        const op = (await this.operation(c.id))!;
        claimed.push({ ...op, fence, owner });
      }
    }
    return claimed;
  }

  /** Extends a lease; false when the lease was lost (another worker fenced it). */
  async heartbeat(
    op: ClaimedClusterOperation,
    leaseMs: number,
  ): Promise<boolean> {
    const changed = await this.db('cluster_operations')
      .where({ id: op.id, fence: op.fence, lease_owner: op.owner })
      .update({ lease_until: this.now() + leaseMs });
    return changed === 1;
  }

  /**
   * Writes an operation's steps, state and error under its fence, with `also` in the same
   * transaction; throws when the lease was lost.
   */
  async save(
    op: ClaimedClusterOperation,
    changes: {
      steps?: ClusterStepRecord[];
      state?: ClusterOperation['state'];
      error?: string | null;
      runAfter?: number;
      release?: boolean;
    },
    also?: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<void> {
    await this.db.transaction(async trx => {
      const changed = await trx('cluster_operations')
        .where({ id: op.id, fence: op.fence, lease_owner: op.owner })
        .update({
          ...(changes.steps ? { steps: JSON.stringify(changes.steps) } : {}),
          ...(changes.state ? { state: changes.state } : {}),
          ...(changes.error !== undefined ? { error: changes.error } : {}),
          ...(changes.runAfter !== undefined
            ? { run_after: changes.runAfter }
            : {}),
          ...(changes.release ? { lease_until: 0, lease_owner: null } : {}),
          updated_at: this.now(),
        });
      if (changed !== 1) {
        throw new LeaseLostError(op.id);
      }
      for (const step of changes.steps ?? []) {
        const before = op.steps.find(s => s.name === step.name);
        if (before?.state === step.state) continue;
        const type = Object.hasOwn(stepEvents, step.state)
          ? stepEvents[step.state]
          : `step.${step.state}`;
        await this.event(
          trx,
          op.cluster,
          type,
          `${op.type}: ${step.name} ${step.state}${
            step.error ? `: ${step.error}` : ''
          }`,
          {
            operation: op.type,
            step: step.name,
            attempts: step.attempts,
            ...(step.error ? { error: step.error } : {}),
          },
          op.id,
        );
      }
      if (changes.state && changes.state !== op.state) {
        await this.event(
          trx,
          op.cluster,
          `operation.${changes.state}`,
          `${op.type} of ${op.cluster} ${changes.state}${
            changes.error ? `: ${changes.error}` : ''
          }`,
          { type: op.type, state: changes.state },
          op.id,
        );
      }
      await also?.(trx);
    });
    if (changes.steps) op.steps = changes.steps;
    if (changes.state) op.state = changes.state;
  }

  // --- health ---------------------------------------------------------------------------

  async recordHealth(cluster: string, health: ClusterHealth): Promise<void> {
    await this.db('cluster_health_samples').insert({
      cluster,
      at: this.now(),
      score: Math.round(health.score),
      breakdown: JSON.stringify(health.breakdown),
    });
  }

  async healthSeries(
    cluster: string,
    since: number,
  ): Promise<{ at: string; score: number }[]> {
    const rows = await this.db('cluster_health_samples')
      .where({ cluster })
      .where('at', '>=', since)
      .orderBy('at')
      .select('at', 'score');
    return rows.map(r => ({ at: iso(r.at), score: Number(r.score) }));
  }

  /** Drops samples older than `before` (ms). */
  async pruneHealth(before: number): Promise<void> {
    await this.db('cluster_health_samples').where('at', '<', before).delete();
  }
}
