import { LoggerService } from '@backstage/backend-plugin-api';
import {
  canTransition,
  Condition,
  OperationState,
  ResourceState,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  DriverError,
  DriverStepInfo,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../audit/AuditLog';
import { now } from '../database/time';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { DesiredState } from '../gitops/DesiredState';
import { StateIndexer } from '../gitops/StateIndexer';
import { newTraceId } from '../observability/tracing';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { backoffMs } from './backoff';
import {
  ClaimedOperation,
  LeaseLostError,
  SagaStore,
  StepRecord,
} from './SagaStore';
import { EngineEvent } from './statements';
import { Saga, SagaContext } from './types';

/** What the instrumentation of a step run knows of it. */
export interface StepRunInfo {
  /** 1 for the first attempt. */
  attempt: number;
  /** `run` for the step itself, `compensate` for its compensation. */
  phase: 'run' | 'compensate';
  /** The resource as it was when this run of the operation started. */
  resource: ResourceRecord;
  /** Results of the steps completed so far, by step name. */
  results: Readonly<Record<string, unknown>>;
}

export interface SagaEngineOptions {
  db: Knex;
  store: SagaStore;
  resources: ResourceStore;
  events: ResourceEventStore;
  audit: AuditLog;
  indexer: StateIndexer;
  logger: LoggerService;
  sagaFor(type: string): Saga | undefined;
  /** Runs at most this many operations at once in this process. @defaultValue 16 */
  concurrency?: number;
  /** How often to look for work when idle. @defaultValue 250 ms */
  pollInterval?: Duration;
  /** How long a claim lasts without a heartbeat. @defaultValue 15 s */
  lease?: Duration;
  /** Attempts of a compensation before the operation is parked. @defaultValue 5 */
  maxCompensationAttempts?: number;
  /** Backoff of retries. @defaultValue base 250 ms, max 30 s */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Runs before each step and each compensation (e.g. the drivers' `beforeStep` hooks, through
   * which the simulator injects faults at any step); what it throws fails the step.
   */
  beforeStep?(step: DriverStepInfo, ctx: SagaContext): Promise<void>;
  /** Wraps each step run and each compensation, e.g. in a tracing span or a timer. */
  instrumentStep?<T>(
    op: ClaimedOperation,
    step: string,
    fn: () => Promise<T>,
    info: StepRunInfo,
  ): Promise<T>;
  /** Called after an operation reached an end state (to trigger the reconciler). */
  onSettled?(
    operationId: string,
    state: OperationState,
    op: ClaimedOperation,
  ): void;
}

const isRetryable = (error: unknown) =>
  error instanceof DriverError && error.retryable;
const describe = (error: unknown) =>
  (error as Error)?.message ? (error as Error).message : String(error);

function upsertCondition(
  conditions: Condition[],
  condition: Omit<Condition, 'lastTransitionTime'>,
): Condition[] {
  const previous = conditions.find(c => c.type === condition.type);
  const changed = !previous || previous.status !== condition.status;
  return [
    ...conditions.filter(c => c.type !== condition.type),
    {
      ...condition,
      lastTransitionTime: changed ? now() : previous!.lastTransitionTime,
    },
  ];
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  step: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DriverError(`${step} timed out after ${ms} ms`, {
                retryable: true,
                code: 'Timeout',
              }),
            ),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The transition a saga starts with, when the resource stands where it starts from. */
function startTransition(saga: Saga, state: ResourceState) {
  const start = saga.transitions.start;
  return start?.from.includes(state) ? start : undefined;
}

/** Moves the operation's resource to `to`, when it is not there and may go there. */
async function moveResource(
  o: SagaEngineOptions,
  op: ClaimedOperation,
  trx: Knex.Transaction,
  to: ResourceState,
  reason: string,
  /** The resource as read in `trx` already, if it was. */
  read?: ResourceRecord,
) {
  const current = read ?? (await o.resources.getByUid(op.resourceUid, trx));
  if (
    !current ||
    current.status.state === to ||
    !canTransition(current.status.state, to)
  ) {
    return;
  }
  await o.resources.transition(
    op.resourceUid,
    current.status.state,
    to,
    { actor: op.actor, reason, operationId: op.id },
    trx,
  );
}

/** One run of one claimed operation: from where it stands to an end state or a wait. */
class OperationRun {
  private saga!: Saga;
  private resource!: ResourceRecord;
  private desired!: DesiredState;
  private results: Record<string, unknown> = {};
  private steps: StepRecord[] = [];

  constructor(
    private readonly engine: SagaEngine,
    private readonly op: ClaimedOperation,
    private readonly signal: AbortSignal,
    /** Aborts when someone cancels the operation: the running step stops at once. */
    private readonly cancelSignal: AbortSignal,
  ) {}

  private get o() {
    return this.engine.options;
  }

  async start(
    saga: Saga,
    resource: ResourceRecord,
    desired: DesiredState,
    steps: StepRecord[],
  ) {
    this.saga = saga;
    this.resource = resource;
    this.desired = desired;
    if (!this.op.traceId) {
      // Every operation carries a trace id to its drivers (e.g. onto a Kubernetes claim).
      this.op.traceId = newTraceId();
      this.pendingUpdate = { trace_id: this.op.traceId };
    }
    this.steps = steps;
    for (const s of this.steps) {
      if (s.state === 'succeeded') this.results[s.name] = s.result;
    }
    if (this.op.state === 'compensating' || this.op.cancelRequested) {
      await this.compensate(this.op.cancelRequested);
    } else {
      await this.forward();
    }
  }

  private context(step: string, suffix = ''): SagaContext {
    return {
      operation: this.op,
      resource: this.resource,
      desired: this.desired,
      results: this.results,
      idempotencyToken: `${this.op.id}:${step}${suffix}`,
      signal: this.signal,
      logger: this.o.logger.child({
        operationId: this.op.id,
        traceId: this.op.traceId,
        step,
      }),
    };
  }

  /** Events of the fenced transaction in progress, written together before its commit. */
  private queued?: EngineEvent[];
  /** Operation columns to write with the next fenced write (a new trace id). */
  private pendingUpdate: Record<string, unknown> = {};

  private get hasPendingUpdate() {
    return Object.keys(this.pendingUpdate).length > 0;
  }

  /**
   * A fenced write (see SagaStore.fenced) whose events are queued by {@link event} and
   * inserted together before the commit: one transaction, a fixed number of statements.
   */
  private async fenced<T>(
    update: Record<string, unknown>,
    fn: (trx: Knex.Transaction) => Promise<T>,
  ): Promise<T> {
    const extra = this.pendingUpdate;
    const result = await this.o.store.fenced(
      this.op,
      { ...update, ...extra },
      async trx => {
        this.queued = [];
        try {
          const value = await fn(trx);
          await this.o.store.appendEvents(trx, this.op, this.queued);
          return value;
        } finally {
          this.queued = undefined;
        }
      },
    );
    if (extra === this.pendingUpdate) this.pendingUpdate = {};
    return result;
  }

  private async event(
    type: string,
    message: string,
    step?: string,
    data?: Record<string, unknown>,
  ) {
    const { queued } = this;
    if (!queued) throw new Error('an event outside a fenced write');
    queued.push({ type, step, message, data });
  }

  private announce() {
    this.o.events.announce([this.op.resourceRef]);
  }

  private async transition(
    trx: Knex.Transaction,
    to: ResourceState,
    reason: string,
  ) {
    await moveResource(this.o, this.op, trx, to, reason);
  }

  private releaseUntil(delayMs: number) {
    return {
      lease_owner: null,
      lease_until: null,
      next_run_at: DateTime.utc().plus({ milliseconds: delayMs }).toISO(),
    };
  }

  /** Runs the steps from the first one not done, recording each start before it runs. */
  private async forward() {
    if (this.op.begun) {
      // the claim recorded the first step's start (see SagaEngine.claim)
      await this.runFrom(0, undefined);
      return;
    }
    const done = new Set(
      this.steps.filter(s => s.state === 'succeeded').map(s => s.position),
    );
    const first = this.saga.steps.findIndex((_, i) => !done.has(i));
    const record = this.steps.find(s => s.position === first);
    const start =
      first === 0 && !record
        ? startTransition(this.saga, this.resource.status.state)
        : undefined;
    const type = record ? 'step.resumed' : 'step.started';
    const message = `attempt ${(record?.attempts ?? 0) + 1}`;
    const name = this.saga.steps[first].name;
    if (!start && !this.hasPendingUpdate) {
      await this.o.store.advance(
        this.op,
        undefined,
        { position: first, name },
        [{ type, message, step: name }],
      );
      await this.runFrom(first, record);
      return;
    }
    await this.fenced({ state: 'running' }, async trx => {
      if (start) {
        await this.transition(trx, start.to, `${this.op.type} started`);
      }
      await this.o.store.startStep(trx, this.op.id, first, name);
      await this.event(type, message, name);
    });
    await this.runFrom(first, record);
  }

  private async runFrom(first: number, record: StepRecord | undefined) {
    this.announce();
    let attempts = (record?.attempts ?? 0) + 1;
    for (let position = first; position < this.saga.steps.length; position++) {
      const outcome = await this.runStep(position, attempts);
      if (outcome !== 'next') return;
      attempts = 1;
    }
  }

  /** Runs one step; 'next' when it succeeded and the next one is recorded as started. */
  private async runStep(
    position: number,
    attempts: number,
  ): Promise<'next' | 'stop'> {
    const { op, saga } = this;
    const step = saga.steps[position];
    // A cancel requested since the claim reaches this run through the heartbeat.
    if (op.cancelRequested || this.cancelSignal.aborted) {
      await this.fenced({ state: 'compensating', error: 'cancelled' }, () =>
        this.event(
          'operation.cancelling',
          'cancel requested: undoing completed steps',
        ),
      );
      await this.compensate(true);
      return 'stop';
    }
    const { maxAttempts, stepTimeoutMs } = this.limits();
    const ctx = this.context(step.name);
    const timeout = step.timeoutMs?.(ctx) ?? stepTimeoutMs;
    let result: unknown;
    const timedOut = AbortSignal.timeout(timeout);
    try {
      const execute = () =>
        withTimeout(
          (async () => {
            const signal = AbortSignal.any([
              this.signal,
              this.cancelSignal,
              timedOut,
            ]);
            await this.o.beforeStep?.(this.stepInfo(step.name), {
              ...ctx,
              signal,
            });
            return step.run({ ...ctx, signal });
          })(),
          timeout,
          step.name,
        );
      result = await (this.o.instrumentStep
        ? this.o.instrumentStep(op, step.name, execute, {
            attempt: attempts,
            phase: 'run',
            resource: this.resource,
            results: this.results,
          })
        : execute());
    } catch (error) {
      if (this.signal.aborted) throw this.signal.reason;
      if (this.cancelSignal.aborted) {
        await this.fenced(
          { state: 'compensating', error: 'cancelled' },
          async trx => {
            await this.o.store.finishStep(trx, op.id, position, {
              state: 'failed',
              error: 'cancelled',
            });
            await this.event(
              'operation.cancelling',
              `cancelled during ${step.name}: undoing what was done`,
            );
          },
        );
        await this.compensate(true);
        return 'stop';
      }
      // A step cut off by its timeout (whatever the aborted call threw) is a retryable timeout.
      const failure = timedOut.aborted
        ? new DriverError(`${step.name} timed out after ${timeout} ms`, {
            retryable: true,
            code: 'Timeout',
            cause: error,
          })
        : error;
      await this.stepFailed(position, attempts, maxAttempts, failure);
      return 'stop';
    }
    const last = position === saga.steps.length - 1;
    try {
      await this.recordSuccess(position, result, ctx);
    } catch (error) {
      // A step's persist may refuse its result (e.g. a placement over quota): the
      // transaction rolled back, and the step fails like any other.
      if (!(error instanceof DriverError)) throw error;
      await this.stepFailed(position, attempts, maxAttempts, error);
      return 'stop';
    }
    this.announce();
    this.results[step.name] = result;
    if (last) {
      this.o.onSettled?.(op.id, 'succeeded', op);
      return 'stop';
    }
    return 'next';
  }

  /**
   * Retry limits of a step: the product's (`retries` in its spec) where it sets them, else
   * the tier's.
   */
  private limits(): { maxAttempts: number; stepTimeoutMs: number } {
    const tier = this.desired.tier(this.resource.spec.tier);
    const retries = this.desired.product(this.resource.spec.product)?.spec
      .retries;
    return {
      maxAttempts: retries?.maxAttempts ?? tier?.operations.maxAttempts ?? 3,
      stepTimeoutMs:
        (retries?.stepTimeoutSeconds ??
          tier?.operations.stepTimeoutSeconds ??
          600) * 1000,
    };
  }

  private stepInfo(step: string): DriverStepInfo {
    return {
      operationType: this.op.type,
      step,
      ref: this.op.resourceRef,
    };
  }

  /** Records a step's result, its persisted effects, and the start of the next step. */
  private async recordSuccess(
    position: number,
    result: unknown,
    ctx: SagaContext,
  ) {
    const { op, saga } = this;
    const step = saga.steps[position];
    const last = position === saga.steps.length - 1;
    if (!last && !step.persist && !this.hasPendingUpdate) {
      // The common case: the step's end and the next one's start, and nothing else
      const next = {
        position: position + 1,
        name: saga.steps[position + 1].name,
      };
      await this.o.store.advance(op, { position, result }, next, [
        { type: 'step.succeeded', message: 'done', step: step.name },
        { type: 'step.started', message: 'attempt 1', step: next.name },
      ]);
      return;
    }
    await this.fenced(
      last ? { state: 'succeeded', lease_owner: null, lease_until: null } : {},
      async trx => {
        await this.o.store.finishStep(trx, op.id, position, {
          state: 'succeeded',
          result: result ?? null,
        });
        await step.persist?.(trx, ctx, result);
        await this.event('step.succeeded', 'done', step.name);
        if (last) {
          await this.finishSuccess(trx);
        } else {
          await this.o.store.startStep(
            trx,
            op.id,
            position + 1,
            saga.steps[position + 1].name,
          );
          await this.event(
            'step.started',
            'attempt 1',
            saga.steps[position + 1].name,
          );
        }
      },
    );
  }

  /** Retries a retryable failure later, or fails the step and compensates. */
  private async stepFailed(
    position: number,
    attempts: number,
    maxAttempts: number,
    error: unknown,
  ) {
    const { op } = this;
    const name = this.saga.steps[position].name;
    if (isRetryable(error) && attempts < maxAttempts) {
      const delay = backoffMs(attempts, this.engine.settings.backoff);
      await this.fenced(this.releaseUntil(delay), async trx => {
        await this.o.store.finishStep(trx, op.id, position, {
          state: 'running',
          error: describe(error),
        });
        await this.event(
          'step.retried',
          `${describe(error)}; attempt ${
            attempts + 1
          } of ${maxAttempts} in ${delay} ms`,
          name,
          { attempt: attempts, delayMs: delay },
        );
      });
      this.announce();
      return;
    }
    const reason = `${name}: ${describe(error)}`;
    await this.fenced({ state: 'compensating', error: reason }, async trx => {
      await this.o.store.finishStep(trx, op.id, position, {
        state: 'failed',
        error: describe(error),
      });
      await this.event('step.failed', describe(error), name, {
        attempts,
      });
    });
    this.announce();
    this.steps = await this.o.store.steps(op.id);
    await this.compensate(false, reason);
  }

  private async finishSuccess(trx: Knex.Transaction) {
    const { op, saga, resource } = this;
    const generation = op.targetGeneration ?? resource.status.generation;
    if (saga.transitions.success) {
      await this.transition(
        trx,
        saga.transitions.success,
        `${op.type} succeeded`,
      );
    }
    if (saga.realisesGeneration) {
      const current = await this.o.resources.getByUid(op.resourceUid, trx);
      await this.o.resources.updateStatus(trx, op.resourceUid, {
        observedGeneration: Math.max(
          generation,
          current?.status.observedGeneration ?? 0,
        ),
        failedGeneration: null,
        conditions: upsertCondition(current?.status.conditions ?? [], {
          type: 'Ready',
          status: 'True',
          reason: `${op.type}Succeeded`,
          message: `generation ${generation} is running`,
        }),
      });
    }
    await this.event('operation.succeeded', `${op.type} succeeded`);
    await this.o.audit.append(
      {
        actor: op.actor,
        action: `operation.${op.type}`,
        target: op.resourceRef,
        outcome: 'succeeded',
        reason: `operation ${op.id}`,
      },
      trx,
    );
  }

  /**
   * Compensates, in reverse order, every step that ran (succeeded, failed, or was running),
   * each once. A compensation that fails is retried with backoff; after the limit the
   * operation is parked as needs-attention with an alert.
   */
  private async compensate(cancelled: boolean, reason?: string) {
    const { op } = this;
    this.steps = await this.o.store.steps(op.id);
    const failure =
      reason ??
      (await this.o.db('operations').where({ id: op.id }).first('error'))
        ?.error ??
      'failed';
    const pending = this.steps
      .filter(s =>
        ['succeeded', 'failed', 'running', 'compensating'].includes(s.state),
      )
      .sort((a, b) => b.position - a.position);
    for (const record of pending) {
      if (!(await this.compensateStep(record))) return;
    }
    await this.finishCompensation(cancelled, failure);
  }

  /** Undoes one step; false when the operation must wait (a retry) or was parked. */
  private async compensateStep(record: StepRecord): Promise<boolean> {
    const { op } = this;
    const step = this.saga.steps[record.position];
    const { store } = this.o;
    if (!step?.compensate && !step?.revert) {
      await this.fenced({}, trx =>
        store.markCompensation(trx, op.id, record.position, 'compensated'),
      );
      return true;
    }
    const attempt = record.compensationAttempts + 1;
    await this.fenced({ state: 'compensating' }, async trx => {
      await store.markCompensation(trx, op.id, record.position, 'compensating');
      await this.event(
        'step.compensating',
        `undoing (attempt ${attempt})`,
        step.name,
      );
    });
    const ctx = this.context(step.name, ':compensate');
    const undo = async () => {
      await this.o.beforeStep?.(this.stepInfo(`${step.name}:compensate`), ctx);
      await step.compensate?.(ctx, record.result);
    };
    try {
      await (this.o.instrumentStep
        ? this.o.instrumentStep(op, step.name, undo, {
            attempt,
            phase: 'compensate',
            resource: this.resource,
            results: this.results,
          })
        : undo());
    } catch (error) {
      if (this.signal.aborted) throw this.signal.reason;
      if (attempt < this.engine.settings.maxCompensationAttempts) {
        const delay = backoffMs(attempt, this.engine.settings.backoff);
        await this.fenced(this.releaseUntil(delay), async trx => {
          await store.markCompensation(
            trx,
            op.id,
            record.position,
            'compensating',
            describe(error),
          );
          await this.event(
            'compensation.retried',
            `${describe(error)}; again in ${delay} ms`,
            step.name,
          );
        });
        this.announce();
        return false;
      }
      await this.parkAfter(record, step.name, attempt, error);
      return false;
    }
    await this.fenced({}, async trx => {
      await step.revert?.(trx, ctx, record.result);
      await store.markCompensation(trx, op.id, record.position, 'compensated');
      await this.event('step.compensated', 'undone', step.name);
    });
    return true;
  }

  private async parkAfter(
    record: StepRecord,
    step: string,
    attempt: number,
    error: unknown,
  ) {
    const { op } = this;
    const message = `compensation of ${step} failed: ${describe(error)}`;
    await this.fenced(
      {
        state: 'needs-attention',
        lease_owner: null,
        lease_until: null,
        error: message,
      },
      async trx => {
        await this.o.store.markCompensation(
          trx,
          op.id,
          record.position,
          'compensation-failed',
          describe(error),
        );
        await this.event(
          'operation.needs-attention',
          `ALERT: could not undo ${step} after ${attempt} attempts (${describe(
            error,
          )}); a person must look at it`,
          step,
          { alert: true },
        );
        await this.o.audit.append(
          {
            actor: 'control-plane',
            action: `operation.${op.type}`,
            target: op.resourceRef,
            outcome: 'failed',
            reason: `needs attention: ${message}`,
          },
          trx,
        );
      },
    );
    this.announce();
    this.o.logger.error(`operation needs attention: ${message}`, {
      operationId: op.id,
      traceId: op.traceId,
      resourceRef: op.resourceRef,
      step,
    });
    this.o.onSettled?.(op.id, 'needs-attention', op);
  }

  private readyCondition(
    state: ResourceState | undefined,
  ): Condition['status'] {
    if (this.saga.transitions.failure === 'FAILED') return 'False';
    return state === 'READY' ? 'True' : 'Unknown';
  }

  private async finishCompensation(cancelled: boolean, failure: string) {
    const { op, saga, resource } = this;
    const end: OperationState = cancelled ? 'cancelled' : 'compensated';
    const why = cancelled
      ? 'cancelled; completed steps were undone'
      : `failed (${failure}); completed steps were undone`;
    await this.fenced(
      { state: end, lease_owner: null, lease_until: null },
      async trx => {
        if (saga.transitions.failure) {
          await this.transition(
            trx,
            saga.transitions.failure,
            `${op.type} ${why}`,
          );
        }
        if (saga.realisesGeneration) {
          const current = await this.o.resources.getByUid(op.resourceUid, trx);
          await this.o.resources.updateStatus(trx, op.resourceUid, {
            failedGeneration: op.targetGeneration ?? resource.status.generation,
            conditions: upsertCondition(current?.status.conditions ?? [], {
              type: 'Ready',
              status: this.readyCondition(current?.status.state),
              reason: `${op.type}Failed`,
              message: `${op.type} ${why}`,
            }),
          });
        }
        await this.event(`operation.${end}`, `${op.type} ${why}`);
        await this.o.audit.append(
          {
            actor: op.actor,
            action: `operation.${op.type}`,
            target: op.resourceRef,
            outcome: 'failed',
            reason: `operation ${op.id} ${why}`,
          },
          trx,
        );
      },
    );
    this.announce();
    this.o.onSettled?.(op.id, end, op);
  }

  /** Ends an operation that cannot run at all. */
  async park(reason: string) {
    await this.fenced(
      {
        state: 'needs-attention',
        error: reason,
        lease_owner: null,
        lease_until: null,
      },
      () =>
        this.event('operation.needs-attention', `ALERT: ${reason}`, undefined, {
          alert: true,
        }),
    );
    this.o.onSettled?.(this.op.id, 'needs-attention', this.op);
  }
}

/**
 * Runs operations as durable sagas. Each step is recorded before and after its side effect:
 * one step's end and the next one's start share a commit, so a K-step saga commits K+2
 * times, claim included, and K+1 on SQLite, where a fresh operation's claim also records
 * its first start. Its compensation is known before it runs; a retryable failure is
 * retried with backoff and jitter up to the tier's limit; a lasting failure compensates the
 * steps in reverse order, each once, and a compensation that keeps failing parks the
 * operation as needs-attention. Workers claim operations with a lease and a fencing token
 * (FOR UPDATE SKIP LOCKED on PostgreSQL), so replicas share the work and a crashed one's
 * operations resume elsewhere, from the last completed step.
 */
export class SagaEngine {
  readonly workerId = `worker-${randomUUID().slice(0, 8)}`;
  private readonly active = new Map<string, Promise<void>>();
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  readonly settings: {
    concurrency: number;
    pollMs: number;
    leaseMs: number;
    maxCompensationAttempts: number;
    backoff: { baseMs: number; maxMs: number };
  };

  constructor(readonly options: SagaEngineOptions) {
    this.settings = {
      concurrency: options.concurrency ?? 16,
      pollMs: (options.pollInterval ?? Duration.fromMillis(250)).as(
        'milliseconds',
      ),
      leaseMs: (options.lease ?? Duration.fromObject({ seconds: 15 })).as(
        'milliseconds',
      ),
      maxCompensationAttempts: options.maxCompensationAttempts ?? 5,
      backoff: options.backoff ?? { baseMs: 250, maxMs: 30_000 },
    };
  }

  start(): void {
    if (this.running) return;
    this.options.logger.info(`saga engine ${this.workerId} started`, {
      workerId: this.workerId,
      concurrency: this.settings.concurrency,
    });
    this.running = true;
    this.loop = this.runLoop();
  }

  /** Stops claiming; waits for the operations in hand to reach a safe point. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled(this.active.values());
  }

  /** Looks for work now (after an operation was created here). */
  wake(): void {
    this.wakeUp?.();
  }

  private sleep(): Promise<void> {
    return new Promise<void>(resolve => {
      const timer = setTimeout(resolve, this.settings.pollMs);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Claims up to `limit` runnable operations (not those this worker runs already). On
   * SQLite a fresh operation's claim also records the start of its first step (and the
   * resource's transition the saga starts with), so claiming it and starting it are one
   * commit (see SagaStore.claim).
   */
  claim(limit: number): Promise<ClaimedOperation[]> {
    return this.options.store.claim(
      this.workerId,
      limit,
      [...this.active.keys()],
      (trx, op) => this.beginFresh(trx, op),
    );
  }

  private async beginFresh(
    trx: Knex.Transaction,
    op: ClaimedOperation,
  ): Promise<boolean> {
    const { options: o } = this;
    const saga = o.sagaFor(op.type);
    const first = saga?.steps[0];
    if (!saga || !first || !op.traceId) return false;
    const resource = await o.resources.getByUid(op.resourceUid, trx);
    if (!resource) return false;
    const start = startTransition(saga, resource.status.state);
    if (start) {
      await moveResource(o, op, trx, start.to, `${op.type} started`, resource);
    }
    await o.store.startStep(trx, op.id, 0, first.name);
    await o.store.appendEvents(trx, op, [
      { type: 'step.started', message: 'attempt 1', step: first.name },
    ]);
    return true;
  }

  private async runLoop() {
    while (this.running) {
      let claimed: ClaimedOperation[] = [];
      const free = this.settings.concurrency - this.active.size;
      if (free > 0) {
        try {
          claimed = await this.claim(free);
        } catch (error) {
          this.options.logger.warn(
            `could not claim operations: ${describe(error)}`,
          );
        }
      }
      for (const op of claimed) {
        this.active.set(
          op.id,
          this.execute(op).finally(() => this.settle(op.id)),
        );
      }
      if (
        claimed.length === 0 ||
        this.active.size >= this.settings.concurrency
      ) {
        await this.sleep();
        this.wakeUp = undefined;
      }
    }
  }

  private settle(id: string) {
    this.active.delete(id);
    this.wake();
  }

  /** Runs one claimed operation until it ends, waits for a retry, or loses its lease. */
  async execute(op: ClaimedOperation): Promise<void> {
    const { store, logger } = this.options;
    const controller = new AbortController();
    const cancel = new AbortController();
    const heartbeat = setInterval(() => {
      store
        .heartbeat(op)
        .then(async held => {
          if (!held) controller.abort(new LeaseLostError(op.id));
          else if (await store.cancelRequested(op.id))
            cancel.abort(new Error('cancelled'));
        })
        .catch(() => undefined);
    }, Math.max(50, this.settings.leaseMs / 3));
    try {
      const saga = this.options.sagaFor(op.type);
      // what the run needs, read at once
      const [resource, desired, steps] = await Promise.all([
        this.options.resources.getByUid(op.resourceUid),
        this.options.indexer.current(),
        // a run the claim began has one step, just started: nothing to read
        op.begun ? [] : store.steps(op.id),
      ]);
      const run = new OperationRun(this, op, controller.signal, cancel.signal);
      if (!saga || !resource) {
        await run.park(
          saga
            ? `resource ${op.resourceRef} is gone`
            : `no saga for ${op.type}`,
        );
        return;
      }
      await run.start(saga, resource, desired, steps);
    } catch (error) {
      if (
        error instanceof LeaseLostError ||
        controller.signal.reason instanceof LeaseLostError
      ) {
        logger.warn('lease lost; another worker carries on', {
          operationId: op.id,
          traceId: op.traceId,
        });
        return;
      }
      logger.error(`operation stopped unexpectedly: ${describe(error)}`, {
        operationId: op.id,
        traceId: op.traceId,
      });
      // Let it be picked up again after a while rather than hot-looping on a bug.
      const later = DateTime.utc()
        .plus({ milliseconds: backoffMs(1, this.settings.backoff) })
        .toISO();
      await store
        .fenced(
          op,
          { lease_owner: null, lease_until: null, next_run_at: later },
          async () => {},
        )
        .catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
    }
  }
}
