import { createExtensionPoint } from '@backstage/backend-plugin-api';

/**
 * The built-in metrics every provider answers for a version of a resource:
 *
 * - `request-rate`: requests per second;
 * - `error-rate`: the share (0..1) of requests that failed (5xx);
 * - `latency-p99`: the 99th percentile of request latency, in milliseconds.
 *
 * @public
 */
export type BuiltInMetric = 'request-rate' | 'error-rate' | 'latency-p99';

/**
 * The unit of a series' values.
 * @public
 */
export type MetricUnit = 'requests/s' | 'ratio' | 'ms' | 'value';

/**
 * The version of a resource whose metrics are asked for.
 * @public
 */
export interface MetricsTarget {
  /** `resource:<namespace>/<name>` */
  ref: string;
  namespace: string;
  name: string;
  /** The version, e.g. an image tag: `1.4.2`. */
  version: string;
  /** Only the traffic of this cell; every cell when left out. */
  cell?: string;
}

/**
 * The time window of a query: samples from `start` to `end`, one every `stepSeconds`.
 * @public
 */
export interface MetricsWindow {
  start: Date;
  end: Date;
  /** The spacing of samples, in seconds (at least 1). */
  stepSeconds: number;
}

/**
 * What to measure: a built-in metric, or a provider-specific query (PromQL for Prometheus).
 * In a custom query, `{{namespace}}`, `{{name}}`, `{{version}}` and `{{cell}}` stand for the
 * target's values, and `{{step}}` for the step in seconds (e.g. `[{{step}}s]`).
 * @public
 */
export type MetricsQuerySpec =
  | { metric: BuiltInMetric }
  | { metric: 'custom'; query: string; unit?: MetricUnit };

/**
 * One query of a metrics provider.
 * @public
 */
export type MetricsQuery = MetricsQuerySpec & {
  target: MetricsTarget;
  window: MetricsWindow;
  /** Aborts the query. */
  signal?: AbortSignal;
};

/**
 * One measurement: when (milliseconds since the epoch) and its value.
 * @public
 */
export interface MetricSample {
  time: number;
  value: number;
}

/**
 * What a provider answers: the samples of the window in time order, one per step where the
 * provider has data (a step without traffic has no sample, never a made-up zero). The judge
 * thresholds them and compares them with a baseline's by rank.
 * @public
 */
export interface MetricSeries {
  /** `request-rate`, `error-rate`, `latency-p99`, or `custom`. */
  metric: BuiltInMetric | 'custom';
  unit: MetricUnit;
  target: MetricsTarget;
  samples: MetricSample[];
  /** What was run, for the measurement's record (e.g. the PromQL). */
  query?: string;
}

/**
 * Why a query failed: `bad-query` (the provider refused the query: fix the query),
 * `unavailable` (the provider could not be reached or timed out: try again later).
 * @public
 */
export type MetricsProviderErrorCode = 'bad-query' | 'unavailable';

/**
 * An error of a metrics provider. An `unavailable` one is retryable; a `bad-query` one is not.
 * @public
 */
export class MetricsProviderError extends Error {
  readonly code: MetricsProviderErrorCode;
  readonly retryable: boolean;

  constructor(
    message: string,
    options: { code: MetricsProviderErrorCode; cause?: unknown },
  ) {
    super(message, options.cause ? { cause: options.cause } : undefined);
    this.name = 'MetricsProviderError';
    this.code = options.code;
    this.retryable = options.code === 'unavailable';
  }
}

/**
 * Answers metric queries for the versions of resources over a time window. A backend module
 * implements it (Prometheus, the simulator) and adds it through
 * {@link controlPlaneMetricsProvidersExtensionPoint}; a deployment's analysis names the
 * provider by `id`.
 * @public
 */
export interface MetricsProvider {
  /** e.g. `prometheus`, `simulator`. */
  readonly id: string;
  /**
   * The samples of one metric of one version over the window. Throws
   * {@link MetricsProviderError}.
   */
  query(query: MetricsQuery): Promise<MetricSeries>;
}

/**
 * Lets backend modules add metrics providers.
 * @public
 */
export interface ControlPlaneMetricsProvidersExtensionPoint {
  addMetricsProvider(...providers: MetricsProvider[]): void;
}

/**
 * The extension point for metrics providers.
 * @public
 */
export const controlPlaneMetricsProvidersExtensionPoint =
  createExtensionPoint<ControlPlaneMetricsProvidersExtensionPoint>({
    id: 'control-plane.metrics-providers',
  });

/** A placeholder name of a custom query, as `{{name}}`. */
const placeholder = /\{\{\s*(namespace|name|version|cell|step)\s*\}\}/g;

/**
 * A custom query with its placeholders (`{{namespace}}`, `{{name}}`, `{{version}}`,
 * `{{cell}}`, `{{step}}`) replaced by the target's values; `escape` quotes a value for the
 * query language (e.g. inside a PromQL string). Unknown placeholders are left as they are.
 * @public
 */
export function expandMetricsQuery(
  query: string,
  target: MetricsTarget,
  stepSeconds: number,
  escape: (value: string) => string = v => v,
): string {
  return query.replace(placeholder, (_, key: string) => {
    switch (key) {
      case 'step':
        return String(stepSeconds);
      case 'cell':
        return escape(target.cell ?? '');
      case 'namespace':
        return escape(target.namespace);
      case 'name':
        return escape(target.name);
      default:
        return escape(target.version);
    }
  });
}

/**
 * Checks a window: `start` before `end`, a step of at least one second, at most 11,000 samples
 * (Prometheus' own limit). Throws {@link MetricsProviderError} (`bad-query`) naming the fault.
 * @public
 */
export function assertMetricsWindow(window: MetricsWindow): void {
  const start = window.start.getTime();
  const end = window.end.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end) || start >= end) {
    throw new MetricsProviderError(
      `the window must start before it ends (start ${String(
        window.start,
      )}, end ${String(window.end)})`,
      { code: 'bad-query' },
    );
  }
  if (!(window.stepSeconds >= 1)) {
    throw new MetricsProviderError(
      `the step must be at least 1 second (got ${window.stepSeconds})`,
      { code: 'bad-query' },
    );
  }
  if ((end - start) / 1000 / window.stepSeconds > 11000) {
    throw new MetricsProviderError(
      'the window holds more than 11,000 steps: use a longer step',
      { code: 'bad-query' },
    );
  }
}
