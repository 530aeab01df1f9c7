import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  canTransition,
  Condition,
  ManifestOf,
  Resource,
  ResourceSpec,
  ResourceState,
  ResourceTransition,
  parseResourceRef,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { now, readTimestamp } from '../database/time';
import { cursors, isPostgres, readJson } from '../database/util';
import { AuditLog } from '../audit/AuditLog';
import { ResourceEventStore } from '../events/ResourceEventStore';

/** What caused a transition: who, in which operation, and why. */
export interface TransitionCause {
  actor: string;
  reason: string;
  operationId?: string;
}

/** A resource row with its identity, as the services use it. */
export interface ResourceRecord extends Resource {
  uid: string;
}

export type ResourceRow = {
  uid: string;
  namespace: string;
  name: string;
  product: string;
  owner: string;
  component: string | null;
  tier: string;
  cell: string;
  spec: string;
  labels: string;
  state: string;
  state_reason: string | null;
  generation: string | number;
  observed_generation: string | number;
  desired_commit: string | null;
  placement: string | null;
  version: string | null;
  endpoint?: string | null;
  connection_secret?: string | null;
  conditions: string;
  created_at: Date | string;
  updated_at: Date | string;
};

/** Where a resource is reached: its endpoint, and its connection secret on its cluster. */
function connectionOf(
  row: ResourceRow,
  placement: Resource['status']['placement'],
): Pick<Resource['status'], 'endpoint' | 'connectionSecret'> {
  return {
    ...(row.endpoint
      ? { endpoint: readJson(row.endpoint, undefined as never) }
      : {}),
    ...(row.connection_secret && placement
      ? {
          connectionSecret: {
            name: row.connection_secret,
            namespace: row.namespace,
            cluster: placement.cluster,
          },
        }
      : {}),
  };
}

export function toResource(row: ResourceRow): ResourceRecord {
  const placement = readJson<Resource['status']['placement']>(
    row.placement,
    undefined,
  );
  return {
    uid: row.uid,
    ref: stringifyResourceRef(row),
    metadata: {
      name: row.name,
      namespace: row.namespace,
      labels: readJson(row.labels, {}),
    },
    spec: readJson<ResourceSpec>(row.spec, {} as ResourceSpec),
    status: {
      state: row.state as ResourceState,
      ...(row.state_reason ? { reason: row.state_reason } : {}),
      generation: Number(row.generation),
      observedGeneration: Number(row.observed_generation),
      ...(placement ? { placement } : {}),
      ...(row.version ? { version: row.version } : {}),
      ...connectionOf(row, placement),
      conditions: readJson<Condition[]>(row.conditions, []),
      ...(row.desired_commit ? { commit: row.desired_commit } : {}),
      createdAt: readTimestamp(row.created_at),
      updatedAt: readTimestamp(row.updated_at),
    },
  };
}

/** Filters of a listing; `restrict` adds the permission framework's conditions. */
export interface ResourceFilter {
  owner?: string;
  component?: string;
  product?: string;
  cell?: string;
  tier?: string;
  state?: string;
  namespace?: string;
  restrict?: (qb: Knex.QueryBuilder) => void;
}

/**
 * Observed state of resources. Every state change is a compare-and-set on the current state,
 * recorded with its cause in `resource_transitions` and as an event, in one transaction.
 */
export class ResourceStore {
  constructor(
    private readonly db: Knex,
    private readonly events: ResourceEventStore,
    private readonly audit: AuditLog,
  ) {}

  private async recordTransition(
    trx: Knex.Transaction,
    ref: string,
    from: ResourceState | undefined,
    to: ResourceState,
    cause: TransitionCause,
  ) {
    await this.audit.append(
      {
        actor: cause.actor,
        action: 'resource.transition',
        target: ref,
        outcome: 'succeeded',
        reason: `${from ?? '∅'} → ${to}: ${cause.reason}`,
      },
      trx,
    );
  }

