import { median } from 'simple-statistics';
import { MannWhitneyResult, mannWhitneyU } from './mannWhitney';

/**
 * One metric an analysis checks, and how:
 *
 * - a threshold on the canary's median over the window (`max` when `worseWhen` is
 *   `increase`, a minimum when `decrease`);
 * - a Mann-Whitney U comparison of the canary's samples with the baseline's, failing when the
 *   canary is worse with a p-value below `alpha` AND an effect at least `minEffect`
 *   (the probability that a canary sample is worse than a baseline one), so a noisy metric
 *   with no real shift does not fail it.
 *
 * @public
 */
export interface AnalysisCheck {
  /** e.g. `error-rate`, `latency-p99`, or a custom query's name. */
  metric: string;
  /** Which way is worse: `increase` for error rate and latency, `decrease` for throughput. */
  worseWhen: 'increase' | 'decrease';
  /** The limit of the canary's median; no threshold check when left out. */
  threshold?: number;
  /** The rank comparison with the baseline; none when left out or `false`. */
  compare?:
    | false
    | {
        /** Significance level of the one-sided test. @defaultValue 0.01 */
        alpha?: number;
        /** Least probability of superiority (0.5..1) that counts as worse. @defaultValue 0.75 */
        minEffect?: number;
        /**
         * The metric fails only when it breaches the threshold AND the comparison finds the
         * canary worse than the baseline: a breach the stable version shares, or one the noise
         * of a few samples makes, is not the canary's fault, and a canary within the threshold
         * passes. Without enough baseline samples to compare, the threshold decides alone.
         * @defaultValue false
         */
        gatesThreshold?: boolean;
      };
  /** Fewer samples than this (on either side) is `inconclusive`. @defaultValue 5 */
  minSamples?: number;
}

/**
 * The default thresholds of an analysis, as Flagger's: error rate at most 1 %, p99 latency at
 * most 500 ms. A tier or a rollout may set its own.
 * @public
 */
export const defaultAnalysisThresholds = {
  maxErrorRate: 0.01,
  maxLatencyP99Ms: 500,
} as const;

/**
 * The built-in checks of an analysis: `error-rate` and `latency-p99`, each thresholded
 * (defaults {@link defaultAnalysisThresholds}, or the given limits) and compared with the
 * baseline.
 * @public
 */
export function defaultAnalysisChecks(limits?: {
  maxErrorRate?: number;
  maxLatencyP99Ms?: number;
}): AnalysisCheck[] {
  return [
    {
      metric: 'error-rate',
      worseWhen: 'increase',
      threshold: limits?.maxErrorRate ?? defaultAnalysisThresholds.maxErrorRate,
      compare: {},
    },
    {
      metric: 'latency-p99',
      worseWhen: 'increase',
      threshold:
        limits?.maxLatencyP99Ms ?? defaultAnalysisThresholds.maxLatencyP99Ms,
      compare: {},
    },
  ];
}

/**
 * A verdict: `pass`, `fail`, or `inconclusive` when there were too few samples to tell.
 * @public
 */
export type AnalysisVerdict = 'pass' | 'fail' | 'inconclusive';

/**
 * The judgement of one metric, with what it was based on (shown beside the plots).
 * @public
 */
export interface MetricJudgement {
  metric: string;
  verdict: AnalysisVerdict;
  /** One line per reason, e.g. `canary median 0.025 above the threshold 0.01`. */
  reasons: string[];
  canary: { samples: number; median?: number };
  baseline: { samples: number; median?: number };
  threshold?: {
    limit: number;
    kind: 'max' | 'min';
    passed: boolean;
  };
  comparison?: MannWhitneyResult & {
    alpha: number;
    minEffect: number;
    /** The canary is worse: significant and large enough. */
    worse: boolean;
  };
}

/**
 * The judgement of an analysis: `fail` when any metric fails, else `inconclusive` when any
 * is, else `pass`.
 * @public
 */
export interface AnalysisJudgement {
  verdict: AnalysisVerdict;
  metrics: MetricJudgement[];
}

const fmt = (n: number) => Number(n.toPrecision(4)).toString();

/**
 * Judges one metric of a canary against its baseline (the stable version over the same
 * window). Pure: samples in, verdict and its reasons out.
 * @public
 */
