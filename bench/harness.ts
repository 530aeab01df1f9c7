/**
 * The benchmark harness: a scenario and its baseline run in the same process, interleaved
 * (ABBA order) over several repetitions, so that machine noise hits both alike. Prints the
 * median time per operation of each and their ratio.
 */
import { performance } from 'node:perf_hooks';

/** One thing to time: `run` performs `batch` operations. */
export interface Measured {
  label: string;
  /** Sets up what the next `run(batch)` works on; not timed. */
  prepare?(batch: number): Promise<void>;
  run(batch: number): Promise<void>;
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
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timePerOp(
  m: Measured,
  batch: number,
  opsPerRun = 1,
): Promise<number> {
  await m.prepare?.(batch);
  const start = performance.now();
  await m.run(batch);
  return (performance.now() - start) / (batch * opsPerRun);
}

export async function compare(
  c: Comparison,
  repetitions: number,
): Promise<Result> {
  // Warm up both paths (JIT, caches, connections) before anything is timed.
  const warmUp = Math.max(1, Math.floor(c.batch / 4));
  await timePerOp(c.scenario, warmUp);
  await timePerOp(c.baseline, warmUp);

  const scenario: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    if (i % 2 === 0) {
      scenario.push(await timePerOp(c.scenario, c.batch, c.opsPerRun));
      baseline.push(await timePerOp(c.baseline, c.batch, c.opsPerRun));
    } else {
      baseline.push(await timePerOp(c.baseline, c.batch, c.opsPerRun));
      scenario.push(await timePerOp(c.scenario, c.batch, c.opsPerRun));
    }
  }
  const scenarioMedianMs = median(scenario);
  const baselineMedianMs = median(baseline);
  return {
    name: c.name,
    scenario: c.scenario.label,
    baseline: c.baseline.label,
    scenarioMedianMs,
    baselineMedianMs,
    ratio: scenarioMedianMs / baselineMedianMs,
  };
}

export function formatResult(r: Result): string {
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  return `${r.name}: ${r.scenario} ${ms(r.scenarioMedianMs)}/op, ${
    r.baseline
  } ${ms(r.baselineMedianMs)}/op, ratio ${r.ratio.toFixed(2)}x`;
}
