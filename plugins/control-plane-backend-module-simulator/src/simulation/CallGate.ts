import {
  DriverCallContext,
  DriverError,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { ownValue } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { SimulatorAction } from '../config';
import { FaultStore } from './FaultStore';
import { FaultVerdict, judgeCall, simulatedFailure, stepOf } from './logic';
import { SideEffectLog } from './SideEffectLog';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * What every call of the simulated driver goes through before it acts: the provider's
 * latency, the faults in force, and the once-per-idempotency-token log of side effects.
 */
export class CallGate {
  constructor(
    private readonly faults: FaultStore,
    private readonly effects: SideEffectLog,
    private readonly latencyMs: Record<string, number>,
    private readonly random: () => number,
  ) {}

  /**
   * What every call goes through: the provider's latency and slow steps, then outages, the
   * error rate and failures at a step. Returns the verdict, with `failure` set when a step
   * failure hit an `observe` (which reports it rather than throwing).
   */
  async enter(
    action: SimulatorAction,
    ref: string,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<FaultVerdict & { failure?: string }> {
    ctx.signal?.throwIfAborted();
    const step = stepOf(ctx.idempotencyToken);
    const { provider, cluster } = target;
    const verdict = judgeCall(await this.faults.list(), {
      action,
      provider,
      cluster,
      ref,
      step,
    });
    const delay =
      (ownValue(this.latencyMs, provider) ?? this.latencyMs.default ?? 0) +
      verdict.delayMs;
    if (delay > 0) await sleep(delay, ctx.signal);

    if (verdict.outage) {
      throw new DriverError(
        verdict.outage.message ??
          (verdict.outage.kind === 'provider-outage'
            ? `simulated outage of provider ${provider}`
            : `simulated outage of cluster ${cluster}`),
        { retryable: true, code: 'SimulatedOutage' },
      );
    }
    if (verdict.errorRate > 0 && this.random() < verdict.errorRate) {
      throw new DriverError(
        verdict.errorMessage ?? `simulated 503 from ${provider}`,
        { retryable: true, code: 'SimulatedUnavailable' },
      );
    }
    for (const fault of verdict.stepFailures) {
      if (await this.faults.consume(fault)) {
        const message =
          fault.message ??
          `simulated failure of ${action}${
            step ? ` at step ${step}` : ''
          } on ${cluster}`;
        ctx.logger?.info(`simulator: injected failure: ${message}`, {
          faultId: fault.id,
        });
        if (action === 'observe') return { ...verdict, failure: message };
        throw simulatedFailure(message);
      }
    }
    return verdict;
  }

  /** Runs a side effect once per token (see SideEffectLog). */
  async sideEffect<T>(
    action: SimulatorAction,
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
    effect: (trx: Knex.Transaction, now: number) => Promise<T>,
    detail?: string,
  ): Promise<T> {
    const verdict = await this.enter(action, resource.ref, target, ctx);
    const outcome = await this.effects.once(
      {
        token: ctx.idempotencyToken,
        action,
        detail,
        cluster: target.cluster,
        ref: resource.ref,
      },
      effect,
    );
    if (outcome.firstRef) {
      ctx.logger?.warn(
        `simulator: token ${ctx.idempotencyToken} was first used for ${outcome.firstRef}, now for ${resource.ref}; answering with the first result`,
      );
    }
    ctx.logger?.debug(
      `simulator: ${action}${detail ? ` ${detail}` : ''} of ${
        resource.ref
      } on ${target.cluster} ${
        outcome.replayed ? 'replayed from the log' : 'applied'
      }`,
      { idempotencyToken: ctx.idempotencyToken },
    );
    if (
      verdict.lostResponseRate > 0 &&
      this.random() < verdict.lostResponseRate
    ) {
      throw new DriverError(
        `simulated timeout from ${target.provider}: the ${action} was applied but its answer was lost`,
        { retryable: true, code: 'SimulatedTimeout' },
      );
    }
    return outcome.result;
  }
}
