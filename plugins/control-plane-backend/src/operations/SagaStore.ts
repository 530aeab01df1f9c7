import { OperationState } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { now, readTimestamp } from '../database/time';
import { isPostgres, readJson } from '../database/util';
import * as statements from './statements';
import { EngineEvent } from './statements';
import { ClaimedOperation, StepRecord } from './records';

export type { ClaimedOperation, StepRecord } from './records';

/** Thrown when a worker's lease was taken over: its writes are refused. */
export class LeaseLostError extends Error {
  constructor(operationId: string) {
    super(`lost the lease of operation ${operationId}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Writes of other stores that belong to a saga record's commit (the resource's transition,
 * what a step learned, an audit event): they run in its fenced transaction, before its
 * events, and what they throw rolls the whole record back.
 */
export type AlsoWrite = (trx: Knex.Transaction) => Promise<void>;

/** A step of the operation's saga: its position and name. */
export interface StepRef {
  position: number;
  name: string;
}

/** The start (or a new attempt) of a step, and what shares its commit. */
export interface StepStart extends StepRef {
  /** The run's attempt of it: 1 for its first. */
  attempt: number;
  /** It was recorded before (a run resumes it): its event says resumed, not started. */
  resumed?: boolean;
  /** The step before it, which succeeded with `result`: its end shares the commit. */
  after?: StepRef & { result: unknown };
  /**
   * Writes of other stores in the same commit. Without them, a start is the store's hot
   * path: one prepared statement on PostgreSQL, one native transaction on SQLite.
   */
  also?: AlsoWrite;
}

/** Operation columns that end a worker's hold on it, to run again at `delayMs` from now. */
function releaseFor(delayMs: number) {
  return {
    lease_owner: null,
    lease_until: null,
    next_run_at: DateTime.utc().plus({ milliseconds: delayMs }).toISO(),
  };
}

const released = { lease_owner: null, lease_until: null };

function toClaimed(row: any): ClaimedOperation {
  return {
    id: row.id,
    type: row.type,
    resourceUid: row.resource_uid,
    resourceRef: row.resource_ref,
    state: row.state,
    params: readJson(row.params, {}),
    actor: row.actor,
    traceId: row.trace_id,
    ...(row.span_id ? { spanId: row.span_id } : {}),
    ...(row.target_generation
      ? { targetGeneration: Number(row.target_generation) }
      : {}),
    cancelRequested: Boolean(row.cancel_requested),
    fencingToken: Number(row.fencing_token),
  };
}

/**
 * The record of every saga run: the only writer of `operations` (once accepted) and
 * `operation_steps`, and of the engine's events on the resource's stream (which an
 * operation's timeline reads). Each method records one thing the engine does (claim, start
 * a step, finish it, retry it, fail it, compensate, park, end) with its events, atomically.
 *
 * A worker claims an operation by bumping its fencing token; every later write of that
 * worker is a compare-and-set on the token, so a worker that paused past its lease (while
 * another took over) can no longer change anything: its writes throw LeaseLostError.
 * The hot statements run on prepared statements of each database (./statements).
 */
export class SagaStore {
  constructor(private readonly db: Knex, private readonly lease: Duration) {}

  /**
   * Claims up to `limit` runnable operations for `worker`, leaving out those it runs already
   * (`running`): a busy worker whose heartbeat came late does not take its own runs over.
   * An operation without a trace id is given one.
   *
   * The claim is one statement for the whole batch. On SQLite, where a commit costs more
   * than a statement, the start `begin` plans for an operation claimed for the first time
   * (fencing token 1: it was pending, so no step of it exists) and not asked to cancel is
   * recorded in the claim's own transaction, so claiming and starting it are one commit;
   * such an operation comes back `begun`. The start runs under a savepoint: when it throws,
   * the claim stands without it and the run records the start itself (and meets the error
   * there, with the engine's backoff). On PostgreSQL a start is one statement of its own
   * (see {@link startStep}), cheaper there than a transaction around both: `begin` is not
   * used.
   */
  async claim(
    worker: string,
    limit: number,
    running: string[] = [],
    begin?: (op: ClaimedOperation) => StepStart | undefined,
  ): Promise<ClaimedOperation[]> {
    const until = DateTime.utc().plus(this.lease).toISO()!;
    const claimRows = async (db: Knex | Knex.Transaction) =>
      (await statements.claim(db, worker, until, limit, running)).map(
        toClaimed,
      );
    if (!begin || isPostgres(this.db)) return claimRows(this.db);
    return this.db.transaction(async trx => {
      const claimed = await claimRows(trx);
      for (const op of claimed) {
        // its first claim: it was pending, so no step of it exists
        if (op.fencingToken !== 1 || op.cancelRequested) continue;
        const start = begin(op);
        if (!start) continue;
        op.begun = await statements
          .underSqliteSavepoint(trx, () => this.writeStart(trx, op, start))
          .then(() => true)
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

  /** Why the operation failed, as its failure recorded it. */
  async failureOf(operationId: string): Promise<string | undefined> {
    const row = await this.db('operations')
      .where({ id: operationId })
      .first('error');
    return row?.error ?? undefined;
  }

  /** Extends the lease; false when it was lost. */
  async heartbeat(op: ClaimedOperation): Promise<boolean> {
    const changed = await this.db('operations')
      .where({ id: op.id, fencing_token: op.fencingToken })
      .update({ lease_until: DateTime.utc().plus(this.lease).toISO() });
    return changed === 1;
  }

  /** The records of the operation's steps, in order. */
  async steps(operationId: string): Promise<StepRecord[]> {
    const rows = await this.db('operation_steps')
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
      ...(row.waiting_since
        ? { waitingSince: readTimestamp(row.waiting_since) }
        : {}),
    }));
  }

  /**
   * Records the start of a step (or a new attempt of it), with the end of the step before it
   * when it succeeded, before the step runs. The engine's hot path: without `also`, one
   * statement on PostgreSQL (data-modifying CTEs) and one immediate transaction on SQLite,
   * every part of it conditional on the fence.
   */
  async startStep(op: ClaimedOperation, start: StepStart): Promise<void> {
    if (start.also) {
      await this.fenced(op, {}, trx => this.writeStart(trx, op, start));
      return;
    }
    const { after } = start;
    const held = await statements.advance(
      this.db,
      op,
      after && { position: after.position, result: after.result },
      start,
      startEvents(start),
    );
    if (!held) throw new LeaseLostError(op.id);
  }

  /** The start of a step, in `trx` (fenced by it, or by the claim that holds the row). */
  private async writeStart(
    trx: Knex.Transaction,
    op: ClaimedOperation,
    start: StepStart,
  ) {
    if (start.after) {
      await finishStep(trx, op.id, start.after.position, {
        state: 'succeeded',
        result: start.after.result ?? null,
      });
    }
    await start.also?.(trx);
    await statements.startStep(trx, op.id, start);
    await statements.appendEvents(trx, op, startEvents(start));
  }

  /** Records the last step's success and the operation's (with `also`'s writes). */
  async succeed(
    op: ClaimedOperation,
    last: StepRef & { result: unknown },
    also?: AlsoWrite,
  ): Promise<void> {
    await this.fenced(
      op,
      { state: 'succeeded', ...released },
      async trx => {
        await finishStep(trx, op.id, last.position, {
          state: 'succeeded',
          result: last.result ?? null,
        });
        await also?.(trx);
      },
      [
        { type: 'step.succeeded', message: 'done', step: last.name },
        { type: 'operation.succeeded', message: `${op.type} succeeded` },
      ],
    );
  }

  /** Records a retryable failure of a step, and lets the operation go until its retry. */
  async retryStep(
    op: ClaimedOperation,
    step: StepRef,
    retry: {
      error: string;
      attempt: number;
      maxAttempts: number;
      delayMs: number;
    },
  ): Promise<void> {
    const { error, attempt, maxAttempts, delayMs } = retry;
    await this.fenced(
      op,
      releaseFor(delayMs),
      trx => finishStep(trx, op.id, step.position, { state: 'running', error }),
      [
        {
          type: 'step.retried',
          message: `${error}; attempt ${
            attempt + 1
          } of ${maxAttempts} in ${delayMs} ms`,
          step: step.name,
          data: { attempt, delayMs },
        },
      ],
    );
  }

  /**
   * A step not done yet that asks to run again in `delayMs` (a pause, an analysis interval,
   * an approval awaited): the operation is released until then. Waiting is neither a failure
   * nor an attempt, and leaves no event (the step's own store says what it waits for).
   */
  async waitStep(
    op: ClaimedOperation,
    step: StepRef,
    delayMs: number,
  ): Promise<void> {
    await this.fenced(op, releaseFor(delayMs), async trx => {
      await trx('operation_steps')
        .where({ operation_id: op.id, position: step.position })
        .update({
          attempts: trx.raw('attempts - 1'),
          waiting_since: trx.raw('COALESCE(waiting_since, ?)', [now()]),
        });
    });
  }

  /** Records a lasting failure of a step: the operation compensates from here. */
  async failStep(
    op: ClaimedOperation,
    step: StepRef,
    failure: { error: string; attempts: number },
  ): Promise<void> {
    const { error, attempts } = failure;
    await this.fenced(
      op,
      { state: 'compensating', error: `${step.name}: ${error}` },
      trx => finishStep(trx, op.id, step.position, { state: 'failed', error }),
      [
        {
          type: 'step.failed',
          message: error,
          step: step.name,
          data: { attempts },
        },
      ],
    );
  }

  /**
   * Records a cancellation taking effect: the operation compensates from here; `during`,
   * the step it cut off, failed as cancelled.
   */
  async cancel(op: ClaimedOperation, during?: StepRef): Promise<void> {
    await this.fenced(
      op,
      { state: 'compensating', error: 'cancelled' },
      async trx => {
        if (during) {
          await finishStep(trx, op.id, during.position, {
            state: 'failed',
            error: 'cancelled',
          });
        }
      },
      [
        {
          type: 'operation.cancelling',
          message: during
            ? `cancelled during ${during.name}: undoing what was done`
            : 'cancel requested: undoing completed steps',
        },
      ],
    );
  }

  /** Records that a step has nothing to undo. */
  async skipCompensation(op: ClaimedOperation, step: StepRef): Promise<void> {
    await this.fenced(op, {}, trx =>
      markCompensation(trx, op.id, step.position, 'compensated'),
    );
  }

  /** Records an attempt at undoing a step, before it runs. */
  async startCompensation(
    op: ClaimedOperation,
    step: StepRef,
    attempt: number,
  ): Promise<void> {
    await this.fenced(
      op,
      { state: 'compensating' },
      trx => markCompensation(trx, op.id, step.position, 'compensating'),
      [
        {
          type: 'step.compensating',
          message: `undoing (attempt ${attempt})`,
          step: step.name,
        },
      ],
    );
  }

  /** Records a failed attempt at undoing a step, and lets the operation go until the next. */
  async retryCompensation(
    op: ClaimedOperation,
    step: StepRef,
    retry: { error: string; delayMs: number },
  ): Promise<void> {
    const { error, delayMs } = retry;
    await this.fenced(
      op,
      releaseFor(delayMs),
      trx => markCompensation(trx, op.id, step.position, 'compensating', error),
      [
        {
          type: 'compensation.retried',
          message: `${error}; again in ${delayMs} ms`,
          step: step.name,
        },
      ],
    );
  }

  /** Records that a step was undone (with `also`'s writes, e.g. its persist reverted). */
  async compensated(
    op: ClaimedOperation,
    step: StepRef,
    also?: AlsoWrite,
  ): Promise<void> {
    await this.fenced(
      op,
      {},
      async trx => {
        await also?.(trx);
        await markCompensation(trx, op.id, step.position, 'compensated');
      },
      [{ type: 'step.compensated', message: 'undone', step: step.name }],
    );
  }

  /**
   * Ends the compensation of the operation: `cancelled` or `compensated`, `why` in its
   * event's words (with `also`'s writes).
   */
  async endCompensation(
    op: ClaimedOperation,
    end: Extract<OperationState, 'cancelled' | 'compensated'>,
    why: string,
    also?: AlsoWrite,
  ): Promise<void> {
    await this.fenced(
      op,
      { state: end, ...released },
      async trx => {
        await also?.(trx);
      },
      [{ type: `operation.${end}`, message: `${op.type} ${why}` }],
    );
  }

  /**
   * Parks the operation as needs-attention, for a person: `reason` is its error, `alert`
   * its event's words; `failed` is the step whose compensation failed, if one did.
   */
  async park(
    op: ClaimedOperation,
    park: {
      reason: string;
      alert: string;
      failed?: StepRef & { error: string };
      also?: AlsoWrite;
    },
  ): Promise<void> {
    const { failed } = park;
    await this.fenced(
      op,
      { state: 'needs-attention', error: park.reason, ...released },
      async trx => {
        if (failed) {
          await markCompensation(
            trx,
            op.id,
            failed.position,
            'compensation-failed',
            failed.error,
          );
        }
        await park.also?.(trx);
      },
      [
        {
          type: 'operation.needs-attention',
          message: park.alert,
          step: failed?.name,
          data: { alert: true },
        },
      ],
    );
  }

  /** Lets the operation go, to run again in `delayMs` (after an unexpected error). */
  async release(op: ClaimedOperation, delayMs: number): Promise<void> {
    await this.fenced(op, releaseFor(delayMs), async () => {});
  }

  /**
   * Runs `fn` in a transaction that first proves the worker still holds the operation (and
   * applies `update` to it), then appends `events`; throws LeaseLostError otherwise.
   */
  private async fenced(
    op: ClaimedOperation,
    update: Record<string, unknown>,
    fn: (trx: Knex.Transaction) => Promise<void>,
    events: EngineEvent[] = [],
  ): Promise<void> {
    await this.db.transaction(async trx => {
      const changed = await trx('operations')
        .where({ id: op.id, fencing_token: op.fencingToken })
        .update({ ...update, updated_at: now() });
      if (changed !== 1) {
        throw new LeaseLostError(op.id);
      }
      await fn(trx);
      await statements.appendEvents(trx, op, events);
    });
  }
}

/** The events of a step's start (and of the end of the one before it). */
function startEvents(start: StepStart): EngineEvent[] {
  const started: EngineEvent = {
    type: start.resumed ? 'step.resumed' : 'step.started',
    message: `attempt ${start.attempt}`,
    step: start.name,
  };
  return start.after
    ? [
        { type: 'step.succeeded', message: 'done', step: start.after.name },
        started,
      ]
    : [started];
}

async function finishStep(
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

async function markCompensation(
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
