/**
 * The benchmark harness: a scenario and its baseline run in the same process, interleaved
 * (ABBA order) over several repetitions, so that machine noise hits both alike. Prints the
 * median time per operation of each and their ratio; when both report the time of each
 * operation (per-decision samples), also the p50 and p99 over every operation timed.
 */
import { performance } from 'node:perf_hooks';

/**
 * The time of each operation, in milliseconds: wall-clock, and the CPU time of the process
 * (which other processes on a shared machine do not inflate: where the two differ, the
 * machine was busy).
 */
export interface OpSamples {
  wallMs: number[];
  cpuMs: number[];
}

/**
 * One thing to time: `run` performs `batch` operations. It may return the time of each one
 * (see {@link timeEach}), for percentiles.
 */
export interface Measured {
  label: string;
  /** Sets up what the next `run(batch)` works on; not timed. */
  prepare?(batch: number): Promise<void>;
  run(batch: number): Promise<void | OpSamples>;
}

/** Runs `fn` `n` times, timing each call on its own (wall-clock and CPU). */
export async function timeEach(
  n: number,
  fn: (i: number) => unknown,
): Promise<OpSamples> {
  const wallMs = new Array<number>(n);
  const cpuMs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const result = fn(i);
    // any thenable (a knex transaction or query is one without being a Promise)
    if (typeof (result as PromiseLike<unknown>)?.then === 'function') {
      await result;
    }
    wallMs[i] = performance.now() - start;
    const used = process.cpuUsage(cpu);
    cpuMs[i] = (used.user + used.system) / 1000;
  }
  return { wallMs, cpuMs };
}

/** A comparison: the scenario against its baseline, under one setting (e.g. a database). */
export interface Comparison {
  name: string;
  scenario: Measured;
  baseline: Measured;
  /** Operations per timed batch. */
  batch: number;
  /** What one operation counts as, e.g. the steps of a saga: times are per one of these. */
  opsPerRun?: number;
  /** A goal for the scenario's p99 per operation, printed as met or missed. */
  goalP99Ms?: number;
  /** A goal for the ratio of the medians (scenario / baseline), printed as met or missed. */
  goalRatio?: number;
  /** What else to print after the timing (e.g. what the scenario counted), as lines. */
  report?(): Promise<string[]>;
  close(): Promise<void>;
}

/** What a run asks of a benchmark (`yarn bench <name> --database sqlite --sizes 0,10000`). */
export interface BenchOptions {
  /** One database only (scenarios that run on several). */
  database?: string;
  /** These sizes only (scenarios that run at several). */
  sizes?: number[];
}

export interface Benchmark {
  description: string;
  /** The comparisons, created lazily so each can be closed before the next starts. */
  comparisons(options?: BenchOptions): AsyncIterable<Comparison>;
}

export interface Result {
  name: string;
  scenario: string;
  baseline: string;
  scenarioMedianMs: number;
  baselineMedianMs: number;
  ratio: number;
  /** p50 and p99 of single operations (wall-clock and CPU), when both sides reported them. */
  percentiles?: {
    scenario: Spread;
    baseline: Spread;
    samples: number;
  };
  goalP99Ms?: number;
  goalRatio?: number;
}

/** Percentiles of single operations, ms. */
export interface Spread {
  p50: number;
  p99: number;
  cpuP50: number;
  cpuP99: number;
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
  samples: OpSamples[],
  opsPerRun = 1,
): Promise<number> {
  await m.prepare?.(batch);
  const start = performance.now();
  const perOp = await m.run(batch);
  const elapsed = performance.now() - start;
  if (perOp) samples.push(perOp);
  return elapsed / (batch * opsPerRun);
}

export async function compare(
  c: Comparison,
  repetitions: number,
): Promise<Result> {
  // Warm up both paths (JIT, caches, connections) before anything is timed.
  const warmUp = Math.max(1, Math.floor(c.batch / 4));
  await timePerOp(c.scenario, warmUp, []);
  await timePerOp(c.baseline, warmUp, []);

  const scenario: number[] = [];
  const baseline: number[] = [];
  const scenarioSamples: OpSamples[] = [];
  const baselineSamples: OpSamples[] = [];
  for (let i = 0; i < repetitions; i++) {
    if (i % 2 === 0) {
      scenario.push(
        await timePerOp(c.scenario, c.batch, scenarioSamples, c.opsPerRun),
      );
      baseline.push(
        await timePerOp(c.baseline, c.batch, baselineSamples, c.opsPerRun),
      );
    } else {
      baseline.push(
        await timePerOp(c.baseline, c.batch, baselineSamples, c.opsPerRun),
      );
      scenario.push(
        await timePerOp(c.scenario, c.batch, scenarioSamples, c.opsPerRun),
      );
    }
  }
  const scenarioMedianMs = median(scenario);
  const baselineMedianMs = median(baseline);
  const both =
    scenarioSamples.length === repetitions &&
    baselineSamples.length === repetitions;
  const spread = (runs: OpSamples[]): Spread => {
    const wall = runs.flatMap(r => r.wallMs);
    const cpu = runs.flatMap(r => r.cpuMs);
    return {
      p50: percentile(wall, 50),
      p99: percentile(wall, 99),
      cpuP50: percentile(cpu, 50),
      cpuP99: percentile(cpu, 99),
    };
  };
  return {
    name: c.name,
    scenario: c.scenario.label,
    baseline: c.baseline.label,
    scenarioMedianMs,
    baselineMedianMs,
    ratio: scenarioMedianMs / baselineMedianMs,
    ...(c.goalP99Ms !== undefined ? { goalP99Ms: c.goalP99Ms } : {}),
    ...(c.goalRatio !== undefined ? { goalRatio: c.goalRatio } : {}),
    ...(both
      ? {
          percentiles: {
            scenario: spread(scenarioSamples),
            baseline: spread(baselineSamples),
            samples: scenarioSamples.reduce((n, r) => n + r.wallMs.length, 0),
          },
        }
      : {}),
  };
}

export function formatResult(r: Result): string {
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  const medians = `${r.name}: ${r.scenario} ${ms(r.scenarioMedianMs)}/op, ${
    r.baseline
  } ${ms(r.baselineMedianMs)}/op, ratio ${r.ratio.toFixed(2)}x${
    r.goalRatio === undefined
      ? ''
      : ` (goal ≤ ${r.goalRatio}x: ${
          r.ratio <= r.goalRatio ? 'met' : 'MISSED'
        })`
  }`;
  const p = r.percentiles;
  if (!p) return medians;
  const spread = (label: string, x: Spread) =>
    `${label} p50 ${ms(x.p50)} p99 ${ms(x.p99)} (CPU p50 ${ms(
      x.cpuP50,
    )} p99 ${ms(x.cpuP99)})`;
  const verdict = (v: number) =>
    v <= (r.goalP99Ms ?? Infinity) ? 'met' : 'MISSED';
  const goal =
    r.goalP99Ms === undefined
      ? ''
      : `; goal p99 ≤ ${r.goalP99Ms} ms: ${verdict(
          p.scenario.p99,
        )} (CPU ${verdict(p.scenario.cpuP99)})`;
  return `${medians}; per op over ${p.samples}: ${spread(
    r.scenario,
    p.scenario,
  )}, ${spread(r.baseline, p.baseline)}${goal}`;
}