  /**
   * Records a new incarnation of a desired resource, PENDING, with its first transition.
   * Runs in the caller's transaction.
   */
  async insert(
    trx: Knex.Transaction,
    manifest: ManifestOf<'Resource'>,
    desired: { generation: number; commit: string; action?: string },
    cause: TransitionCause,
  ): Promise<string> {
    const at = now();
    const uid = randomUUID();
    const ref = stringifyResourceRef(manifest.metadata);
    await trx('resources').insert({
      uid,
      namespace: manifest.metadata.namespace,
      name: manifest.metadata.name,
      ...this.desiredColumns(manifest, desired),
      state: 'PENDING',
      state_reason: cause.reason,
      observed_generation: 0,
      conditions: '[]',
      created_at: at,
      updated_at: at,
    });
    await trx('resource_transitions').insert({
      resource_uid: uid,
      from_state: null,
      to_state: 'PENDING',
      operation_id: cause.operationId ?? null,
      actor: cause.actor,
      reason: cause.reason,
      created_at: at,
    });
    await this.events.append(
      {
        ref,
        uid,
        type: 'state.changed',
        state: 'PENDING',
        message: cause.reason,
      },
      trx,
    );
    await this.recordTransition(trx, ref, undefined, 'PENDING', cause);
    return uid;
  }

  private desiredColumns(
    manifest: ManifestOf<'Resource'>,
    desired: { generation: number; commit: string; action?: string },
  ) {
    return {
      product: manifest.spec.product,
      owner: manifest.spec.owner,
      component: manifest.spec.component ?? null,
      tier: manifest.spec.tier,
      cell: manifest.spec.cell,
      spec: JSON.stringify(manifest.spec),
      labels: JSON.stringify(manifest.metadata.labels ?? {}),
      generation: desired.generation,
      desired_commit: desired.commit,
      // what made this generation (the commit's Action trailer), for the reconciler
      desired_action: desired.action ?? null,
      desired_indexed_at: now(),
    };
  }

  /** Takes in a changed desired spec (a new generation). */
  async updateDesired(
    trx: Knex.Transaction,
    uid: string,
    manifest: ManifestOf<'Resource'>,
    desired: { generation: number; commit: string; action?: string },
    actor: string,
  ): Promise<void> {
    await trx('resources')
      .where({ uid })
      .update({ ...this.desiredColumns(manifest, desired), updated_at: now() });
    await this.events.append(
      {
        ref: stringifyResourceRef(manifest.metadata),
        uid,
        type: 'spec.changed',
        message: `desired spec changed to generation ${desired.generation} by ${actor}`,
        data: { generation: desired.generation, commit: desired.commit },
      },
      trx,
    );
  }

  /** The live (not DELETED) incarnation of a resource. */
  async getLive(
    namespace: string,
    name: string,
    db: Knex | Knex.Transaction = this.db,
  ): Promise<ResourceRecord | undefined> {
    const row = await db<ResourceRow>('resources')
      .where({ namespace, name })
      .andWhereNot('state', 'DELETED')
      .first();
    return row ? toResource(row) : undefined;
  }

  /** The newest incarnation of a resource, DELETED or not. */
  async getLatest(
    namespace: string,
    name: string,
  ): Promise<ResourceRecord | undefined> {
    const row = await this.db<ResourceRow>('resources')
      .where({ namespace, name })
      .orderBy('created_at', 'desc')
      .first();
    return row ? toResource(row) : undefined;
  }

  async getByUid(uid: string, db: Knex | Knex.Transaction = this.db) {
    const row = await db<ResourceRow>('resources').where({ uid }).first();
    return row ? toResource(row) : undefined;
  }

  /** Live resources with these refs. */
  async getLiveMany(refs: string[]): Promise<ResourceRecord[]> {
    if (refs.length === 0) return [];
    const names = refs.map(parseResourceRef);
    const rows = await this.db<ResourceRow>('resources')
      .whereNot('state', 'DELETED')
      .andWhere(qb => {
        for (const { namespace, name } of names) {
          qb.orWhere(inner => inner.where({ namespace, name }));
        }
      });
    return rows.map(toResource);
  }

