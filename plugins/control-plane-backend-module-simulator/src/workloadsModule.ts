import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  controlPlaneMetricsProvidersExtensionPoint,
  controlPlaneTrafficRoutersExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import { createWorkloadsRouter } from './api/workloadsRouter';
import { readSimulatorSettings } from './config';
import { SimulatedWorkloads } from './workloads/SimulatedWorkloads';

/**
 * Adds the simulator's workloads to the control plane: the `simulator` traffic router (its
 * weights, header matches and per-cell weights kept in the database), simulated clients whose
 * requests follow it, their per-version request, error and latency series on
 * `/api/control-plane/simulator/metrics` (Prometheus text format), and the `simulator`
 * metrics provider answering from those series. A version misbehaves through a
 * `misbehaving-version` fault of the simulator.
 *
 * Needs a control plane that offers the metrics-provider and traffic-router extension points.
 * @public
 */
export const controlPlaneModuleSimulatorWorkloads = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'simulator-workloads',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        lifecycle: coreServices.lifecycle,
        metricsProviders: controlPlaneMetricsProvidersExtensionPoint,
        trafficRouters: controlPlaneTrafficRoutersExtensionPoint,
      },
      async init(deps) {
        const settings = readSimulatorSettings(deps.config);
        if (!settings.enabled) return;
        const workloads = await SimulatedWorkloads.create(
          await deps.database.getClient(),
          settings.traffic,
          { skipMigrations: deps.database.migrations?.skip },
        );
        deps.metricsProviders.addMetricsProvider(workloads.metrics);
        deps.trafficRouters.addTrafficRouter(workloads.router);
        deps.httpRouter.use(
          await createWorkloadsRouter({ workloads, ...deps }),
        );
        deps.httpRouter.addAuthPolicy({
          path: '/simulator/metrics',
          allow: 'unauthenticated',
        });
        if (settings.traffic.enabled) {
          const stop = workloads.start(deps.logger);
          deps.lifecycle.addShutdownHook(stop);
        }
        deps.logger.info(
          `SIMULATOR: simulated workloads: ${settings.traffic.requestsPerSecond} requests/s to each routed resource` +
            `${
              settings.traffic.enabled ? '' : ' (traffic off)'
            }; metrics at /api/control-plane/simulator/metrics`,
        );
      },
    });
  },
});
