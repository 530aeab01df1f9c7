import {
  assertMetricsWindow,
  expandMetricsQuery,
  MetricSample,
  MetricSeries,
  MetricsProvider,
  MetricsProviderError,
  MetricsQuery,
  MetricUnit,
} from '@idp-multicloud/plugin-control-plane-node';
import {
  defaultLabels,
  defaultQueries,
  PrometheusLabels,
  PrometheusProviderOptions,
  PrometheusQueries,
} from './config';

/** A value inside a PromQL double-quoted string. */
export function escapePromQLString(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n');
}

/** Prometheus' answer to `/api/v1/query_range`. */
interface QueryRangeResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: {
    resultType: string;
    result: Array<{
      metric: Record<string, string>;
      values: [number, string][];
    }>;
  };
}

const builtIns: Record<
  'request-rate' | 'error-rate' | 'latency-p99',
  { key: keyof PrometheusQueries; unit: MetricUnit }
> = {
  'request-rate': { key: 'requestRate', unit: 'requests/s' },
  'error-rate': { key: 'errorRate', unit: 'ratio' },
  'latency-p99': { key: 'latencyP99', unit: 'ms' },
};

/**
 * The `prometheus` metrics provider: runs PromQL through Prometheus' HTTP API
 * (`/api/v1/query_range`), the built-in metrics through configurable queries. A query must
 * give one series (aggregate with `sum`); its `NaN` points (0/0: no traffic) are left out.
 * @public
 */
export class PrometheusMetricsProvider implements MetricsProvider {
  readonly id = 'prometheus';
  private readonly queries: PrometheusQueries;
  private readonly labels: PrometheusLabels;
  private readonly endpoint: string;

  constructor(private readonly options: PrometheusProviderOptions) {
    this.queries = { ...defaultQueries, ...options.queries };
    this.labels = { ...defaultLabels, ...options.labels };
    this.endpoint = new URL(
      'api/v1/query_range',
      options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    ).toString();
  }

  /** The PromQL a query runs. */
  promql(query: MetricsQuery): string {
    const { target, window } = query;
    const template =
      query.metric === 'custom'
        ? query.query
        : this.queries[builtIns[query.metric].key];
    const l = this.labels;
    const e = escapePromQLString;
    const selector = [
      `${l.namespace}="${e(target.namespace)}"`,
      `${l.name}="${e(target.name)}"`,
      `${l.version}="${e(target.version)}"`,
      ...(target.cell !== undefined ? [`${l.cell}="${e(target.cell)}"`] : []),
    ].join(',');
    const range = Math.max(
      window.stepSeconds,
      this.options.rateRangeSeconds ?? 60,
    );
    return expandMetricsQuery(
      template
        .replace(/\{\{\s*selector\s*\}\}/g, selector)
        .replace(/\{\{\s*range\s*\}\}/g, `${range}s`),
      target,
      window.stepSeconds,
      e,
    );
  }

  async query(query: MetricsQuery): Promise<MetricSeries> {
    assertMetricsWindow(query.window);
    const promql = this.promql(query);
    const body = new URLSearchParams({
      query: promql,
      start: String(query.window.start.getTime() / 1000),
      end: String(query.window.end.getTime() / 1000),
      step: `${query.window.stepSeconds}s`,
    });
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
    const signal = query.signal
      ? AbortSignal.any([query.signal, timeout])
      : timeout;
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          ...(this.options.bearerToken
            ? { Authorization: `Bearer ${this.options.bearerToken}` }
            : {}),
        },
        body,
        signal,
      });
    } catch (error) {
      const reason =
        (error as { cause?: { code?: string } }).cause?.code ??
        (error as Error).name ??
        String(error);
      throw new MetricsProviderError(
        `Prometheus at ${this.options.baseUrl} could not be reached (${reason})`,
        { code: 'unavailable', cause: error },
      );
    }
    const text = await response.text();
    let parsed: QueryRangeResponse | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok || parsed?.status !== 'success') {
      // 400 bad_data (a PromQL error) and 422 execution errors are the query's fault.
      const refused = response.status === 400 || response.status === 422;
      const detail =
        parsed?.error ?? (text.slice(0, 200) || response.statusText);
      throw new MetricsProviderError(
        refused
          ? `Prometheus refused the query (${
              parsed?.errorType ?? response.status
            }): ${detail}; query: ${promql}`
          : `Prometheus at ${this.options.baseUrl} answered ${response.status}: ${detail}`,
        { code: refused ? 'bad-query' : 'unavailable' },
      );
    }
    const result = parsed.data?.result ?? [];
    if (parsed.data?.resultType !== 'matrix' || result.length > 1) {
      throw new MetricsProviderError(
        `the query must give one series, it gave ${result.length} ${
          parsed.data?.resultType ?? ''
        }: aggregate it (e.g. sum(...)); query: ${promql}`,
        { code: 'bad-query' },
      );
    }
    const samples: MetricSample[] = (result[0]?.values ?? [])
      .map(([t, v]) => ({ time: Math.round(t * 1000), value: Number(v) }))
      .filter(s => Number.isFinite(s.value));
    return {
      metric: query.metric,
      unit:
        query.metric === 'custom'
          ? query.unit ?? 'value'
          : builtIns[query.metric].unit,
      target: query.target,
      samples,
      query: promql,
    };
  }
}