  /**
   * Moves a resource from `from` to `to`, in the caller's transaction when given one.
   * Throws ConflictError for a move the state machine forbids (a bug in the caller) and when
   * the resource is no longer in `from` (someone else moved it).
   */
  async transition(
    uid: string,
    from: ResourceState,
    to: ResourceState,
    cause: TransitionCause,
    trx?: Knex.Transaction,
  ): Promise<void> {
    if (!canTransition(from, to)) {
      throw new ConflictError(`Illegal resource transition ${from} → ${to}`);
    }
    if (!trx) {
      await this.db.transaction(tx =>
        this.transition(uid, from, to, cause, tx),
      );
      return;
    }
    const at = now();
    const changed = await trx('resources')
      .where({ uid, state: from })
      .update({ state: to, state_reason: cause.reason, updated_at: at });
    if (changed === 0) {
      const current = await trx<ResourceRow>('resources')
        .where({ uid })
        .first();
      if (!current) {
        throw new NotFoundError(`No resource with uid ${uid}`);
      }
      throw new ConflictError(
        `Resource ${stringifyResourceRef(current)} is ${
          current.state
        }, not ${from}; cannot move it to ${to}`,
      );
    }
    await trx('resource_transitions').insert({
      resource_uid: uid,
      from_state: from,
      to_state: to,
      operation_id: cause.operationId ?? null,
      actor: cause.actor,
      reason: cause.reason,
      created_at: at,
    });
    const row = await trx<ResourceRow>('resources')
      .where({ uid })
      .first('namespace', 'name');
    await this.recordTransition(
      trx,
      stringifyResourceRef(row!),
      from,
      to,
      cause,
    );
    await this.events.append(
      {
        ref: stringifyResourceRef(row!),
        uid,
        type: 'state.changed',
        state: to,
        operationId: cause.operationId,
        message: `${from} → ${to}: ${cause.reason}`,
        data: { from, to, actor: cause.actor },
      },
      trx,
    );
  }

  /** Records status fields the control plane observed (placement, version, conditions). */
  async updateStatus(
    trx: Knex.Transaction,
    uid: string,
    status: {
      placement?: Resource['status']['placement'] | null;
      version?: string | null;
      endpoint?: Resource['status']['endpoint'] | null;
      connectionSecret?: string | null;
      conditions?: Condition[];
      observedGeneration?: number;
      failedGeneration?: number | null;
    },
  ): Promise<void> {
    const update: Record<string, unknown> = { updated_at: now() };
    if (status.placement !== undefined) {
      update.placement = status.placement
        ? JSON.stringify(status.placement)
        : null;
    }
    if (status.version !== undefined) update.version = status.version;
    if (status.endpoint !== undefined) {
      update.endpoint = status.endpoint
        ? JSON.stringify(status.endpoint)
        : null;
    }
    if (status.connectionSecret !== undefined) {
      update.connection_secret = status.connectionSecret;
    }
    if (status.conditions !== undefined)
      update.conditions = JSON.stringify(status.conditions);
    if (status.observedGeneration !== undefined) {
      update.observed_generation = status.observedGeneration;
    }
    if (status.failedGeneration !== undefined)
      update.failed_generation = status.failedGeneration;
    await trx('resources').where({ uid }).update(update);
  }

  /** Forgets that the current generation failed, so the reconciler tries it again. */
  async clearFailedGeneration(
    uid: string,
    by: {
      actor: string;
      requestId?: string;
      source?: { ip?: string; userAgent?: string };
    },
  ) {
    await this.db.transaction(async trx => {
      await trx('resources')
        .where({ uid })
        .update({ failed_generation: null, updated_at: now() });
      const row = await trx<ResourceRow>('resources')
        .where({ uid })
        .first('namespace', 'name');
      await this.audit.append(
        {
          actor: by.actor,
          action: 'resource.retry',
          target: stringifyResourceRef(row!),
          outcome: 'accepted',
          requestId: by.requestId,
          source: by.source,
        },
        trx,
      );
    });
  }

