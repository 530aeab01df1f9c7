import { Duration } from 'luxon';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { StateIndexer } from '../gitops/StateIndexer';
import { backoffMs } from './backoff';
import {
  describe,
  OperationRun,
  RunDependencies,
  RunSettings,
} from './OperationRun';
import { firstStart } from './resourceEffects';
import { LeaseLostError } from '../operations/SagaStore';
import { ClaimedOperation, Saga } from './types';

export type { StepRunInfo } from './types';

export interface SagaEngineOptions extends RunDependencies {
  /** @deprecated Unused: the engine reads and writes through its store. */
  db?: Knex;
  indexer: StateIndexer;
  /** The saga of an operation: by its type (a deployment's also by its params). */
  sagaFor(type: string, op: ClaimedOperation): Saga | undefined;
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
}

/**
 * Runs operations as durable sagas. Each step is recorded before and after its side effect,
 * through the SagaStore: one step's end and the next one's start share a commit, and on
 * SQLite a fresh operation's claim also records its first start (`yarn bench saga` prints
 * the commits of a saga on each database). Its compensation is known before it runs; a
 * retryable failure is retried with backoff and jitter up to the tier's limit; a lasting
 * failure compensates the steps in reverse order, each once, and a compensation that keeps
 * failing parks the operation as needs-attention. Workers claim operations with a lease and
 * a fencing token (FOR UPDATE SKIP LOCKED on PostgreSQL), so replicas share the work and a
 * crashed one's operations resume elsewhere, from the last completed step. Each claimed
 * operation runs as an OperationRun.
 */
export class SagaEngine {
  readonly workerId = `worker-${randomUUID().slice(0, 8)}`;
  private readonly active = new Map<string, Promise<void>>();
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  readonly settings: RunSettings & {
    concurrency: number;
    pollMs: number;
    leaseMs: number;
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
    const { options: o } = this;
    return o.store.claim(this.workerId, limit, [...this.active.keys()], op => {
      const saga = o.sagaFor(op.type, op);
      return saga?.steps.length ? firstStart(o, saga, op) : undefined;
    });
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
      const saga = this.options.sagaFor(op.type, op);
      // what the run needs, read at once
      const [resource, desired, steps] = await Promise.all([
        this.options.resources.getByUid(op.resourceUid),
        this.options.indexer.current(),
        // a run the claim began has one step, just started: nothing to read
        op.begun ? [] : store.steps(op.id),
      ]);
      const run = new OperationRun(
        this.options,
        this.settings,
        op,
        controller.signal,
        cancel.signal,
      );
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
      await store
        .release(op, backoffMs(1, this.settings.backoff))
        .catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
    }
  }
}
