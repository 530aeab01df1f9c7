/*
 * OpenTelemetry for the example backend, loaded before it (`node --require
 * ./src/instrumentation.js`; `yarn start` and ./scripts/start do it), as Backstage's "Setup
 * OpenTelemetry" tutorial describes. Plugins record through `@opentelemetry/api`; this file
 * chooses where it goes:
 *
 * - metrics: a Prometheus endpoint at http://localhost:9464/metrics
 *   (OTEL_EXPORTER_PROMETHEUS_HOST, e.g. 0.0.0.0 in a container, and
 *   OTEL_EXPORTER_PROMETHEUS_PORT change it), with the control plane's `idp_*` series;
 * - traces: none unless OTEL_TRACES_EXPORTER says where (`otlp` with
 *   OTEL_EXPORTER_OTLP_ENDPOINT, e.g. a Jaeger's OTLP port, or `console`); incoming
 *   `traceparent` headers are honoured either way;
 * - OTEL_SDK_DISABLED=true turns all of it off.
 */

// Worker threads load this too; the SDK belongs to the main thread only.
const { isMainThread } = require('node:worker_threads');

if (isMainThread) {
  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
  const {
    HttpInstrumentation,
  } = require('@opentelemetry/instrumentation-http');

  // The SDK's defaults would send traces and logs to an OTLP collector on localhost: only
  // when asked. Backstage writes its logs itself.
  process.env.OTEL_TRACES_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  process.env.OTEL_SERVICE_NAME ??= 'idp-backend';

  const prometheus = new PrometheusExporter({
    host: process.env.OTEL_EXPORTER_PROMETHEUS_HOST || 'localhost',
    port: Number(process.env.OTEL_EXPORTER_PROMETHEUS_PORT || 9464),
  });
  const sdk = new NodeSDK({
    metricReaders: [prometheus],
    instrumentations: [new HttpInstrumentation()],
  });
  sdk.start();
  exports.sdk = sdk;
}
