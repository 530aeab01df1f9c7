import {
  ResourceSpec,
  ResourceState,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { readTimestamp } from '../database/time';
import { chunked, isPostgres, readJson } from '../database/util';
import { ResourceRow, toResource, ResourceRecord } from './resourceRows';

/**
 * What other parts of the control plane ask of the `resources` table: the read models of
 * scheduling, governance and the reconciler. {@link ResourceStore} (the table's owner) is
 * these plus the writes; nobody else queries the table.
 */
export abstract class ResourceReadModels {
  constructor(protected readonly db: Knex) {}

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

  /**
   * The provider each placed live resource runs on, by `namespace/name`: of every one, or of
   * those of `only`.
   */
  async placedProviders(
    only?: { namespace: string; name: string }[],
  ): Promise<Map<string, string>> {
    const query = this.db<ResourceRow>('resources')
      .whereNot('state', 'DELETED')
      .whereNotNull('placement')
      .select('namespace', 'name', 'placement');
    if (only) {
      query.where(q => {
        for (const { namespace, name } of only) {
          q.orWhere(w => w.where({ namespace, name }));
        }
      });
    }
    const rows = only?.length === 0 ? [] : await query;
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
    for (const part of chunked(operationIds, 500)) {
      const rows = await this.db('resource_transitions')
        .whereIn('operation_id', part)
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
