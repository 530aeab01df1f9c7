import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Operation,
  OperationEvent,
  OperationState,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { now, readTimestamp } from '../database/time';
import { chunked, isUniqueViolation, readJson } from '../database/util';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { newTraceId, traceNewOperation } from '../observability/tracing';
import { streamMessage, timelineData, timelineMessage } from './timeline';

export interface NewOperation {
  resourceUid: string;
  resourceRef: string;
  type: Operation['type'];
  params: Record<string, unknown>;
  actor: string;
  reason?: string;
  traceId?: string;
  /** The desired generation the operation brings about, when it changed the spec. */
  targetGeneration?: number;
}

type Row = {
  id: string;
  resource_uid: string;
  resource_ref: string;
  type: string;
  state: string;
  params: string;
  actor: string;
  reason: string | null;
  trace_id: string | null;
  error: string | null;
  cancel_requested: boolean | number;
  created_at: Date | string;
  updated_at: Date | string;
};

/** What {@link OperationStore.record} needs of an operation's row. */
type Recorded = Pick<Row, 'resource_ref' | 'resource_uid' | 'type'>;
const RECORDED: Array<keyof Recorded> = [
  'resource_ref',
  'resource_uid',
  'type',
];

/** Operations on resources and their timelines. */
export class OperationStore {
  constructor(
    private readonly db: Knex,
    private readonly events: ResourceEventStore,
  ) {}

  /**
   * Records an accepted operation, pending until an engine runs it. A resource has at most
   * one operation in flight: a second one is refused with the first one named.
   */
  async create(op: NewOperation, trx?: Knex.Transaction): Promise<string> {
    if (!trx) {
      try {
        return await this.db.transaction(tx => this.create(op, tx));
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const active = await this.db('operations')
          .where({ resource_uid: op.resourceUid })
          .whereIn('state', ['pending', 'running', 'compensating'])
          .first('id', 'type');
        throw Object.assign(
          new ConflictError(
            `${op.resourceRef} already has an operation in flight${
              active ? `: ${active.type} ${active.id}` : ''
            }; wait for it or cancel it`,
          ),
          { cause: error },
        );
      }
    }
    const id = randomUUID();
    const at = now();
    // The operation's trace: the request's (or a new one), with a span recording its acceptance.
    const traced = op.traceId ? {} : traceNewOperation({ ...op, id });
    await trx('operations').insert({
      id,
      resource_uid: op.resourceUid,
      resource_ref: op.resourceRef,
      type: op.type,
      state: 'pending',
      params: JSON.stringify(op.params),
      actor: op.actor,
      reason: op.reason ?? null,
      // W3C trace id format; the engine hands it to every driver call.
      trace_id: op.traceId ?? traced.traceId ?? newTraceId(),
      span_id: traced.spanId ?? null,
      target_generation: op.targetGeneration ?? null,
      next_run_at: at,
      created_at: at,
      updated_at: at,
    });
    await this.events.append(
      {
        ref: op.resourceRef,
        uid: op.resourceUid,
        type: 'operation.accepted',
        operationId: id,
        message: `${op.type} requested by ${op.actor}`,
        data: op.params,
      },
      trx,
    );
    return id;
  }

  /** Throws ConflictError naming the operation in flight on a resource, if any. */
  async assertNoneActive(resourceUid: string, ref: string): Promise<void> {
    const active = await this.db('operations')
      .where({ resource_uid: resourceUid })
      .whereIn('state', ['pending', 'running', 'compensating'])
      .first('id', 'type');
    if (active) {
      throw new ConflictError(
        `${ref} already has an operation in flight: ${active.type} ${active.id}; wait for it or cancel it`,
      );
    }
  }

  /**
   * Records an event of the operation (the row its update returned) on its resource's
   * stream, and so its timeline; returns the resource's ref, to announce after the commit.
   */
  private async record(
    trx: Knex.Transaction,
    id: string,
    op: Recorded,
    event: { type: string; message: string },
  ): Promise<string> {
    await this.events.append(
      {
        ref: op.resource_ref,
        uid: op.resource_uid,
        type: event.type,
        operationId: id,
        message: streamMessage(op.type, event.message),
      },
      trx,
    );
    return op.resource_ref;
  }

  async get(id: string): Promise<Operation> {
    const row = await this.db<Row>('operations').where({ id }).first();
    if (!row) {
      throw new NotFoundError(`No operation ${id}`);
    }
    const [events, steps] = await Promise.all([
      // its timeline: the events of the resource's stream that carry its id
      this.events.ofOperation(id),
      this.db('operation_steps')
        .where({ operation_id: id })
        .orderBy('position', 'asc'),
    ]);
    return this.toOperation(row, events, steps);
  }

