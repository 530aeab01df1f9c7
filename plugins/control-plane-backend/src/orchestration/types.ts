import { LoggerService } from '@backstage/backend-plugin-api';
import { ResourceState } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DesiredState } from '../gitops/DesiredState';
import { ResourceRecord } from '../resources/ResourceStore';
import { ClaimedOperation } from './SagaStore';

/** What a step sees while it runs. */
export interface SagaContext {
  operation: ClaimedOperation;
  /** The resource as it was when this run of the operation started. */
  resource: ResourceRecord;
  /** The desired state (products, tiers, fleet) when this run started. */
  desired: DesiredState;
  /** Results of the steps that completed, by step name. */
  results: Record<string, unknown>;
  /** `<operation id>:<step>` (`:compensate` appended for compensations): the same on every retry. */
  idempotencyToken: string;
  signal: AbortSignal;
  logger: LoggerService;
}

/**
 * One step of a saga. `run` performs one side effect and returns a JSON result; `compensate`
 * undoes it (it is registered before the step runs, so a step that failed half-way is
 * compensated too). Both must be idempotent for the same token.
 */
export interface SagaStep {
  name: string;
  run(ctx: SagaContext): Promise<unknown>;
  compensate?(ctx: SagaContext, result: unknown): Promise<void>;
  /** Writes what the step learned (a placement, an endpoint) with its completion record. */
  persist?(
    trx: Knex.Transaction,
    ctx: SagaContext,
    result: unknown,
  ): Promise<void>;
  /**
   * Undoes what `persist` wrote, in the fenced transaction that records the compensation
   * (so a worker that lost its lease cannot write it).
   */
  revert?(
    trx: Knex.Transaction,
    ctx: SagaContext,
    result: unknown,
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
}
