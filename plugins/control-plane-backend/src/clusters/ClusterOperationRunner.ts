import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ClusterOperationType,
  ClusterPhase,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ClusterDriver,
  ClusterDriverCluster,
  DriverError,
} from '@idp-multicloud/plugin-control-plane-node';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../audit/AuditLog';
import { backoffMs } from '../orchestration/backoff';
import {
  ClusterSagaDependencies,
  ClusterStepContext,
  sagaPhases,
  stepFor,
} from './clusterSagas';
import {
  ClaimedClusterOperation,
  ClusterStepRecord,
  ClusterStore,
  LeaseLostError,
} from './ClusterStore';

export interface ClusterOperationRunnerOptions {
  store: ClusterStore;
  deps: ClusterSagaDependencies;
  audit: AuditLog;
  logger: LoggerService;
  /** The driver of a cluster and its desired spec (from the operation's snapshot). */
  resolve(op: ClaimedClusterOperation): Promise<{
    driver: ClusterDriver;
    cluster: ClusterDriverCluster;
  }>;
  leaseMs?: number;
  pollMs?: number;
  /** Attempts of a step with a retryable failure before it fails. @defaultValue 5 */
  maxAttempts?: number;
  /** How long one step may take. @defaultValue 30 minutes */
  stepTimeoutMs?: number;
  concurrency?: number;
  onSettled?(op: ClaimedClusterOperation): void;
}

const describe = (e: unknown) => (e as Error)?.message ?? String(e);

/**
 * Runs cluster operations as durable sagas, beside the resource saga engine and like it: a
 * worker claims an operation with a lease and a fencing token (ClusterStore.claim), records
 * each step as running before its side effect and its result after, passes the driver a
 * token that is the same on every retry, retries retryable failures with backoff, and on a
 * lasting failure compensates the completed steps in reverse. A worker that dies (kill -9)
 * loses its lease; another claims the operation and resumes at the step it was on.
 */
export class ClusterOperationRunner {
  readonly workerId = `cluster-worker-${randomUUID().slice(0, 8)}`;
  private readonly active = new Map<string, Promise<void>>();
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(private readonly o: ClusterOperationRunnerOptions) {
    this.leaseMs = o.leaseMs ?? 15_000;
    this.pollMs = o.pollMs ?? 250;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop = this.runLoop();
  }

  async stop() {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled(this.active.values());
  }

  wake() {
    this.wakeUp?.();
  }

