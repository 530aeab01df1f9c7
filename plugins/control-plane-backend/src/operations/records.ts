/*
 * The operations module owns the tables `operations` and `operation_steps`, through two
 * stores split by who writes: OperationStore (what requests do to an operation: create it,
 * ask to cancel or retry it, read it) and SagaStore (what the saga engine does: claim a run,
 * start, finish, fail and compensate its steps, on each database's prepared statements).
 * Nothing outside this folder queries those tables. These are the records the engine works
 * with: a claimed operation and its steps.
 */

/** An operation claimed by a worker, with the fencing token its writes must carry. */
export interface ClaimedOperation {
  id: string;
  type: string;
  resourceUid: string;
  resourceRef: string;
  state: 'running' | 'compensating';
  params: Record<string, unknown>;
  actor: string;
  /** The operation's trace: the request's, or one the claim gave it. */
  traceId: string;
  /** The span that accepted the operation: the parent of its step spans. */
  spanId?: string;
  targetGeneration?: number;
  cancelRequested: boolean;
  fencingToken: number;
  /** The claim recorded the start of the first step (see SagaStore.claim). */
  begun?: boolean;
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
  /** When the step first waited (threw a StepWait) in this operation; ISO. */
  waitingSince?: string;
}
