import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { resolveClaimMappings } from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
import { controlPlaneDeliveryExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { readDeliveryOptions } from './config';
import { GitOpsDelivery } from './GitOpsDelivery';

/**
 * Delivers what runs on each cluster through Argo CD or Flux: the control plane renders it into
 * the deploy repository of `controlPlane.delivery.repository`, with an ApplicationSet and Flux
 * Kustomizations to consume it, reads their sync and health back, and keeps a resource whose
 * rendered objects are out of sync from READY. Without `controlPlane.delivery` it does nothing.
 * @public
 */
export const controlPlaneModuleGitOps = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'gitops',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        delivery: controlPlaneDeliveryExtensionPoint,
      },
      async init({ config, logger, delivery }) {
        const options = readDeliveryOptions(config);
        if (!options) {
          logger.info('No GitOps delivery: controlPlane.delivery is not set');
          return;
        }
        // The same claims the Kubernetes driver applies, with its configured overrides.
        const claims = resolveClaimMappings(
          (config.getOptional('controlPlane.kubernetes.claims') ?? {}) as any,
        );
        const provider = new GitOpsDelivery(options, claims, logger);
        await provider.repo.ensure();
        delivery.setDeliveryProvider(provider);
        const tools = [
          ...(options.argocd ? [`Argo CD at ${options.argocd.baseUrl}`] : []),
          ...(options.flux ? [`Flux at ${options.flux.apiServer.url}`] : []),
        ];
        logger.info(
          `GitOps delivery: renders into ${options.repository.path} (${
            options.repository.url
          }), read back from ${tools.join(' and ') || 'no tool'}`,
        );
      },
    });
  },
});
