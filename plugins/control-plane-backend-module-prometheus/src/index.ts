/**
 * The Prometheus metrics provider of the IDP Multicloud control plane: deployment analysis
 * runs PromQL through Prometheus' HTTP API.
 *
 * @packageDocumentation
 */

export { controlPlaneModulePrometheus as default } from './module';
export { controlPlaneModulePrometheus } from './module';
export { PrometheusMetricsProvider } from './PrometheusMetricsProvider';
export type {
  PrometheusLabels,
  PrometheusProviderOptions,
  PrometheusQueries,
} from './config';
