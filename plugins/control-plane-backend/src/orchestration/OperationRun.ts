import { LoggerService } from '@backstage/backend-plugin-api';
import { OperationState } from '@idp-multicloud/plugin-control-plane-common';
import {
  DriverError,
  DriverStepInfo,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { AuditLog } from '../audit/AuditLog';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { backoffMs } from './backoff';
import { failureEffects, firstStart, successEffects } from './resourceEffects';
import { SagaStore, StepRef } from '../operations/SagaStore';
import {
  ClaimedOperation,
  Saga,
  SagaContext,
  SagaStep,
  StepRecord,
  StepRunInfo,
  StepWait,
} from './types';

/** What a run of an operation uses of the control plane (the engine's options). */
export interface RunDependencies {
  store: SagaStore;
  resources: ResourceStore;
  events: ResourceEventStore;
  audit: AuditLog;
  logger: LoggerService;
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

/** The engine's limits a run keeps to. */
export interface RunSettings {
  maxCompensationAttempts: number;
  backoff: { baseMs: number; maxMs: number };
}

const isRetryable = (error: unknown) =>
  error instanceof DriverError && error.retryable;
/** An error's message, or what was thrown, as text. */
export const describe = (error: unknown) =>
  (error as Error)?.message ? (error as Error).message : String(error);

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

/** One run of one claimed operation: from where it stands to an end state or a wait. */
export class OperationRun {
  private saga!: Saga;
  private resource!: ResourceRecord;
  private desired!: DesiredState;
  /** Results of the steps that succeeded, by step name. */
  private results: Record<string, unknown> = {};
  private steps: StepRecord[] = [];

  constructor(
    private readonly o: RunDependencies,
    private readonly settings: RunSettings,
    private readonly op: ClaimedOperation,
    private readonly signal: AbortSignal,
    /** Aborts when someone cancels the operation: the running step stops at once. */
    private readonly cancelSignal: AbortSignal,
  ) {}

  async start(
    saga: Saga,
    resource: ResourceRecord,
    desired: DesiredState,
    steps: StepRecord[],
  ) {
    this.saga = saga;
    this.resource = resource;
    this.desired = desired;
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
    const { results } = this;
    const waitingSince = suffix
      ? undefined
      : this.steps.find(s => s.name === step)?.waitingSince;
    return {
      operation: this.op,
      resource: this.resource,
      desired: this.desired,
      result: <R>(of: SagaStep<R>) =>
        Object.hasOwn(results, of.name) ? (results[of.name] as R) : undefined,
      idempotencyToken: `${this.op.id}:${step}${suffix}`,
      ...(waitingSince
        ? { waitingSince: DateTime.fromISO(waitingSince, { zone: 'utc' }) }
        : {}),
      signal: this.signal,
      logger: this.o.logger.child({
        operationId: this.op.id,
        traceId: this.op.traceId,
        step,
      }),
    };
  }

  private announce() {
    this.o.events.announce([this.op.resourceRef]);
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
    await this.o.store.startStep(
      this.op,
      first === 0 && !record
        ? firstStart(this.o, this.saga, this.op, this.resource)
        : {
            position: first,
            name: this.saga.steps[first].name,
            attempt: (record?.attempts ?? 0) + 1,
            resumed: record !== undefined,
          },
    );
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
      await this.o.store.cancel(op);
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
      if (error instanceof StepWait && !this.cancelSignal.aborted) {
        await this.o.store.waitStep(
          op,
          { position, name: step.name },
          error.delayMs,
        );
        this.announce();
        return 'stop';
      }
      if (this.cancelSignal.aborted) {
        await this.o.store.cancel(op, { position, name: step.name });
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

  /**
   * Records a step's result and its persisted effects, with the start of the next step, or
   * (the last step) the operation's success.
   */
  private async recordSuccess(
    position: number,
    result: unknown,
    ctx: SagaContext,
  ) {
    const { op, saga } = this;
    const step = saga.steps[position];
    const done = { position, name: step.name, result };
    const persist =
      step.persist &&
      ((trx: Knex.Transaction) => step.persist!(trx, ctx, result));
    const next = saga.steps[position + 1];
    if (!next) {
      const success = successEffects(this.o, saga, op, this.resource);
      await this.o.store.succeed(op, done, async trx => {
        await persist?.(trx);
        await success(trx);
      });
      return;
    }
    await this.o.store.startStep(op, {
      position: position + 1,
      name: next.name,
      attempt: 1,
      after: done,
      also: persist,
    });
  }

  /** Retries a retryable failure later, or fails the step and compensates. */
  private async stepFailed(
    position: number,
    attempts: number,
    maxAttempts: number,
    error: unknown,
  ) {
    const { op } = this;
    const step: StepRef = { position, name: this.saga.steps[position].name };
    if (isRetryable(error) && attempts < maxAttempts) {
      const delayMs = backoffMs(attempts, this.settings.backoff);
      await this.o.store.retryStep(op, step, {
        error: describe(error),
        attempt: attempts,
        maxAttempts,
        delayMs,
      });
      this.announce();
      return;
    }
    await this.o.store.failStep(op, step, {
      error: describe(error),
      attempts,
    });
    this.announce();
    await this.compensate(false, `${step.name}: ${describe(error)}`);
  }

  /**
   * Compensates, in reverse order, every step that ran (succeeded, failed, or was running),
   * each once. A compensation that fails is retried with backoff; after the limit the
   * operation is parked as needs-attention with an alert.
   */
  private async compensate(cancelled: boolean, reason?: string) {
    const { op } = this;
    this.steps = await this.o.store.steps(op.id);
    const failure = reason ?? (await this.o.store.failureOf(op.id)) ?? 'failed';
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
      await store.skipCompensation(op, record);
      return true;
    }
    const ref: StepRef = { position: record.position, name: step.name };
    const attempt = record.compensationAttempts + 1;
    await store.startCompensation(op, ref, attempt);
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
      if (attempt < this.settings.maxCompensationAttempts) {
        const delayMs = backoffMs(attempt, this.settings.backoff);
        await store.retryCompensation(op, ref, {
          error: describe(error),
          delayMs,
        });
        this.announce();
        return false;
      }
      await this.parkAfter(ref, attempt, error);
      return false;
    }
    await store.compensated(
      op,
      ref,
      step.revert && (trx => step.revert!(trx, ctx, record.result)),
    );
    return true;
  }

  private async parkAfter(step: StepRef, attempt: number, error: unknown) {
    const { op } = this;
    const message = `compensation of ${step.name} failed: ${describe(error)}`;
    await this.o.store.park(op, {
      reason: message,
      alert: `ALERT: could not undo ${
        step.name
      } after ${attempt} attempts (${describe(
        error,
      )}); a person must look at it`,
      failed: { ...step, error: describe(error) },
      also: async trx => {
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
    });
    this.announce();
    this.o.logger.error(`operation needs attention: ${message}`, {
      operationId: op.id,
      traceId: op.traceId,
      resourceRef: op.resourceRef,
      step: step.name,
    });
    this.o.onSettled?.(op.id, 'needs-attention', op);
  }

  private async finishCompensation(cancelled: boolean, failure: string) {
    const { op, saga, resource } = this;
    const end = cancelled ? 'cancelled' : 'compensated';
    const why = cancelled
      ? 'cancelled; completed steps were undone'
      : `failed (${failure}); completed steps were undone`;
    await this.o.store.endCompensation(
      op,
      end,
      why,
      failureEffects(this.o, saga, op, resource, why, cancelled),
    );
    this.announce();
    this.o.onSettled?.(op.id, end, op);
  }

  /** Ends an operation that cannot run at all. */
  async park(reason: string) {
    await this.o.store.park(this.op, { reason, alert: `ALERT: ${reason}` });
    this.o.onSettled?.(this.op.id, 'needs-attention', this.op);
  }
}
