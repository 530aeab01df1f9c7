import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { controlPlaneMetricsProvidersExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { readPrometheusOptions } from './config';
import { PrometheusMetricsProvider } from './PrometheusMetricsProvider';

/**
 * Adds the `prometheus` metrics provider to the control plane: deployment analysis runs
 * PromQL through the HTTP API of the Prometheus at `controlPlane.prometheus.baseUrl`. Without
 * a base URL it adds nothing.
 * @public
 */
export const controlPlaneModulePrometheus = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'prometheus',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        metricsProviders: controlPlaneMetricsProvidersExtensionPoint,
      },
      async init({ config, logger, metricsProviders }) {
        const options = readPrometheusOptions(config);
        if (!options) {
          logger.info(
            'No Prometheus metrics provider: controlPlane.prometheus.baseUrl is not set',
          );
          return;
        }
        metricsProviders.addMetricsProvider(
          new PrometheusMetricsProvider(options),
        );
        logger.info(
          `Prometheus metrics provider: queries go to ${options.baseUrl}`,
        );
      },
    });
  },
});
