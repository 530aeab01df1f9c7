import { ScoreWeights } from './pipeline';

/** Which experiment arm, if any, a placement takes part in (the experiment store answers). */
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