  /** The transitions of a resource incarnation, oldest first. */
  async history(uid: string): Promise<ResourceTransition[]> {
    const rows = await this.db('resource_transitions')
      .where({ resource_uid: uid })
      .orderBy('id', 'asc');
    return rows.map(row => ({
      ...(row.from_state ? { from: row.from_state } : {}),
      to: row.to_state,
      actor: row.actor,
      reason: row.reason,
      ...(row.operation_id ? { operationId: row.operation_id } : {}),
      at: readTimestamp(row.created_at),
    }));
  }

  /**
   * Resources matching the filters, in (namespace, name) order, a page at a time. DELETED
   * incarnations appear only when asked for by `state`.
   */
  async list(
    filter: ResourceFilter,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: ResourceRecord[]; nextCursor?: string }> {
    let q = this.db<ResourceRow>('resources')
      .orderBy([
        { column: 'namespace', order: 'asc' },
        { column: 'name', order: 'asc' },
        { column: 'uid', order: 'asc' },
      ])
      .limit(page.limit + 1);
    if (filter.state) {
      q = q.where('state', filter.state);
    } else {
      q = q.whereNot('state', 'DELETED');
    }
    for (const column of [
      'owner',
      'component',
      'product',
      'cell',
      'tier',
      'namespace',
    ] as const) {
      if (filter[column]) q = q.where(column, filter[column]!);
    }
    if (filter.restrict) {
      q = q.where(filter.restrict);
    }
    if (page.cursor) {
      const after = cursors.decode(page.cursor);
      if (
        !after ||
        after.length !== 3 ||
        !after.every(v => typeof v === 'string')
      ) {
        throw new InputError('cursor: not a cursor this API returned');
      }
      const [ns, name, uid] = after as string[];
      q = q.where(qb =>
        qb
          .where('namespace', '>', ns)
          .orWhere(b => b.where('namespace', ns).andWhere('name', '>', name))
          .orWhere(b =>
            b.where({ namespace: ns, name }).andWhere('uid', '>', uid),
          ),
      );
    }
    const rows = await q;
    const items = rows.slice(0, page.limit).map(toResource);
    const last = items[items.length - 1];
    return {
      items,
      ...(rows.length > page.limit && last
        ? {
            nextCursor: cursors.encode([
              last.metadata.namespace,
              last.metadata.name,
              last.uid,
            ]),
          }
        : {}),
    };
  }

  // ── read models for scheduling and governance

  /** The columns of a footprint, read from the `resources` table. */
  private footprints(db: Knex | Knex.Transaction = this.db) {
    return db<ResourceRow>('resources').select(
      'uid',
      'namespace',
      'name',
      'product',
      'owner',
      'tier',
      'cell',
      'spec',
      'labels',
      'placement',
    );
  }

  private footprintOf(
    row: Pick<
      ResourceRow,
      | 'uid'
      | 'namespace'
      | 'name'
      | 'product'
      | 'owner'
      | 'tier'
      | 'cell'
      | 'spec'
      | 'labels'
      | 'placement'
    >,
  ): ResourceFootprint {
    const spec = readJson<Partial<ResourceSpec>>(row.spec, {});
    const placement = readJson<ResourceFootprint['placement']>(
      row.placement,
      undefined,
    );
    return {
      uid: row.uid,
      namespace: row.namespace,
      name: row.name,
      product: row.product,
      owner: row.owner,
      tier: row.tier,
      cell: row.cell,
      params: spec.params ?? {},
      labels: readJson(row.labels, {}),
      ...(spec.placement?.provider
        ? { pinnedProvider: spec.placement.provider }
        : {}),
      ...(placement ? { placement } : {}),
    };
  }

  /**
   * The live resources that are placed (but `except`, a uid): what clusters run and quotas
   * count. In the caller's transaction when given one (the quota guard's locked check).
   */
  async placed(
    options: { except?: string } = {},
    db: Knex | Knex.Transaction = this.db,
  ): Promise<ResourceFootprint[]> {
    const query = this.footprints(db)
      .whereNot('state', 'DELETED')
      .whereNotNull('placement');
    if (options.except) query.whereNot('uid', options.except);
    return (await query).map(row => this.footprintOf(row));
  }

