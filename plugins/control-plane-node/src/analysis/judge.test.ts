import fc from 'fast-check';
import { defaultAnalysisChecks, judgeAnalysis, judgeMetric } from './judge';
import { mannWhitneyU } from './mannWhitney';

/** A seeded generator (mulberry32), so each property run is reproducible. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Error rates of `n` one-minute windows of `requests` requests each, every request failing
 * with probability `rate`: the noise of a real low-traffic service.
 */
function errorRates(
  random: () => number,
  n: number,
  rate: number,
  requests = 400,
): number[] {
  return Array.from({ length: n }, () => {
    let errors = 0;
    for (let i = 0; i < requests; i++) if (random() < rate) errors++;
    return errors / requests;
  });
}

/** p99 latencies around `ms` with ±30 % multiplicative noise. */
function latencies(random: () => number, n: number, ms: number): number[] {
  return Array.from({ length: n }, () => ms * (0.7 + 0.6 * random()));
}

const checks = defaultAnalysisChecks();

/**
 * One analysis window: twelve samples a side, the baseline failing 0.4 % of requests and the
 * canary `canaryErrorRate`, both with the same noisy p99 latency.
 */
function windowOf(random: () => number, canaryErrorRate: number) {
  return new Map([
    [
      'error-rate',
      {
        canary: errorRates(random, 12, canaryErrorRate),
        baseline: errorRates(random, 12, 0.004),
      },
    ],
    [
      'latency-p99',
      {
        canary: latencies(random, 12, 180),
        baseline: latencies(random, 12, 180),
      },
    ],
  ]);
}

describe('judgeAnalysis', () => {
  it('passes a canary that behaves like its baseline in at least 95 % of seeds, however noisy', () => {
    let passes = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), seed => {
        const samples = windowOf(seeded(seed), 0.004);
        runs++;
        if (judgeAnalysis(checks, samples).verdict === 'pass') passes++;
      }),
      { numRuns: 400, seed: 42 },
    );
    expect(runs).toBe(400);
    expect(passes / runs).toBeGreaterThanOrEqual(0.95);
  });

  it('fails a canary with five times the error rate, on every seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), seed => {
        const samples = windowOf(seeded(seed), 0.02);
        const judgement = judgeAnalysis(checks, samples);
        expect(judgement.verdict).toBe('fail');
        const errors = judgement.metrics.find(m => m.metric === 'error-rate')!;
        expect(errors.verdict).toBe('fail');
        expect(errors.comparison?.worse).toBe(true);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('fails a canary with five times the error rate even while both stay under the threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), seed => {
        const random = seeded(seed);
        const judgement = judgeMetric(
          checks[0],
          errorRates(random, 12, 0.0015, 4000),
          errorRates(random, 12, 0.0003, 4000),
        );
        expect(judgement.threshold?.passed).toBe(true);
        expect(judgement.verdict).toBe('fail');
        expect(judgement.reasons.join()).toMatch(/Mann-Whitney p=/);
      }),
      { numRuns: 100, seed: 3 },
    );
  });

  it('does not let one outlier of a noisy metric flip the verdict', () => {
    const random = seeded(11);
    const baseline = latencies(random, 12, 180);
    const canary = latencies(random, 12, 180);
    canary[3] = 5000; // one slow scrape
    const judgement = judgeMetric(checks[1], canary, baseline);
    expect(judgement.verdict).toBe('pass');
    expect(judgement.comparison?.worse).toBe(false);
  });

  it.each`
    metric           | canary                                 | verdict           | reason
    ${'error-rate'}  | ${[0.02, 0.03, 0.025, 0.02, 0.03]}     | ${'fail'}         | ${/canary median 0.025 above the threshold 0.01/}
    ${'latency-p99'} | ${[620, 640, 700, 610, 650]}           | ${'fail'}         | ${/canary median 640 above the threshold 500/}
    ${'latency-p99'} | ${[120, 130, 140]}                     | ${'inconclusive'} | ${/3 canary sample\(s\), fewer than 5/}
    ${'error-rate'}  | ${[0.001, 0.002, 0.001, 0.003, 0.002]} | ${'pass'}         | ${/^$/}
  `(
    '$metric of $canary is $verdict against the default thresholds',
    ({ metric, canary, verdict, reason }) => {
      const check = checks.find(c => c.metric === metric)!;
      const judgement = judgeMetric({ ...check, compare: false }, canary, []);
      expect(judgement.verdict).toBe(verdict);
      expect(judgement.reasons.join()).toMatch(reason);
    },
  );

  it('is inconclusive without baseline samples to compare with, and says so', () => {
    const judgement = judgeAnalysis(
      checks,
      new Map([
        ['error-rate', { canary: [0, 0, 0, 0, 0], baseline: [] }],
        ['latency-p99', { canary: [90, 91, 92, 93, 94], baseline: [] }],
      ]),
    );
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.metrics[0].reasons).toEqual([
      '0 baseline sample(s), fewer than 5: no comparison',
    ]);
  });

  it('judges a metric where lower is worse (throughput) the other way', () => {
    const check = {
      metric: 'request-rate',
      worseWhen: 'decrease' as const,
      threshold: 50,
      compare: {},
    };
    const baseline = [100, 102, 98, 101, 99, 100, 103, 97];
    expect(
      judgeMetric(check, [60, 61, 59, 62, 58, 60, 61, 59], baseline),
    ).toMatchObject({
      verdict: 'fail',
      threshold: { kind: 'min', passed: true },
    });
    expect(
      judgeMetric(check, [101, 99, 100, 102, 98, 100, 101, 99], baseline)
        .verdict,
    ).toBe('pass');
  });
});

