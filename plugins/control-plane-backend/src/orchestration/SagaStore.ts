import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { now } from '../database/time';
import { isPostgres, readJson } from '../database/util';

/** An operation claimed by a worker, with the fencing token its writes must carry. */
export interface ClaimedOperation {
  id: string;
  type: string;
  resourceUid: string;
  resourceRef: string;
  state: 'running' | 'compensating';
  params: Record<string, unknown>;
  actor: string;
  traceId?: string;
  /** The span that accepted the operation: the parent of its step spans. */
  spanId?: string;
  targetGeneration?: number;
  cancelRequested: boolean;
  fencingToken: number;
  /** The claim recorded the start of the first step (see {@link SagaStore.claim}). */
  begun?: boolean;
}

function toClaimed(row: any): ClaimedOperation {
  return {
    id: row.id,
    type: row.type,
    resourceUid: row.resource_uid,
    resourceRef: row.resource_ref,
    state: row.state,
    params: readJson(row.params, {}),
    actor: row.actor,
    ...(row.trace_id ? { traceId: row.trace_id } : {}),
    ...(row.span_id ? { spanId: row.span_id } : {}),
    ...(row.target_generation
      ? { targetGeneration: Number(row.target_generation) }
      : {}),
    cancelRequested: Boolean(row.cancel_requested),
    fencingToken: Number(row.fencing_token),
  };
}

/** The record of one step. */
export interface StepRecord {
  position: number;
  name: string;
  state:
    | 'running'
    | 'succeeded'
    | 'failed'
    | 'compensating'
    | 'compensated'
    | 'compensation-failed';
  attempts: number;
  compensationAttempts: number;
  result?: unknown;
  error?: string;
}

/** Thrown when a worker's lease was taken over: its writes are refused. */
export class LeaseLostError extends Error {
  constructor(operationId: string) {
    super(`lost the lease of operation ${operationId}`);
    this.name = 'LeaseLostError';
  }
}

const ACTIVE = ['pending', 'running', 'compensating'];

/**
 * The persistence of the saga engine: claiming runnable operations with a lease, and fenced
 * writes. A worker claims an operation by bumping its fencing token; every later write of
 * that worker is a compare-and-set on the token, so a worker that paused past its lease
 * (while another took over) can no longer change anything.
 */
export class SagaStore {
  constructor(private readonly db: Knex, private readonly lease: Duration) {}