  /** The provider each placed live resource runs on, by `namespace/name`. */
  async placedProviders(): Promise<Map<string, string>> {
    const rows = await this.db<ResourceRow>('resources')
      .whereNot('state', 'DELETED')
      .whereNotNull('placement')
      .select('namespace', 'name', 'placement');
    return new Map(
      rows.map(row => [
        `${row.namespace}/${row.name}`,
        JSON.parse(row.placement!).provider as string,
      ]),
    );
  }

  /** Every live resource, placed or not. */
  async liveFootprints(): Promise<ResourceFootprint[]> {
    const rows = await this.footprints().whereNot('state', 'DELETED');
    return rows.map(row => this.footprintOf(row));
  }

  /**
   * The incarnations with these uids, whatever their state; `restrict` (the permission
   * framework's conditions) keeps only those the caller may see.
   */
  async footprintsOf(
    uids: string[],
    restrict?: (qb: Knex.QueryBuilder) => void,
  ): Promise<ResourceFootprint[]> {
    const query = this.footprints().whereIn('uid', uids);
    if (restrict) query.where(restrict);
    return (await query).map(row => this.footprintOf(row));
  }

  /**
   * The hours each incarnation (or only `uid`) spent in one of `states` within the window
   * [from, to), ISO instants, from its transitions; a stay not ended by `to` counts until it.
   */
  async hoursIn(
    states: ReadonlySet<string>,
    window: { from: string; to: string },
    uid?: string,
  ): Promise<Map<string, number>> {
    const rows = await this.db('resource_transitions')
      .modify(q => {
        if (uid) q.where('resource_uid', uid);
      })
      .where('created_at', '<', window.to)
      .orderBy([{ column: 'resource_uid' }, { column: 'id' }])
      .select('resource_uid', 'to_state', 'created_at');
    const from = Date.parse(window.from);
    const to = Date.parse(window.to);
    const hours = new Map<string, number>();
    const add = (id: string, start: number, end: number) => {
      const s = Math.max(start, from);
      const e = Math.min(end, to);
      if (e > s) hours.set(id, (hours.get(id) ?? 0) + (e - s) / 3_600_000);
    };
    const open = new Map<string, number>();
    for (const row of rows) {
      const at = Date.parse(readTimestamp(row.created_at));
      const since = open.get(row.resource_uid);
      if (since !== undefined) add(row.resource_uid, since, at);
      open.delete(row.resource_uid);
      if (states.has(row.to_state)) open.set(row.resource_uid, at);
    }
    for (const [id, since] of open) add(id, since, to);
    return hours;
  }

  /** When each of these operations first moved its resource to `state`, by operation id. */
  async firstReached(
    state: ResourceState,
    operationIds: string[],
  ): Promise<Map<string, string>> {
    const reached = new Map<string, string>();
    for (let i = 0; i < operationIds.length; i += 500) {
      const rows = await this.db('resource_transitions')
        .whereIn('operation_id', operationIds.slice(i, i + 500))
        .where('to_state', state)
        .groupBy('operation_id')
        .select('operation_id')
        .min({ at: 'created_at' });
      for (const row of rows as { operation_id: string; at: unknown }[]) {
        reached.set(row.operation_id, readTimestamp(row.at as string));
      }
    }
    return reached;
  }

  // ── read models for the reconciler

  /**
   * The resources the reconciler may have work on, but those with an operation in flight
   * (`inFlight`: their uids, the operations store's subquery): PENDING and DELETING ones, and
   * READY, DEGRADED or FAILED ones whose desired generation is ahead of the one running and
   * did not fail. With everything converged this reads nothing (resources_changed_idx).
   */
  async toReconcile(
    inFlight: Knex.QueryBuilder,
  ): Promise<ReconcileCandidate[]> {
    const rows = await this.db<ReconcileRow>('resources')
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
      .whereNotIn('uid', inFlight);
    return rows.map(row => ({
      ...toResource(row),
      ...(row.failed_generation !== null && row.failed_generation !== undefined
        ? { failedGeneration: Number(row.failed_generation) }
        : {}),
      ...(row.desired_action && row.desired_indexed_at
        ? {
            desiredBy: {
              action: row.desired_action,
              indexedAt: readTimestamp(row.desired_indexed_at),
            },
          }
        : {}),
    }));
  }

