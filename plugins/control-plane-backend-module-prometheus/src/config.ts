import { Config, readDurationFromConfig } from '@backstage/config';
import { HumanDuration } from '@backstage/types';
import { Duration } from 'luxon';

/**
 * PromQL for the built-in metrics. In each, `{{selector}}` stands for the label matchers of
 * the target (namespace, name, version and, when asked, cell), `{{range}}` for the range of
 * `rate()` (the step, or `rateRange` when longer), and the placeholders of custom queries
 * (`{{namespace}}`, `{{name}}`, `{{version}}`, `{{cell}}`, `{{step}}`) work too.
 * @public
 */
export interface PrometheusQueries {
  requestRate: string;
  errorRate: string;
  latencyP99: string;
}

/**
 * The label names that carry a target's namespace, name, version and cell in the series.
 * @public
 */
export interface PrometheusLabels {
  namespace: string;
  name: string;
  version: string;
  cell: string;
}

/**
 * How the Prometheus metrics provider reaches Prometheus and what it asks.
 * @public
 */
export interface PrometheusProviderOptions {
  /** Prometheus' base URL, e.g. `http://prometheus:9090` (its HTTP API is `/api/v1`). */
  baseUrl: string;
  /** A bearer token sent with every query. */
  bearerToken?: string;
  /** How long a query may take, in milliseconds. Default 10 s. */
  timeoutMs?: number;
  /** The least range of `rate()`, in seconds: four scrape intervals or more. Default 60. */
  rateRangeSeconds?: number;
  /** Replaces built-in queries. */
  queries?: Partial<PrometheusQueries>;
  /** Replaces label names. */
  labels?: Partial<PrometheusLabels>;
}

/**
 * The label names of the defaults: those the simulator's workloads and most HTTP exporters
 * write (`service` carries the resource's name).
 */
export const defaultLabels: PrometheusLabels = {
  namespace: 'namespace',
  name: 'service',
  version: 'version',
  cell: 'cell',
};

/** The default queries, on `http_requests_total` and `http_request_duration_seconds`. */
export const defaultQueries: PrometheusQueries = {
  requestRate: 'sum(rate(http_requests_total{{{selector}}}[{{range}}]))',
  errorRate:
    'sum(rate(http_requests_total{{{selector}},code=~"5.."}[{{range}}])) / sum(rate(http_requests_total{{{selector}}}[{{range}}]))',
  latencyP99:
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[{{range}}]))) * 1000',
};

function millis(config: Config, key: string): number | undefined {
  if (!config.has(key)) return undefined;
  const value = config.getOptional(key);
  if (typeof value === 'number') return value;
  const human: HumanDuration = readDurationFromConfig(config, { key });
  return Duration.fromObject(human).toMillis();
}

/**
 * Reads `controlPlane.prometheus` (see config.d.ts); undefined when no `baseUrl` is set (the
 * module then adds no provider).
 */
export function readPrometheusOptions(
  root: Config,
): PrometheusProviderOptions | undefined {
  const config = root.getOptionalConfig('controlPlane.prometheus');
  const baseUrl = config?.getOptionalString('baseUrl');
  if (!config || !baseUrl) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(
      `controlPlane.prometheus.baseUrl is not a URL: ${JSON.stringify(
        baseUrl,
      )}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `controlPlane.prometheus.baseUrl must be http: or https:, not ${url.protocol}`,
    );
  }
  const queries = config.getOptionalConfig('queries');
  const labels = config.getOptionalConfig('labels');
  const pick = <T extends object>(c: Config | undefined, keys: (keyof T)[]) =>
    Object.fromEntries(
      keys.flatMap(k => {
        const v = c?.getOptionalString(String(k));
        return v ? [[k, v]] : [];
      }),
    ) as Partial<T>;
  const rateRangeMs = millis(config, 'rateRange');
  return {
    baseUrl,
    bearerToken: config.getOptionalString('bearerToken'),
    timeoutMs: millis(config, 'timeout'),
    rateRangeSeconds:
      rateRangeMs === undefined ? undefined : Math.ceil(rateRangeMs / 1000),
    queries: pick<PrometheusQueries>(queries, [
      'requestRate',
      'errorRate',
      'latencyP99',
    ]),
    labels: pick<PrometheusLabels>(labels, [
      'namespace',
      'name',
      'version',
      'cell',
    ]),
  };
}
