import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDriversExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import { createClusterFaultsRouter } from './clusters/clusterFaultsRouter';
import { simulatedClusterDriverFromConfig } from './clusters/SimulatedClusterDriver';
import { createSimulatorRouter } from './api/router';
import { readSimulatorSettings } from './config';
import { SimulatedDriver } from './SimulatedDriver';

/**
 * Adds the `simulated` driver to the control plane: a SIMULATOR of the aws, gcp, azure and oci
 * clouds, persisted in the control plane's database, with injectable faults and an admin API
 * under `/api/control-plane/simulator`. Nothing it provisions exists in any real cloud.
 * @public
 */
export const controlPlaneModuleSimulator = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'simulator',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        drivers: controlPlaneDriversExtensionPoint,
        clusterDrivers: controlPlaneClusterDriversExtensionPoint,
      },
      async init({
        config,
        logger,
        database,
        httpRouter,
        httpAuth,
        permissions,
        drivers,
        clusterDrivers,
      }) {
        const settings = readSimulatorSettings(config);
        if (!settings.enabled) {
          logger.info(
            'The simulated multicloud driver is disabled (controlPlane.simulator.enabled is false)',
          );
          return;
        }
        const driver = await SimulatedDriver.fromConfig(config, {
          database: await database.getClient(),
          logger,
          skipMigrations: database.migrations?.skip,
        });
        drivers.addDriver(driver);
        // Simulated clusters, created, upgraded and scaled in the time the settings say.
        const clusters = simulatedClusterDriverFromConfig(
          config,
          await database.getClient(),
        );
        clusterDrivers.addClusterDriver(clusters);
        httpRouter.use(
          createClusterFaultsRouter({ clusters, httpAuth, permissions }),
        );
        httpRouter.use(
          await createSimulatorRouter({ driver, httpAuth, permissions }),
        );

        const { provisioningMs, deprovisioningMs, latencyMs } =
          driver.timings();
        const faults = await driver.listFaults();
        logger.info(
          `SIMULATOR: driver "simulated" is active. It fakes the clouds of every provider whose driver is "simulated"; ` +
            `nothing is provisioned anywhere real. Provisioning ${provisioningMs} ms, deprovisioning ${deprovisioningMs} ms, ` +
            `latency ${Object.entries(latencyMs)
              .map(([p, ms]) => `${p} ${ms} ms`)
              .join(', ')}; ${faults.length} fault(s) in force. ` +
            'Admin API: /api/control-plane/simulator',
          { simulator: true, faults: faults.length },
        );
      },
    });
  },
});
