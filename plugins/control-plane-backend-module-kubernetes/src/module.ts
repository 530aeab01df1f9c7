import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDriversExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import { clusterApiDriverFromConfig } from './clusterApi/config';
import { KubernetesDriver } from './KubernetesDriver';

/**
 * Adds the `kubernetes` driver to the control plane: resources realised as Crossplane claims
 * on the clusters configured under `controlPlane.kubernetes.clusters`.
 * @public
 */
export const controlPlaneModuleKubernetes = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'kubernetes',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        drivers: controlPlaneDriversExtensionPoint,
        clusterDrivers: controlPlaneClusterDriversExtensionPoint,
      },
      async init({ config, logger, drivers, clusterDrivers }) {
        const driver = KubernetesDriver.fromConfig(config);
        drivers.addDriver(driver);
        const clusterApi = clusterApiDriverFromConfig(config);
        if (clusterApi) {
          clusterDrivers.addClusterDriver(clusterApi);
          logger.info(
            `Clusters of providers with driver "${clusterApi.id}" are managed as Cluster API Clusters`,
          );
        }
        if (driver.clusters.length === 0) {
          logger.warn(
            'The kubernetes driver has no clusters: configure controlPlane.kubernetes.clusters',
          );
        } else {
          logger.info(
            `The kubernetes driver acts on ${driver.clusters.join(', ')}`,
          );
        }
      },
    });
  },
});
