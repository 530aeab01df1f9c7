import { HumanDuration } from '@backstage/types';

export interface Config {
  controlPlane?: {
    /**
     * The `prometheus` metrics provider: deployment analysis runs PromQL through this
     * Prometheus' HTTP API. Without `baseUrl` the module adds no provider.
     */
    prometheus?: {
      /** Prometheus' base URL, e.g. `http://prometheus:9090` (its HTTP API is under `/api/v1`). */
      baseUrl?: string;
      /**
       * A bearer token sent with every query (a Prometheus behind an authenticating proxy).
       * @visibility secret
       */
      bearerToken?: string;
      /**
       * How long one query may take. A number is milliseconds.
       * @defaultValue 10s
       */
      timeout?: number | HumanDuration | string;
      /**
       * The least range of `rate()` in the built-in queries (`{{range}}`): the analysis step,
       * or this when longer. Keep it at four scrape intervals or more. A number is
       * milliseconds.
       * @defaultValue 1m
       */
      rateRange?: number | HumanDuration | string;
      /**
       * PromQL of the built-in metrics. `{{selector}}` stands for the target's label matchers
       * (namespace, name, version, and cell when asked), `{{range}}` for the rate range;
       * `{{namespace}}`, `{{name}}`, `{{version}}`, `{{cell}}` and `{{step}}` work as in custom
       * queries. Each must give one series.
       */
      queries?: {
        /**
         * Requests per second.
         * @defaultValue sum(rate(http_requests_total{{{selector}}}[{{range}}]))
         */
        requestRate?: string;
        /**
         * The share (0..1) of requests that failed.
         * @defaultValue the 5xx rate of http_requests_total over its whole rate
         */
        errorRate?: string;
        /**
         * The p99 latency in milliseconds.
         * @defaultValue histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[{{range}}]))) * 1000
         */
        latencyP99?: string;
      };
      /** The labels that carry a target's namespace, name, version and cell. */
      labels?: {
        /** @defaultValue namespace */
        namespace?: string;
        /** @defaultValue service */
        name?: string;
        /** @defaultValue version */
        version?: string;
        /** @defaultValue cell */
        cell?: string;
      };
    };
  };
}