  /** For each of `refs`, the live resources that depend on it (`dependsOn`), by ref. */
  async dependentsOf(refs: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (refs.length === 0) return result;
    const wanted = new Set(refs);
    const rows = await this.db<ResourceRow>('resources')
      .whereNot('state', 'DELETED')
      .andWhere(qb => {
        for (const ref of wanted) qb.orWhere('spec', 'like', `%"${ref}"%`);
      })
      .select('namespace', 'name', 'spec');
    for (const row of rows) {
      const { dependsOn = [] } = readJson<{ dependsOn?: string[] }>(
        row.spec,
        {},
      );
      for (const dep of dependsOn.filter(d => wanted.has(d))) {
        result.set(dep, [
          ...(result.get(dep) ?? []),
          stringifyResourceRef(row),
        ]);
      }
    }
    return result;
  }

  /**
   * Up to `limit` READY or DEGRADED resources with a placement, but those with an operation in
   * flight (`inFlight`, as for {@link toReconcile}), in uid order: those after `uids.after`,
   * or from the first up to `uids.through` (included).
   */
  async toCheckForDrift(
    uids: { after: string } | { through: string },
    limit: number,
    inFlight: Knex.QueryBuilder,
  ): Promise<ResourceRecord[]> {
    const rows = await this.db<ResourceRow>('resources')
      .whereIn('state', ['READY', 'DEGRADED'])
      .whereNotNull('placement')
      .andWhere(q =>
        'after' in uids
          ? q.where('uid', '>', uids.after)
          : q.where('uid', '<=', uids.through),
      )
      .whereNotIn('uid', inFlight)
      .orderBy('uid', 'asc')
      .limit(limit);
    return rows.map(toResource);
  }

  /**
   * Runs `start` in a transaction (the caller's, when given one) in which the resource's row
   * is still as `seen` read it (state, generation, observed generation), locked until the
   * commit on PostgreSQL: its result, or `undefined` when the resource moved on.
   */
  async whileUnchanged<T>(
    seen: ResourceRecord,
    start: (trx: Knex.Transaction) => Promise<T>,
    trx?: Knex.Transaction,
  ): Promise<T | undefined> {
    if (!trx) {
      return this.db.transaction(tx => this.whileUnchanged(seen, start, tx));
    }
    const row = await trx('resources')
      .where({
        uid: seen.uid,
        state: seen.status.state,
        generation: seen.status.generation,
        observed_generation: seen.status.observedGeneration,
      })
      .modify(q => {
        if (isPostgres(this.db)) q.forUpdate();
      })
      .first('uid');
    return row ? start(trx) : undefined;
  }
}

/** A resource the reconciler may have work on, with what its row says of its generations. */
export interface ReconcileCandidate extends ResourceRecord {
  /** The last generation whose operation failed (not tried again until it changes). */
  failedGeneration?: number;
  /**
   * The request whose commit made the desired generation (the commit's Action trailer, e.g.
   * `resource.scale`), and when the index took it in.
   */
  desiredBy?: { action: string; indexedAt: string };
}

type ReconcileRow = ResourceRow & {
  failed_generation: string | number | null;
  desired_action: string | null;
  desired_indexed_at: Date | string | null;
};

/** What scheduling and governance read of a resource: what it is, whose, where it runs. */
export interface ResourceFootprint {
  uid: string;
  namespace: string;
  name: string;
  product: string;
  owner: string;
  tier: string;
  cell: string;
  params: Record<string, unknown>;
  labels: Record<string, string>;
  /** The provider its spec pins it to. */
  pinnedProvider?: string;
  /** Where it runs, once placed. */
  placement?: { cell: string; provider: string; cluster: string };
}
