import {
  assertMetricsWindow,
  MetricSample,
  MetricSeries,
  MetricsProvider,
  MetricsProviderError,
  MetricsQuery,
  MetricUnit,
} from '@idp-multicloud/plugin-control-plane-node';
import { bucketQuantileMs, TickRecord, WorkloadSeries } from './WorkloadSeries';

/** What a query measures in one step of records; undefined when the step has no traffic. */
type Measure = {
  unit: MetricUnit;
  of: (r: TickRecord, stepSeconds: number) => number | undefined;
};

const measures: Record<string, Measure> = {
  'request-rate': { unit: 'requests/s', of: (r, step) => r.requests / step },
  'error-rate': {
    unit: 'ratio',
    of: r => (r.requests === 0 ? undefined : r.errors / r.requests),
  },
};

/** `latency-p99`, `latency-p50`, `latency-p99.9`: a quantile of latency in ms. */
const latencyQuantile = /^latency-p(\d{1,2}(?:\.\d+)?)$/;

function measureOf(query: MetricsQuery): Measure {
  const name = query.metric === 'custom' ? query.query.trim() : query.metric;
  if (Object.hasOwn(measures, name)) return measures[name];
  const quantile = latencyQuantile.exec(name);
  if (quantile) {
    const q = Number(quantile[1]) / 100;
    return { unit: 'ms', of: r => bucketQuantileMs(r.buckets, q) };
  }
  throw new MetricsProviderError(
    `the simulator has no metric "${name}": ask for request-rate, error-rate or latency-pNN (e.g. latency-p50)`,
    { code: 'bad-query' },
  );
}

/**
 * The simulator's metrics provider (`simulator`): answers from the series its traffic
 * generator records, one sample per step of the window that had traffic. A custom query
 * names one of its metrics: `request-rate`, `error-rate` or `latency-pNN`.
 * @public
 */
export class SimulatedMetricsProvider implements MetricsProvider {
  readonly id = 'simulator';

  constructor(private readonly series: WorkloadSeries) {}

  async query(query: MetricsQuery): Promise<MetricSeries> {
    assertMetricsWindow(query.window);
    const measure = measureOf(query);
    const { target, window } = query;
    const stepMs = window.stepSeconds * 1000;
    const start = window.start.getTime();
    const end = window.end.getTime();
    const records = this.series.recordsOf(
      target.ref,
      target.version,
      target.cell,
      start - stepMs,
      end,
    );
    const samples: MetricSample[] = [];
    // As Prometheus evaluates a range query: at start, start + step, ..., end, each over the
    // step before it.
    for (let t = start, i = 0; t <= end; t += stepMs) {
      const step: TickRecord = {
        time: t,
        requests: 0,
        errors: 0,
        buckets: records[0]?.buckets.map(() => 0) ?? [],
      };
      while (i < records.length && records[i].time <= t) {
        const r = records[i++];
        if (r.time <= t - stepMs) continue;
        step.requests += r.requests;
        step.errors += r.errors;
        r.buckets.forEach((n, b) => (step.buckets[b] += n));
      }
      if (step.requests === 0) continue;
      const value = measure.of(step, window.stepSeconds);
      if (value !== undefined) samples.push({ time: t, value });
    }
    return {
      metric: query.metric,
      unit:
        query.metric === 'custom' ? query.unit ?? measure.unit : measure.unit,
      target,
      samples,
      query: query.metric === 'custom' ? query.query : query.metric,
    };
  }
}