  /**
   * Claims up to `limit` runnable operations for `worker`, leaving out those it runs already
   * (`running`): a busy worker whose heartbeat came late does not take its own runs over.
   *
   * On SQLite, where a commit costs more than a statement, `begin` records the start of a
   * fresh operation's first step in the claim's own transaction (so the claim and that record
   * are one commit): it is called for each claimed operation that was pending (never run, so
   * no step of it exists) and not asked to cancel. It runs under a savepoint: when it throws,
   * the claim stands without it and the run records the start itself (and meets the error
   * there, with the engine's backoff). On PostgreSQL the claim is one statement for a whole
   * batch, and the start one statement of its own (see {@link advance}): `begin` is not used.
   */
  async claim(
    worker: string,
    limit: number,
    running: string[] = [],
    begin?: (trx: Knex.Transaction, op: ClaimedOperation) => Promise<boolean>,
  ): Promise<ClaimedOperation[]> {
    const at = now();
    const leaseUntil = DateTime.utc().plus(this.lease).toISO();
    const lease = {
      lease_owner: worker,
      lease_until: leaseUntil,
      updated_at: at,
    };
    const runnable = (qb: Knex.QueryBuilder) =>
      qb
        .whereIn('state', ACTIVE)
        .andWhere('next_run_at', '<=', at)
        .andWhere(b =>
          b.whereNull('lease_until').orWhere('lease_until', '<', at),
        )
        .modify(b => {
          if (running.length > 0) b.whereNotIn('id', running);
        });
    if (isPostgres(this.db)) {
      // One statement: the runnable rows nobody else is claiming, locked and leased.
      const rows = await this.db('operations')
        .whereIn(
          'id',
          this.db('operations')
            .select('id')
            .where(runnable)
            .orderBy('next_run_at', 'asc')
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .update({
          ...lease,
          fencing_token: this.db.raw('fencing_token + 1'),
          state: this.db.raw(
            `CASE WHEN state = 'pending' THEN 'running' ELSE state END`,
          ),
        })
        .returning('*');
      return rows.map(toClaimed);
    }
    // SQLite has one writer: claim candidates one by one with a compare-and-set.
    const candidates = await this.db('operations')
      .where(runnable)
      .orderBy('next_run_at', 'asc')
      .limit(limit);
    const claimed: ClaimedOperation[] = [];
    for (const candidate of candidates) {
      const op = await this.db.transaction(async trx => {
        const changed = await trx('operations')
          .where({ id: candidate.id, fencing_token: candidate.fencing_token })
          .andWhere(runnable)
          .update({
            ...lease,
            fencing_token: Number(candidate.fencing_token) + 1,
            state: candidate.state === 'pending' ? 'running' : candidate.state,
          });
        if (changed !== 1) return undefined;
        const claim = toClaimed(
          await trx('operations').where({ id: candidate.id }).first(),
        );
        if (begin && candidate.state === 'pending' && !claim.cancelRequested) {
          try {
            claim.begun = await trx.transaction(inner => begin(inner, claim));
          } catch {
            claim.begun = false;
          }
        }
        return claim;
      });
      if (op) claimed.push(op);
    }
    return claimed;
  }

  /** Whether someone asked to cancel the operation. */
  async cancelRequested(operationId: string): Promise<boolean> {
    const row = await this.db('operations')
      .where({ id: operationId })
      .first('cancel_requested');
    return Boolean(row?.cancel_requested);
  }

  /** Extends the lease; false when it was lost. */
  async heartbeat(op: ClaimedOperation): Promise<boolean> {
    const changed = await this.db('operations')
      .where({ id: op.id, fencing_token: op.fencingToken })
      .update({ lease_until: DateTime.utc().plus(this.lease).toISO() });
    return changed === 1;
  }

  /**
   * Runs `fn` in a transaction that first proves the worker still holds the operation
   * (and applies `update` to it); throws LeaseLostError otherwise.
   */
  async fenced<T>(
    op: ClaimedOperation,
    update: Record<string, unknown>,
    fn: (trx: Knex.Transaction) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction(async trx => {
      const changed = await trx('operations')
        .where({ id: op.id, fencing_token: op.fencingToken })
        .update({ ...update, updated_at: now() });
      if (changed !== 1) {
        throw new LeaseLostError(op.id);
      }
      return fn(trx);
    });
  }

  /**
   * Records a step's success, the start of the next step and their events atomically, every
   * part of it conditional on the fence: when the worker lost the lease, nothing is written
   * and this throws LeaseLostError. It is the engine's hot path, so it bypasses the query
   * builder for statements the database keeps prepared:
   *
   * - PostgreSQL: one statement (data-modifying CTEs, atomic without a transaction), named,
   *   so the server plans it once per connection (planning it each time cost more than
   *   running it);
   * - SQLite: one immediate transaction on the better-sqlite3 connection, run synchronously
   *   with statements prepared once per connection (the write lock is taken at BEGIN, so the
   *   fence checked first holds to the commit).
   */
  async advance(
    op: ClaimedOperation,
    /** The step that succeeded; none when this records the first start of a run. */
    finished: { position: number; result: unknown } | undefined,
    next: { position: number; name: string },
    events: AdvanceEvents,
  ): Promise<void> {
    const { client } = this.db;
    const connection = await client.acquireConnection();
    try {
      const fenced = isPostgres(this.db)
        ? await advancePostgres(connection, op, finished, next, events)
        : advanceSqlite(connection, op, finished, next, events);
      if (!fenced) throw new LeaseLostError(op.id);
    } finally {
      await client.releaseConnection(connection);
    }
  }

  async steps(
    operationId: string,
    db: Knex | Knex.Transaction = this.db,
  ): Promise<StepRecord[]> {
    const rows = await db('operation_steps')
      .where({ operation_id: operationId })
      .orderBy('position', 'asc');
    return rows.map(row => ({
      position: row.position,
      name: row.name,
      state: row.state,
      attempts: row.attempts,
      compensationAttempts: row.compensation_attempts,
      ...(row.result ? { result: JSON.parse(row.result) } : {}),
      ...(row.error ? { error: row.error } : {}),
    }));
  }

  /**
   * Records the start (or a new attempt) of a step in one statement: an insert, or on a
   * step recorded before (a retry, a resumed run) a new attempt of it.
   */
  async startStep(
    trx: Knex.Transaction,
    operationId: string,
    position: number,
    name: string,
  ) {
    const at = now();
    await trx('operation_steps')
      .insert({
        operation_id: operationId,
        position,
        name,
        state: 'running',
        attempts: 1,
        started_at: at,
      })
      .onConflict(['operation_id', 'position'])
      .merge({
        state: 'running',
        attempts: trx.raw('operation_steps.attempts + 1'),
        started_at: at,
        error: null,
      });
  }

  async finishStep(
    trx: Knex.Transaction,
    operationId: string,
    position: number,
    outcome: { state: StepRecord['state']; result?: unknown; error?: string },
  ) {
    await trx('operation_steps')
      .where({ operation_id: operationId, position })
      .update({
        state: outcome.state,
        ...(outcome.result !== undefined
          ? { result: JSON.stringify(outcome.result) }
          : {}),
        error: outcome.error ?? null,
        finished_at: now(),
      });
  }

  async markCompensation(
    trx: Knex.Transaction,
    operationId: string,
    position: number,
    state: 'compensating' | 'compensated' | 'compensation-failed',
    error?: string,
  ) {
    await trx('operation_steps')
      .where({ operation_id: operationId, position })
      .update({
        state,
        ...(state === 'compensating'
          ? { compensation_attempts: trx.raw('compensation_attempts + 1') }
          : {}),
        error: error ?? null,
        finished_at: now(),
      });
  }
}

/** The events {@link SagaStore.advance} records: the timeline's and the resource stream's. */
export interface AdvanceEvents {
  timeline: Array<{
    type: string;
    step?: string;
    message: string;
    data?: Record<string, unknown>;
  }>;
  stream: Array<{
    type: string;
    message: string;
    data?: Record<string, unknown>;
  }>;
}

const json = (data?: Record<string, unknown>) =>
  data ? JSON.stringify(data) : null;

/** {@link SagaStore.advance} on PostgreSQL: true when the worker held the fence. */
async function advancePostgres(
  connection: any,
  op: ClaimedOperation,
  finished: { position: number; result: unknown } | undefined,
  next: { position: number; name: string },
  events: AdvanceEvents,
): Promise<boolean> {
  const at = now();
  const values: unknown[] = [
    at,
    op.id,
    op.fencingToken,
    JSON.stringify(finished?.result ?? null),
    finished?.position ?? -1, // none: the update matches no step
    next.position,
    next.name,
    op.resourceRef,
    op.resourceUid,
  ];
  const rows = (width: number, items: unknown[][]) =>
    items
      .map(item => {
        const start = values.length;
        values.push(...item);
        return `(${Array.from(
          { length: width },
          (_, i) => `$${start + i + 1}::text`,
        ).join(', ')})`;
      })
      .join(', ');
  const timeline = rows(
    4,
    events.timeline.map(e => [e.type, e.step ?? null, e.message, json(e.data)]),
  );
  const stream = rows(
    3,
    events.stream.map(e => [e.type, e.message, json(e.data)]),
  );
  const text = `WITH fence AS (
        UPDATE operations SET updated_at = $1::timestamptz
        WHERE id = $2 AND fencing_token = $3 RETURNING id
      ), finished AS (
        UPDATE operation_steps
        SET state = 'succeeded', result = $4, error = NULL, finished_at = $1::timestamptz
        WHERE operation_id = (SELECT id FROM fence) AND position = $5::integer
        RETURNING 1
      ), started AS (
        INSERT INTO operation_steps (operation_id, position, name, state, attempts, started_at)
        SELECT id, $6::integer, $7::text, 'running', 1, $1::timestamptz FROM fence
        ON CONFLICT (operation_id, position) DO UPDATE
        SET state = 'running', attempts = operation_steps.attempts + 1,
            started_at = excluded.started_at, error = NULL
        RETURNING 1
      ), timeline AS (
        INSERT INTO operation_events (operation_id, type, step, message, data, created_at)
        SELECT fence.id, e.type, e.step, e.message, e.data, $1::timestamptz
        FROM fence, (VALUES ${timeline}) AS e(type, step, message, data)
        RETURNING 1
      ), stream AS (
        INSERT INTO resource_events (resource_ref, resource_uid, type, message, operation_id, data, created_at)
        SELECT $8::text, $9::text, e.type, e.message, fence.id, e.data, $1::timestamptz
        FROM fence, (VALUES ${stream}) AS e(type, message, data)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM fence) AS fenced`;
  // A named statement: PostgreSQL parses and plans it once per connection.
  const name = `idp_saga_advance_${events.timeline.length}_${events.stream.length}`;
  const result = await connection.query({ name, text, values });
  return Number(result.rows[0].fenced) === 1;
}

/** The prepared statements of {@link advanceSqlite}, per better-sqlite3 connection. */
const sqliteAdvancers = new WeakMap<object, (args: SqliteAdvance) => boolean>();

interface SqliteAdvance {
  at: string;
  op: ClaimedOperation;
  finished?: { position: number; result: unknown };
  next: { position: number; name: string };
  events: AdvanceEvents;
}

function sqliteAdvancer(db: any): (args: SqliteAdvance) => boolean {
  const known = sqliteAdvancers.get(db);
  if (known) return known;
  const fence = db.prepare(
    'UPDATE operations SET updated_at = ? WHERE id = ? AND fencing_token = ?',
  );
  // A step's end is fenced by its own row (no write to the operation): the update matches
  // only while the worker holds the fencing token.
  const finish = db.prepare(
    `UPDATE operation_steps SET state = 'succeeded', result = ?, error = NULL, finished_at = ?
     WHERE operation_id = ? AND position = ?
     AND EXISTS (SELECT 1 FROM operations WHERE id = ? AND fencing_token = ?)`,
  );
  const start = db.prepare(
    `INSERT INTO operation_steps (operation_id, position, name, state, attempts, started_at)
     VALUES (?, ?, ?, 'running', 1, ?)
     ON CONFLICT (operation_id, position) DO UPDATE
     SET state = 'running', attempts = operation_steps.attempts + 1,
         started_at = excluded.started_at, error = NULL`,
  );
  const timeline = db.prepare(
    `INSERT INTO operation_events (operation_id, type, step, message, data, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const stream = db.prepare(
    `INSERT INTO resource_events (resource_ref, resource_uid, type, message, operation_id, data, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const run = db.transaction(
    ({ at, op, finished, next, events }: SqliteAdvance): boolean => {
      const held = finished
        ? finish.run(
            JSON.stringify(finished.result ?? null),
            at,
            op.id,
            finished.position,
            op.id,
            op.fencingToken,
          ).changes === 1
        : fence.run(at, op.id, op.fencingToken).changes === 1;
      if (!held) return false;
      start.run(op.id, next.position, next.name, at);
      for (const e of events.timeline) {
        timeline.run(
          op.id,
          e.type,
          e.step ?? null,
          e.message,
          json(e.data),
          at,
        );
      }
      for (const e of events.stream) {
        stream.run(
          op.resourceRef,
          op.resourceUid,
          e.type,
          e.message,
          op.id,
          json(e.data),
          at,
        );
      }
      return true;
    },
  );
  const advancer = (args: SqliteAdvance) => run.immediate(args);
  sqliteAdvancers.set(db, advancer);
  return advancer;
}

/** {@link SagaStore.advance} on SQLite: true when the worker held the fence. */
function advanceSqlite(
  connection: any,
  op: ClaimedOperation,
  finished: { position: number; result: unknown } | undefined,
  next: { position: number; name: string },
  events: AdvanceEvents,
): boolean {
  return sqliteAdvancer(connection)({ at: now(), op, finished, next, events });
}
