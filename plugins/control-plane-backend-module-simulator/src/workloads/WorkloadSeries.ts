import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The latency buckets of the simulated workloads, in seconds (as Prometheus histograms name
 * them): the simulator's own p99 and Prometheus' `histogram_quantile` over the scraped
 * buckets interpolate within the same bounds, so both answer alike.
 */
export const latencyBucketsSeconds = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1,
  1.5, 2.5, 5, 10,
];

/**
 * Where a request was served: a version of a resource, in a cell.
 * @public
 */
export interface SeriesKey {
  ref: string;
  namespace: string;
  name: string;
  version: string;
  cell: string;
}

/**
 * The requests of one series during one tick.
 * @public
 */
export interface TickRecord {
  /** The end of the tick (ms since the epoch). */
  time: number;
  requests: number;
  errors: number;
  /** Requests per latency bucket (not cumulative); the last is above the largest bound. */
  buckets: number[];
}

/** How long the simulator keeps its own series for queries. */
const retentionMs = 6 * 60 * 60 * 1000;

/**
 * The request, error and latency series of the simulated workloads: per version and cell,
 * one record per generator tick (what the simulator's metrics provider answers from), and
 * the same counts as Prometheus metrics on the simulator's `/metrics` endpoint:
 *
 * - `http_requests_total{namespace, service, version, cell, code}`
 * - `http_request_duration_seconds{namespace, service, version, cell}` (a histogram)
 *
 * @public
 */
export class WorkloadSeries {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly ticks = new Map<
    string,
    { key: SeriesKey; records: TickRecord[] }
  >();

  constructor() {
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'Requests served by the simulated workloads, by version, cell and status code',
      labelNames: ['namespace', 'service', 'version', 'cell', 'code'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Latency of the requests served by the simulated workloads',
      labelNames: ['namespace', 'service', 'version', 'cell'],
      buckets: latencyBucketsSeconds,
      registers: [this.registry],
    });
  }

  /** Records one tick of one series: its requests, how many failed, and each latency (ms). */
  record(key: SeriesKey, time: number, latenciesMs: number[], errors: number) {
    const labels = {
      namespace: key.namespace,
      service: key.name,
      version: key.version,
      cell: key.cell,
    };
    const buckets = new Array<number>(latencyBucketsSeconds.length + 1).fill(0);
    for (const ms of latenciesMs) {
      this.duration.observe(labels, ms / 1000);
      const i = latencyBucketsSeconds.findIndex(le => ms / 1000 <= le);
      buckets[i === -1 ? latencyBucketsSeconds.length : i]++;
    }
    if (errors > 0) this.requests.inc({ ...labels, code: '500' }, errors);
    if (latenciesMs.length - errors > 0) {
      this.requests.inc(
        { ...labels, code: '200' },
        latenciesMs.length - errors,
      );
    }
    const id = JSON.stringify([key.ref, key.version, key.cell]);
    let series = this.ticks.get(id);
    if (!series) {
      series = { key, records: [] };
      this.ticks.set(id, series);
    }
    series.records.push({
      time,
      requests: latenciesMs.length,
      errors,
      buckets,
    });
    const oldest = time - retentionMs;
    while (series.records.length > 0 && series.records[0].time < oldest) {
      series.records.shift();
    }
  }

  /**
   * The tick records of a version of a resource (of one cell, or all), merged per tick,
   * with `from < time <= to`.
   */
  recordsOf(
    ref: string,
    version: string,
    cell: string | undefined,
    from: number,
    to: number,
  ): TickRecord[] {
    const byTime = new Map<number, TickRecord>();
    for (const { key, records } of this.ticks.values()) {
      if (key.ref !== ref || key.version !== version) continue;
      if (cell !== undefined && key.cell !== cell) continue;
      for (const r of records) {
        if (r.time <= from || r.time > to) continue;
        const merged = byTime.get(r.time);
        if (merged) {
          merged.requests += r.requests;
          merged.errors += r.errors;
          r.buckets.forEach((n, i) => (merged.buckets[i] += n));
        } else {
          byTime.set(r.time, { ...r, buckets: [...r.buckets] });
        }
      }
    }
    return [...byTime.values()].sort((a, b) => a.time - b.time);
  }

  /** The Prometheus text exposition of every series. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return {
      contentType: this.registry.contentType,
      body: await this.registry.metrics(),
    };
  }
}

/**
 * The `q`-quantile (0..1) of latency in milliseconds from bucket counts, interpolated
 * linearly within the bucket as Prometheus' `histogram_quantile` does (the largest finite
 * bound when it falls above it); undefined without requests.
 */
export function bucketQuantileMs(
  buckets: number[],
  q: number,
): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < latencyBucketsSeconds.length; i++) {
    const before = cumulative;
    cumulative += buckets[i];
    if (cumulative >= rank) {
      const lower = i === 0 ? 0 : latencyBucketsSeconds[i - 1];
      const upper = latencyBucketsSeconds[i];
      const within = buckets[i] === 0 ? 0 : (rank - before) / buckets[i];
      return (lower + (upper - lower) * within) * 1000;
    }
  }
  return latencyBucketsSeconds[latencyBucketsSeconds.length - 1] * 1000;
}