  /**
   * The state of each of these operations (the ones that exist) and when it was accepted,
   * for outcomes measured over many operations.
   */
  async statesOf(
    ids: string[],
  ): Promise<Map<string, { state: string; createdAt: string }>> {
    const states = new Map<string, { state: string; createdAt: string }>();
    for (const part of chunked(ids, 500)) {
      const rows = await this.db('operations')
        .whereIn('id', part)
        .select('id', 'state', 'created_at');
      for (const row of rows) {
        states.set(row.id, {
          state: row.state,
          createdAt: readTimestamp(row.created_at),
        });
      }
    }
    return states;
  }

  /**
   * The uid of the resource (the incarnation) an operation acts on; undefined when there is
   * no such operation.
   */
  async resourceUidOf(operationId: string): Promise<string | undefined> {
    const row = await this.db('operations')
      .where({ id: operationId })
      .first('resource_uid');
    return row?.resource_uid;
  }

  /**
   * Asks the engine to stop an operation in flight and undo what it did. Refused (409) for
   * an operation that already ended.
   */
  async requestCancel(id: string, actor: string): Promise<void> {
    const ref = await this.db.transaction(async trx => {
      const [changed]: Recorded[] = await trx('operations')
        .where({ id })
        .whereIn('state', ['pending', 'running'])
        .update({ cancel_requested: true, next_run_at: now() })
        .returning(RECORDED);
      if (!changed) return undefined;
      return this.record(trx, id, changed, {
        type: 'operation.cancel-requested',
        message: `cancel requested by ${actor}`,
      });
    });
    if (!ref) {
      const op = await this.get(id);
      throw new ConflictError(
        `operation ${id} is ${op.state}; only a pending or running one can be cancelled`,
      );
    }
    this.events.announce([ref]);
  }

  /** Resumes the compensation of an operation parked as needs-attention. */
  async retryParked(id: string, actor: string): Promise<void> {
    const ref = await this.db.transaction(async trx => {
      const [changed]: Recorded[] = await trx('operations')
        .where({ id, state: 'needs-attention' })
        .update({
          state: 'compensating',
          next_run_at: now(),
          lease_owner: null,
          lease_until: null,
        })
        .returning(RECORDED);
      if (!changed) {
        const row = await trx('operations').where({ id }).first('state');
        if (!row) throw new NotFoundError(`No operation ${id}`);
        throw new ConflictError(
          `operation ${id} is ${row.state}; only one that needs attention can be retried`,
        );
      }
      await trx('operation_steps')
        .where({ operation_id: id, state: 'compensation-failed' })
        .update({ state: 'compensating', compensation_attempts: 0 });
      return this.record(trx, id, changed, {
        type: 'operation.retried',
        message: `compensation resumed by ${actor}`,
      });
    });
    this.events.announce([ref]);
  }

  /** The operations of a resource incarnation, newest first, without timelines. */
  async listForResource(resourceUid: string, limit = 50): Promise<Operation[]> {
    const rows = await this.db<Row>('operations')
      .where({ resource_uid: resourceUid })
      .orderBy('created_at', 'desc')
      .limit(limit);
    return rows.map(row => this.toOperation(row, []));
  }

  private toOperation(row: Row, events: any[], steps: any[] = []): Operation {
    return {
      id: row.id,
      type: row.type as Operation['type'],
      resourceRef: row.resource_ref,
      state: row.state as OperationState,
      params: readJson(row.params, {}),
      actor: row.actor,
      ...(row.reason ? { reason: row.reason } : {}),
      ...(row.trace_id ? { traceId: row.trace_id } : {}),
      ...(row.error ? { error: row.error } : {}),
      cancelRequested: Boolean(row.cancel_requested),
      createdAt: readTimestamp(row.created_at),
      updatedAt: readTimestamp(row.updated_at),
      steps: steps.map(step => ({
        name: step.name,
        state: step.state,
        attempts: step.attempts,
        compensationAttempts: step.compensation_attempts,
        ...(step.error ? { error: step.error } : {}),
        ...(step.started_at
          ? { startedAt: readTimestamp(step.started_at) }
          : {}),
        ...(step.finished_at
          ? { finishedAt: readTimestamp(step.finished_at) }
          : {}),
      })),
      timeline: events.map((e): OperationEvent => {
        const data = timelineData(
          e.data ? readJson(e.data, {}) : undefined,
          e.step,
        );
        return {
          id: Number(e.id),
          type: e.type,
          ...(e.step ? { step: e.step } : {}),
          message: timelineMessage(row.type, e.message, e.step),
          ...(data ? { data } : {}),
          at: readTimestamp(e.created_at),
        };
      }),
    };
  }

  // ── read model for the reconciler

  /**
   * The uids of resources with an operation in flight, as a subquery that runs as part of
   * another store's read: what the reconciler leaves alone.
   */
  inFlightResourceUids(): Knex.QueryBuilder {
    return this.db('operations')
      .whereIn('state', ['pending', 'running', 'compensating'])
      .select('resource_uid');
  }
}