export function judgeMetric(
  check: AnalysisCheck,
  canary: readonly number[],
  baseline: readonly number[],
): MetricJudgement {
  const minSamples = check.minSamples ?? 5;
  const canaryValues = canary.filter(Number.isFinite);
  const baselineValues = baseline.filter(Number.isFinite);
  const judgement: MetricJudgement = {
    metric: check.metric,
    verdict: 'pass',
    reasons: [],
    canary: { samples: canaryValues.length },
    baseline: { samples: baselineValues.length },
  };
  if (canaryValues.length > 0) judgement.canary.median = median(canaryValues);
  if (baselineValues.length > 0) {
    judgement.baseline.median = median(baselineValues);
  }
  const increase = check.worseWhen === 'increase';

  if (canaryValues.length < minSamples) {
    judgement.verdict = 'inconclusive';
    judgement.reasons.push(
      `${canaryValues.length} canary sample(s), fewer than ${minSamples}`,
    );
    return judgement;
  }

  if (check.threshold !== undefined) {
    const value = judgement.canary.median!;
    const passed = increase
      ? value <= check.threshold
      : value >= check.threshold;
    judgement.threshold = {
      limit: check.threshold,
      kind: increase ? 'max' : 'min',
      passed,
    };
    if (!passed) {
      if (!(check.compare && check.compare.gatesThreshold)) {
        judgement.verdict = 'fail';
      }
      judgement.reasons.push(
        `canary median ${fmt(value)} ${
          increase ? 'above' : 'below'
        } the threshold ${fmt(check.threshold)}`,
      );
    }
  }

  if (check.compare) {
    const gated =
      check.compare.gatesThreshold && judgement.threshold?.passed === false;
    if (baselineValues.length < minSamples) {
      // nothing to compare with: a gated breach stands on the threshold alone
      if (gated) judgement.verdict = 'fail';
      else if (judgement.verdict === 'pass') judgement.verdict = 'inconclusive';
      judgement.reasons.push(
        `${baselineValues.length} baseline sample(s), fewer than ${minSamples}: no comparison`,
      );
      return judgement;
    }
    const alpha = check.compare.alpha ?? 0.01;
    const minEffect = check.compare.minEffect ?? 0.75;
    const test = mannWhitneyU(
      canaryValues,
      baselineValues,
      increase ? 'greater' : 'less',
    );
    // How likely a canary sample is worse than a baseline one.
    const effect = increase
      ? test.probabilityOfSuperiority
      : 1 - test.probabilityOfSuperiority;
    const worse = test.pValue < alpha && effect >= minEffect;
    judgement.comparison = { ...test, alpha, minEffect, worse };
    const counts =
      !check.compare.gatesThreshold || judgement.threshold?.passed !== true;
    if (worse && counts) {
      judgement.verdict = 'fail';
      judgement.reasons.push(
        `canary ${
          increase ? 'higher' : 'lower'
        } than baseline: Mann-Whitney p=${fmt(test.pValue)} < ${alpha}, ` +
          `P(canary worse)=${fmt(effect)} >= ${minEffect}`,
      );
    } else if (worse) {
      judgement.reasons.push(
        `canary ${
          increase ? 'higher' : 'lower'
        } than baseline (Mann-Whitney p=${fmt(
          test.pValue,
        )}), but within the threshold`,
      );
    } else if (gated) {
      judgement.reasons.push(
        `not worse than baseline (Mann-Whitney p=${fmt(
          test.pValue,
        )}, P(canary worse)=${fmt(effect)}): the breach is not the canary's`,
      );
    }
  }
  return judgement;
}

/**
 * Judges every check of an analysis. `samples` gives, per metric name, the canary's and the
 * baseline's values (a missing metric has no samples: `inconclusive`).
 * @public
 */
export function judgeAnalysis(
  checks: readonly AnalysisCheck[],
  samples: ReadonlyMap<
    string,
    { canary: readonly number[]; baseline: readonly number[] }
  >,
): AnalysisJudgement {
  const metrics = checks.map(check => {
    const s = samples.get(check.metric);
    return judgeMetric(check, s?.canary ?? [], s?.baseline ?? []);
  });
  const verdicts = new Set(metrics.map(m => m.verdict));
  let verdict: AnalysisVerdict = 'pass';
  if (verdicts.has('fail')) verdict = 'fail';
  else if (verdicts.has('inconclusive')) verdict = 'inconclusive';
  return { verdict, metrics };
}
