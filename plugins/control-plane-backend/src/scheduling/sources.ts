import { BreakerState, ScoreWeights } from './pipeline';

/**
 * What the scheduler asks of other parts of the control plane: provider health (the health
 * store implements it) and experiment arms (the experiment store). Types only, so those
 * stores need not import the scheduler.
 */

/** What the scheduler knows of a provider's health right now. */
export interface ProviderStatus {
  health: number;
  breaker: BreakerState;
  /** Mean driver call latency, ms, over all its clusters. */
  latencyMs: number;
  /** Mean driver call latency to its clusters in each cell, ms. */
  latencyByCell: Record<string, number>;
}

/** Where provider health comes from (the health store; all healthy when absent). */
export interface ProviderStatusSource {
  statuses(): Promise<Map<string, ProviderStatus>>;
}

/** Which experiment arm, if any, a placement takes part in. */
export interface ExperimentAssigner {
  assign(placement: {
    uid: string;
    tier: string;
    cell: string;
  }): Promise<
    | { experiment: string; arm: string; weights?: Partial<ScoreWeights> }
    | undefined
  >;
}
