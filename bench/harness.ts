/**
 * The benchmark harness: a scenario and its baseline run in the same process, interleaved
 * (ABBA order) over several repetitions, so that machine noise hits both alike. Prints the
 * median time per operation of each and their ratio; when both report the time of each
 * operation (per-decision samples), also the p50 and p99 over every operation timed.
 */
import { performance } from 'node:perf_hooks';

/**
 * One thing to time: `run` performs `batch` operations. It may return the time of each one in
 * milliseconds (timed around the operation alone), for percentiles.
 */
export interface Measured {
  label: string;
  run(batch: number): Promise<void | number[]>;
}

/** A comparison: the scenario against its baseline, under one setting (e.g. a database). */
export interface Comparison {
  name: string;
  scenario: Measured;
  baseline: Measured;
  /** Operations per timed batch. */
  batch: number;
  /** A goal for the scenario's p99 per operation, printed as met or missed. */
  goalP99Ms?: number;
  close(): Promise<void>;
}

export interface Benchmark {
  description: string;
  /** The comparisons, created lazily so each can be closed before the next starts. */
  comparisons(): AsyncIterable<Comparison>;
}

export interface Result {
  name: string;
  scenario: string;
  baseline: string;
  scenarioMedianMs: number;
  baselineMedianMs: number;
  ratio: number;
  /** p50 and p99 of single operations, when both sides reported them. */
  percentiles?: {
    scenario: { p50: number; p99: number };
    baseline: { p50: number; p99: number };
    samples: number;
  };
  goalP99Ms?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The nearest-rank percentile `p` (0 to 100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

async function timePerOp(
  m: Measured,
  batch: number,
  samples: number[][],
): Promise<number> {
  const start = performance.now();
  const perOp = await m.run(batch);
  const elapsed = performance.now() - start;
  if (perOp) samples.push(perOp);
  return elapsed / batch;
}

export async function compare(
  c: Comparison,
  repetitions: number,
): Promise<Result> {
  // Warm up both paths (JIT, caches, connections) before anything is timed.
  await c.scenario.run(Math.max(1, Math.floor(c.batch / 4)));
  await c.baseline.run(Math.max(1, Math.floor(c.batch / 4)));

  const scenario: number[] = [];
  const baseline: number[] = [];
  const scenarioSamples: number[][] = [];
  const baselineSamples: number[][] = [];
  for (let i = 0; i < repetitions; i++) {
    if (i % 2 === 0) {
      scenario.push(await timePerOp(c.scenario, c.batch, scenarioSamples));
      baseline.push(await timePerOp(c.baseline, c.batch, baselineSamples));
    } else {
      baseline.push(await timePerOp(c.baseline, c.batch, baselineSamples));
      scenario.push(await timePerOp(c.scenario, c.batch, scenarioSamples));
    }
  }
  const scenarioMedianMs = median(scenario);
  const baselineMedianMs = median(baseline);
  const flat = (runs: number[][]) => runs.flat();
  const both =
    scenarioSamples.length === repetitions &&
    baselineSamples.length === repetitions;
  const spread = (values: number[]) => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
  });
  return {
    name: c.name,
    scenario: c.scenario.label,
    baseline: c.baseline.label,
    scenarioMedianMs,
    baselineMedianMs,
    ratio: scenarioMedianMs / baselineMedianMs,
    ...(c.goalP99Ms !== undefined ? { goalP99Ms: c.goalP99Ms } : {}),
    ...(both
      ? {
          percentiles: {
            scenario: spread(flat(scenarioSamples)),
            baseline: spread(flat(baselineSamples)),
            samples: flat(scenarioSamples).length,
          },
        }
      : {}),
  };
}

export function formatResult(r: Result): string {
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  const medians = `${r.name}: ${r.scenario} ${ms(r.scenarioMedianMs)}/op, ${
    r.baseline
  } ${ms(r.baselineMedianMs)}/op, ratio ${r.ratio.toFixed(2)}x`;
  const p = r.percentiles;
  if (!p) return medians;
  const goal =
    r.goalP99Ms === undefined
      ? ''
      : `; goal p99 ≤ ${r.goalP99Ms} ms ${
          p.scenario.p99 <= r.goalP99Ms ? 'met' : 'MISSED'
        }`;
  return `${medians}; per op over ${p.samples}: ${r.scenario} p50 ${ms(
    p.scenario.p50,
  )} p99 ${ms(p.scenario.p99)}, ${r.baseline} p50 ${ms(
    p.baseline.p50,
  )} p99 ${ms(p.baseline.p99)}${goal}`;
}