  private async runLoop() {
    while (this.running) {
      const free = (this.o.concurrency ?? 8) - this.active.size;
      if (free > 0) {
        try {
          const claimed = await this.o.store.claim(
            this.workerId,
            free,
            this.leaseMs,
            [...this.active.keys()],
          );
          for (const op of claimed) {
            this.active.set(
              op.id,
              this.execute(op).finally(() => {
                this.active.delete(op.id);
                this.wake();
              }),
            );
          }
        } catch (error) {
          this.o.logger.warn(
            `could not claim cluster operations: ${describe(error)}`,
          );
        }
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Runs one claimed operation until it ends, waits for a retry, or loses its lease. */
  async execute(op: ClaimedClusterOperation): Promise<void> {
    const lost = new AbortController();
    const heartbeat = setInterval(() => {
      this.o.store
        .heartbeat(op, this.leaseMs)
        .then(held => {
          if (!held) lost.abort(new LeaseLostError(op.id));
        })
        .catch(() => undefined);
    }, Math.max(50, this.leaseMs / 3));
    try {
      const { driver, cluster } = await this.o.resolve(op);
      if (!(await this.enterStartPhase(op))) return;
      const compensating = op.steps.some(s => s.state === 'failed');
      if (compensating) {
        await this.compensate(
          op,
          driver,
          cluster,
          lost.signal,
          op.error ?? 'failed',
        );
      } else {
        await this.forward(op, driver, cluster, lost.signal);
      }
    } catch (error) {
      if (error instanceof LeaseLostError || lost.signal.aborted) {
        this.o.logger.warn(`lost the lease of cluster operation ${op.id}`);
        return;
      }
      this.o.logger.error(
        `cluster operation ${op.id} stopped unexpectedly: ${describe(error)}`,
      );
      await this.o.store
        .save(op, { runAfter: Date.now() + 5_000, release: true })
        .catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * A deferred operation (an upgrade that waited for its maintenance window) moves the
   * cluster to its start phase when it starts, not when it was asked for. False: it could not
   * (the cluster left the phases it starts from) and the operation failed, changing nothing.
   */
  private async enterStartPhase(op: ClaimedClusterOperation): Promise<boolean> {
    const fresh = op.steps.every(
      s => s.state === 'pending' && s.attempts === 0,
    );
    if (op.params.deferred !== true || !fresh) return true;
    const phases = sagaPhases[op.type as ClusterOperationType];
    const phase = (await this.o.store.observed(op.cluster))?.phase;
    if (phase === phases.start) return true;
    if (phase && phases.from.includes(phase)) {
      await this.o.store.save(op, {}, trx =>
        this.o.store.transition(
          op.cluster,
          phase,
          phases.start,
          trx,
          'its maintenance window opened',
        ),
      );
      return true;
    }
    const error = `${op.cluster} is ${
      phase ?? 'not observed'
    } when its window opened: the ${op.type} did not start`;
    await this.o.store.save(
      op,
      { state: 'failed', error, release: true },
      async trx => {
        await this.o.audit.append(
          {
            actor: op.actor,
            action: `cluster.${op.type}`,
            target: `cluster:${op.cluster}`,
            outcome: 'failed',
            reason: error,
          },
          trx,
        );
      },
    );
    return false;
  }

  private context(
    op: ClaimedClusterOperation,
    driver: ClusterDriver,
    cluster: ClusterDriverCluster,
    step: string,
    signal: AbortSignal,
  ): ClusterStepContext {
    return {
      op,
      driver,
      cluster,
      deps: this.o.deps,
      call: {
        idempotencyToken: `${op.id}:${step}`,
        operationId: op.id,
        signal,
        logger: this.o.logger.child({ clusterOperationId: op.id, step }),
      },
    };
  }

  private async forward(
    op: ClaimedClusterOperation,
    driver: ClusterDriver,
    cluster: ClusterDriverCluster,
    lost: AbortSignal,
  ) {
    const maxAttempts = this.o.maxAttempts ?? 5;
    for (let i = 0; i < op.steps.length; i++) {
      if (op.steps[i].state === 'succeeded') continue;
      const name = op.steps[i].name;
      const attempts = op.steps[i].attempts + 1;
      // Recorded before its side effect: a run that dies here is resumed at this step.
      await this.o.store.save(op, {
        steps: op.steps.map((s, j) =>
          j === i ? { ...s, state: 'running', attempts } : s,
        ),
      });
      const timeout = AbortSignal.timeout(this.o.stepTimeoutMs ?? 30 * 60_000);
      const signal = AbortSignal.any([lost, timeout]);
      let result: unknown;
      try {
        result = await stepFor(name, op).run(
          this.context(op, driver, cluster, name, signal),
        );
      } catch (error) {
        if (lost.aborted) throw lost.reason;
        const retryable =
          (error instanceof DriverError && error.retryable) || timeout.aborted;
        if (retryable && attempts < maxAttempts) {
          await this.o.store.save(op, {
            steps: op.steps.map((s, j) =>
              j === i ? { ...s, state: 'pending', error: describe(error) } : s,
            ),
            runAfter:
              Date.now() + backoffMs(attempts, { baseMs: 250, maxMs: 30_000 }),
            release: true,
          });
          return;
        }
        await this.o.store.save(op, {
          steps: op.steps.map((s, j) =>
            j === i ? { ...s, state: 'failed', error: describe(error) } : s,
          ),
          error: `${name}: ${describe(error)}`,
        });
        await this.compensate(
          op,
          driver,
          cluster,
          lost,
          `${name}: ${describe(error)}`,
        );
        return;
      }
      const steps = op.steps.map((s, j) =>
        j === i
          ? {
              ...s,
              state: 'succeeded' as const,
              result: result ?? null,
              error: undefined,
            }
          : s,
      );
      if (i < op.steps.length - 1) {
        await this.o.store.save(op, { steps });
      } else {
        await this.finish(op, steps, 'succeeded', null);
      }
    }
  }

  /** Undoes the steps that ran, newest first; a failing compensation is logged and skipped. */
  private async compensate(
    op: ClaimedClusterOperation,
    driver: ClusterDriver,
    cluster: ClusterDriverCluster,
    lost: AbortSignal,
    reason: string,
  ) {
    let steps: ClusterStepRecord[] = op.steps;
    const needsPerson: string[] = [];
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i];
      if (
        s.state !== 'succeeded' &&
        s.state !== 'failed' &&
        s.state !== 'running'
      )
        continue;
      const step = stepFor(s.name, op);
      if (step.compensate) {
        try {
          await step.compensate(
            this.context(op, driver, cluster, `${s.name}:compensate`, lost),
            s.result,
          );
        } catch (error) {
          if (lost.aborted) throw lost.reason;
          needsPerson.push(`${s.name}: ${describe(error)}`);
          this.o.logger.error(
            `ALERT: could not undo ${s.name} of cluster operation ${
              op.id
            }: ${describe(error)}; a person must look at it`,
          );
        }
      }
      steps = steps.map((r, j) =>
        j === i && r.state === 'succeeded' ? { ...r, state: 'compensated' } : r,
      );
      await this.o.store.save(op, { steps });
    }
    await this.finish(
      op,
      steps,
      needsPerson.length ? 'failed' : 'compensated',
      needsPerson.length
        ? `${reason}; compensation failed: ${needsPerson.join('; ')}`
        : reason,
    );
  }

  private async finish(
    op: ClaimedClusterOperation,
    steps: ClusterStepRecord[],
    state: 'succeeded' | 'compensated' | 'failed',
    error: string | null,
  ) {
    const phases = sagaPhases[op.type as ClusterOperationType];
    const to: ClusterPhase =
      state === 'succeeded' ? phases.success : phases.failure;
    await this.o.store.save(
      op,
      { steps, state, error, release: true },
      async trx => {
        await this.o.store.transition(op.cluster, phases.start, to, trx);
        await this.o.audit.append(
          {
            actor: op.actor,
            action: `cluster.${op.type}`,
            target: `cluster:${op.cluster}`,
            outcome: state === 'succeeded' ? 'succeeded' : 'failed',
            reason:
              state === 'succeeded'
                ? `${op.type} of ${op.cluster} succeeded (operation ${op.id})`
                : `${op.type} of ${op.cluster} ${state}: ${error}`,
          },
          trx,
        );
      },
    );
    this.o.logger.info(
      `cluster operation ${op.id} (${op.type} ${op.cluster}) ${state}`,
      {
        clusterOperationId: op.id,
        cluster: op.cluster,
      },
    );
    this.o.onSettled?.(op);
  }
}
