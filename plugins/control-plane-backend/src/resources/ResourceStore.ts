import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  canTransition,
  Condition,
  ManifestOf,
  Resource,
  ResourceState,
  ResourceTransition,
  parseResourceRef,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { now, readTimestamp } from '../database/time';
import { chunked, cursors } from '../database/util';
import { AuditEntry, AuditLog } from '../audit/AuditLog';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { ResourceReadModels } from './ResourceReadModels';
import {
  ResourceFilter,
  ResourceRecord,
  ResourceRow,
  toResource,
  TransitionCause,
} from './resourceRows';

export type { ResourceFilter, ResourceRecord, ResourceRow, TransitionCause };
export { toResource };
export type {
  ReconcileCandidate,
  ResourceFootprint,
} from './ResourceReadModels';

/** The audit event of a resource's transition. */
function transitionAudit(
  ref: string,
  from: ResourceState | undefined,
  to: ResourceState,
  cause: TransitionCause,
): AuditEntry {
  return {
    actor: cause.actor,
    action: 'resource.transition',
    target: ref,
    outcome: 'succeeded',
    reason: `${from ?? '∅'} → ${to}: ${cause.reason}`,
  };
}

/**
 * Observed state of resources. Every state change is a compare-and-set on the current state,
 * recorded with its cause in `resource_transitions` and as an event, in one transaction.
 */
export class ResourceStore extends ResourceReadModels {
  constructor(
    db: Knex,
    private readonly events: ResourceEventStore,
    private readonly audit: AuditLog,
  ) {
    super(db);
  }

  /** {@link insertMany} of one resource; answers its uid. */
  async insert(
    trx: Knex.Transaction,
    manifest: ManifestOf<'Resource'>,
    desired: { generation: number; commit: string; action?: string },
    cause: TransitionCause,
  ): Promise<string> {
    const [uid] = await this.insertMany(trx, [{ manifest, desired, cause }]);
    return uid;
  }

  /**
   * Records new incarnations of desired resources, each PENDING with its first transition
   * and event, a few statements for them all, in the caller's transaction; answers their
   * uids, in order.
   */
  async insertMany(
    trx: Knex.Transaction,
    items: {
      manifest: ManifestOf<'Resource'>;
      desired: { generation: number; commit: string; action?: string };
      cause: TransitionCause;
    }[],
    /** Where their audit events go, for the caller to append (default: appended here). */
    audit?: AuditEntry[],
  ): Promise<string[]> {
    const at = now();
    const made = items.map(item => ({
      ...item,
      uid: randomUUID(),
      ref: stringifyResourceRef(item.manifest.metadata),
    }));
    for (const part of chunked(made, 40)) {
      await trx('resources').insert(
        part.map(({ uid, manifest, desired, cause }) => ({
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
        })),
      );
    }
    for (const part of chunked(made, 100)) {
      await trx('resource_transitions').insert(
        part.map(({ uid, cause }) => ({
          resource_uid: uid,
          from_state: null,
          to_state: 'PENDING',
          operation_id: cause.operationId ?? null,
          actor: cause.actor,
          reason: cause.reason,
          created_at: at,
        })),
      );
    }
    await this.events.appendMany(
      made.map(({ ref, uid, cause }) => ({
        ref,
        uid,
        type: 'state.changed',
        state: 'PENDING' as const,
        message: cause.reason,
      })),
      trx,
    );
    const entries = made.map(({ ref, cause }) =>
      transitionAudit(ref, undefined, 'PENDING', cause),
    );
    if (audit) audit.push(...entries);
    else await this.audit.appendMany(entries, trx);
    return made.map(m => m.uid);
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

  /** Live resources with these refs (a few hundred per query). */
  async getLiveMany(
    refs: string[],
    db: Knex | Knex.Transaction = this.db,
  ): Promise<ResourceRecord[]> {
    const found: ResourceRecord[] = [];
    for (const part of chunked(refs.map(parseResourceRef), 200)) {
      const rows = await db<ResourceRow>('resources')
        .whereNot('state', 'DELETED')
        .andWhere(qb => {
          for (const { namespace, name } of part) {
            qb.orWhere(inner => inner.where({ namespace, name }));
          }
        });
      found.push(...rows.map(toResource));
    }
    return found;
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
    await this.audit.append(
      transitionAudit(stringifyResourceRef(row!), from, to, cause),
      trx,
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
      /** Why the resource is as it is (`status.reason`), without a transition. */
      reason?: string;
    },
  ): Promise<void> {
    const update: Record<string, unknown> = { updated_at: now() };
    if (status.reason !== undefined) update.state_reason = status.reason;
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
}
