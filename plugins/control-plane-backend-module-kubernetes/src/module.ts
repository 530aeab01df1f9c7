import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { controlPlaneDriversExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
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
      },
      async init({ config, logger, drivers }) {
        const driver = KubernetesDriver.fromConfig(config);
        drivers.addDriver(driver);
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
