import { LoggerService } from '@backstage/backend-plugin-api';
import { ResourceState } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord } from '../resources/ResourceStore';

export type { ClaimedOperation, StepRecord } from '../operations/records';
import type { ClaimedOperation } from '../operations/records';

/** What a step sees while it runs. */
export interface SagaContext {
  operation: ClaimedOperation;
  /** The resource as it was when this run of the operation started. */
  resource: ResourceRecord;
  /** The desired state (products, tiers, fleet) when this run started. */
  desired: DesiredState;
  /**
   * What an earlier step of this saga returned (in this run, or a run before it): undefined
   * when that step has not succeeded, or is not in this saga.
   */
  result<R>(step: SagaStep<R>): R | undefined;
  /** `<operation id>:<step>` (`:compensate` appended for compensations): the same on every retry. */
  idempotencyToken: string;
  /**
   * When this step first waited ({@link StepWait}) in this operation, kept across restarts and
   * replicas: how a waiting step bounds its wait. Undefined until it has waited once.
   */
  waitingSince?: DateTime;
  signal: AbortSignal;
  logger: LoggerService;
}

/**
 * One step of a saga, returning `R`. `run` performs one side effect and returns a JSON
 * result, which later steps read with `ctx.result(step)`; `compensate` undoes it (it is
 * registered before the step runs, so a step that failed half-way is compensated too, and
 * then has no result). Both must be idempotent for the same token.
 */
export interface SagaStep<R = unknown> {
  name: string;
  run(ctx: SagaContext): Promise<R>;
  compensate?(ctx: SagaContext, result: R | undefined): Promise<void>;
  /** Writes what the step learned (a placement, an endpoint) with its completion record. */
  persist?(trx: Knex.Transaction, ctx: SagaContext, result: R): Promise<void>;
  /**
   * Undoes what `persist` wrote, in the fenced transaction that records the compensation
   * (so a worker that lost its lease cannot write it).
   */
  revert?(
    trx: Knex.Transaction,
    ctx: SagaContext,
    result: R | undefined,
  ): Promise<void>;
  /** Overrides the tier's step timeout, e.g. for waits. */
  timeoutMs?: (ctx: SagaContext) => number;
}

/** What the resource becomes as the operation starts, succeeds, or fails. */
export interface SagaTransitions {
  /** When the operation starts, from any of `from`. */
  start?: { from: ResourceState[]; to: ResourceState };
  /** When every step succeeded. */
  success?: ResourceState;
  /** When it failed and was compensated (or was cancelled). */
  failure?: ResourceState;
}

/** A saga: an ordered list of steps and what they do to the resource's state. */
export interface Saga {
  type: string;
  steps: SagaStep[];
  transitions: SagaTransitions;
  /** Whether success means the resource now runs its desired generation. */
  realisesGeneration: boolean;
  /**
   * Writes what the saga's own records say of its end, failed (`cancelled`: on demand) and
   * undone, in the transaction that ends it and moves the resource (e.g. a deployment's
   * outcome).
   */
  onFailure?(
    trx: Knex.Transaction,
    end: { cancelled: boolean; why: string },
  ): Promise<void>;
}

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

/**
 * Thrown by a step that is not done yet and wants to run again after `delayMs`: a pause, the
 * next measurement of an analysis, an approval awaited. The operation is released (no worker
 * holds it while it waits), and the wait counts as no attempt.
 */
export class StepWait extends Error {
  constructor(readonly delayMs: number, message = 'waiting') {
    super(message);
    this.name = 'StepWait';
  }
}
