import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { now } from '../database/time';
import { isPostgres, readJson } from '../database/util';
import * as statements from './statements';
import { EngineEvent, FinishedStep, NextStep } from './statements';

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
   * The claim is one statement for the whole batch. On SQLite, where a commit costs more
   * than a statement, `begin` records the start of a fresh operation's first step in the
   * claim's own transaction (so the claim and that record are one commit): it is called for
   * each operation claimed for the first time (fencing token 1: it was pending, so no step of
   * it exists) and not asked to cancel. It runs under a savepoint: when it throws, the claim
   * stands without it and the run records the start itself (and meets the error there, with
   * the engine's backoff). On PostgreSQL the start is one statement of its own (see
   * {@link advance}), cheaper there than a transaction around both: `begin` is not used.
   */
  async claim(
    worker: string,
    limit: number,
    running: string[] = [],
    begin?: (trx: Knex.Transaction, op: ClaimedOperation) => Promise<boolean>,
  ): Promise<ClaimedOperation[]> {
    const until = DateTime.utc().plus(this.lease).toISO()!;
    const claimRows = async (db: Knex | Knex.Transaction) =>
      (await statements.claim(db, worker, until, limit, running)).map(
        toClaimed,
      );
    if (!begin || isPostgres(this.db)) return claimRows(this.db);
    return this.db.transaction(async trx => {
      const claimed = await claimRows(trx);
      for (const claim of claimed) {
        // its first claim: it was pending, so no step of it exists
        if (claim.fencingToken !== 1 || claim.cancelRequested) continue;
        claim.begun = await statements
          .underSqliteSavepoint(trx, () => begin(trx, claim))
          .catch(() => false);
      }
      return claimed;
    });
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
   * Records a step's success (none: this is the first start of a run), the start of the
   * next step and their events atomically, every part of it conditional on the fence: when
   * the worker lost the lease, nothing is written and this throws LeaseLostError. The
   * engine's hot path: one statement on PostgreSQL, one transaction on SQLite, on prepared
   * statements (see ./statements).
   */
  async advance(
    op: ClaimedOperation,
    finished: FinishedStep | undefined,
    next: NextStep,
    events: EngineEvent[],
  ): Promise<void> {
    if (!(await statements.advance(this.db, op, finished, next, events))) {
      throw new LeaseLostError(op.id);
    }
  }

  /** Appends the engine's events (to the stream, and so the timeline), in a fenced `trx`. */
  appendEvents(
    trx: Knex.Transaction,
    op: ClaimedOperation,
    events: EngineEvent[],
  ): Promise<void> {
    return statements.appendEvents(trx, op, events);
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
  startStep(
    trx: Knex.Transaction,
    operationId: string,
    position: number,
    name: string,
  ): Promise<void> {
    return statements.startStep(trx, operationId, { position, name });
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