describe('mannWhitneyU', () => {
  // Reference values from scipy.stats.mannwhitneyu(a, b, alternative=..., method='asymptotic').
  it.each`
    a                     | b                     | alternative    | u     | p
    ${[1, 2, 3, 4, 5]}    | ${[6, 7, 8, 9, 10]}   | ${'less'}      | ${0}  | ${0.006093}
    ${[6, 7, 8, 9, 10]}   | ${[1, 2, 3, 4, 5]}    | ${'greater'}   | ${25} | ${0.006093}
    ${[1, 2, 3, 4, 5]}    | ${[6, 7, 8, 9, 10]}   | ${'two-sided'} | ${0}  | ${0.012186}
    ${[1, 2, 2, 3, 3, 4]} | ${[2, 3, 4, 4, 5, 6]} | ${'two-sided'} | ${7}  | ${0.085839}
  `(
    'U=$u and p=$p for $a against $b ($alternative)',
    ({ a, b, alternative, u, p }) => {
      const result = mannWhitneyU(a, b, alternative);
      expect(result.u).toBe(u);
      expect(result.pValue).toBeCloseTo(p, 4);
    },
  );

  it('gives the effect size as the probability of superiority and the rank-biserial correlation', () => {
    const result = mannWhitneyU([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
    expect(result.probabilityOfSuperiority).toBe(1);
    expect(result.rankBiserial).toBe(1);
  });

  it('tells nothing apart when every value is the same', () => {
    expect(mannWhitneyU([0, 0, 0], [0, 0, 0], 'greater').pValue).toBe(1);
  });

  it('refuses empty or non-finite samples', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(/samples on both sides/);
    expect(() => mannWhitneyU([NaN], [1])).toThrow(/finite/);
  });
});

describe('a threshold gated on the comparison', () => {
  const gated = {
    metric: 'error-rate',
    worseWhen: 'increase' as const,
    threshold: 0.01,
    compare: { gatesThreshold: true },
  };
  const random = seeded(7);

  it('passes a canary above the threshold that the stable version matches: not its fault', () => {
    const j = judgeMetric(
      gated,
      errorRates(random, 12, 0.02),
      errorRates(random, 12, 0.02),
    );
    expect(j.verdict).toBe('pass');
    expect(j.threshold).toMatchObject({ passed: false });
    expect(j.reasons.join(' ')).toMatch(/not worse than baseline/);
  });

  it('fails a canary above the threshold and worse than the stable version', () => {
    const j = judgeMetric(
      gated,
      errorRates(random, 12, 0.2),
      errorRates(random, 12, 0.002),
    );
    expect(j.verdict).toBe('fail');
    expect(j.reasons.join(' ')).toMatch(
      /above the threshold.*higher than baseline/,
    );
  });

  it('lets the threshold decide alone without baseline samples to compare with', () => {
    expect(judgeMetric(gated, errorRates(random, 12, 0.2), []).verdict).toBe(
      'fail',
    );
    expect(judgeMetric(gated, errorRates(random, 12, 0), []).verdict).toBe(
      'inconclusive',
    );
  });
});

describe('a gated comparison within the threshold', () => {
  it('passes a canary worse than its baseline by rank but within the limit', () => {
    const j = judgeMetric(
      {
        metric: 'latency-p99',
        worseWhen: 'increase',
        threshold: 500,
        compare: { gatesThreshold: true },
      },
      [120, 125, 130, 128, 122, 126, 131, 127],
      [60, 62, 61, 63, 59, 64, 60, 62],
    );
    expect(j.verdict).toBe('pass');
    expect(j.reasons.join(' ')).toMatch(/but within the threshold/);
  });
});
