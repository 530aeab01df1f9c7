import { errorFunction } from 'simple-statistics';

/**
 * Which way the Mann-Whitney U test looks: `greater` asks whether the first sample tends to
 * be larger than the second (a canary worse on error rate or latency), `less` the opposite,
 * `two-sided` either.
 * @public
 */
export type MannWhitneyAlternative = 'greater' | 'less' | 'two-sided';

/**
 * The outcome of a Mann-Whitney U test of sample `a` against sample `b`.
 * @public
 */
export interface MannWhitneyResult {
  /** U of `a`: the number of pairs (x of a, y of b) where x is the larger, ties counting one half. */
  u: number;
  /** The standardised statistic (normal approximation, tie and continuity corrected). */
  z: number;
  /** The p-value of the alternative asked for. */
  pValue: number;
  /**
   * The effect size as the common-language effect size: the probability that a value of `a`
   * exceeds one of `b` (ties one half), `U / (n_a n_b)`. 0.5 means no difference.
   */
  probabilityOfSuperiority: number;
  /** The rank-biserial correlation, `2 P - 1`, in -1..1 (0: no difference). */
  rankBiserial: number;
  /** The size of `a`. */
  na: number;
  /** The size of `b`. */
  nb: number;
}

/** The standard normal distribution function. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

/**
 * Ranks of the pooled values (1-based), ties given their average rank, and the tie term
 * sum(t^3 - t) over groups of ties.
 */
function pooledRanks(values: number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((v, i) => ({ v, i })).sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    const rank = (start + end + 2) / 2;
    for (let k = start; k <= end; k++) ranks[order[k].i] = rank;
    const t = end - start + 1;
    tieTerm += t * t * t - t;
    start = end + 1;
  }
  return { ranks, tieTerm };
}

/**
 * The Mann-Whitney U test (Wilcoxon rank-sum) of `a` against `b`, as Kayenta's judge runs it:
 * a rank test, so that one outlier or a noisy metric moves the verdict far less than a
 * comparison of means would. The p-value uses the normal approximation with tie and
 * continuity corrections (sound from about eight samples a side). Values that are not finite
 * are refused.
 * @public
 */
export function mannWhitneyU(
  a: readonly number[],
  b: readonly number[],
  alternative: MannWhitneyAlternative = 'two-sided',
): MannWhitneyResult {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) {
    throw new RangeError(
      `the Mann-Whitney U test needs samples on both sides (got ${na} and ${nb})`,
    );
  }
  if (![...a, ...b].every(Number.isFinite)) {
    throw new RangeError('the Mann-Whitney U test takes finite numbers only');
  }
  const { ranks, tieTerm } = pooledRanks([...a, ...b]);
  let rankSumA = 0;
  for (let i = 0; i < na; i++) rankSumA += ranks[i];
  const u = rankSumA - (na * (na + 1)) / 2;
  const mean = (na * nb) / 2;
  const n = na + nb;
  const variance = ((na * nb) / 12) * (n + 1 - tieTerm / (n * (n - 1) || 1));
  const probabilityOfSuperiority = u / (na * nb);
  const result = (z: number, pValue: number): MannWhitneyResult => ({
    u,
    z,
    pValue: Math.min(1, Math.max(0, pValue)),
    probabilityOfSuperiority,
    rankBiserial: 2 * probabilityOfSuperiority - 1,
    na,
    nb,
  });
  if (variance <= 0) {
    // Every value is the same: nothing tells the samples apart.
    return result(0, 1);
  }
  const sd = Math.sqrt(variance);
  const diff = u - mean;
  switch (alternative) {
    case 'greater': {
      const z = (diff - 0.5) / sd;
      return result(z, 1 - normalCdf(z));
    }
    case 'less': {
      const z = (diff + 0.5) / sd;
      return result(z, normalCdf(z));
    }
    default: {
      const z = (diff - Math.sign(diff) * 0.5) / sd;
      return result(z, 2 * (1 - normalCdf(Math.abs(z))));
    }
  }
}
