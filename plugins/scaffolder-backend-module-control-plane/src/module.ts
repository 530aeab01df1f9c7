import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createIdpClient } from '@idp-multicloud/sdk';
import { createManifestApplyAction } from './actions/applyManifests';
import { createResourceCreateAction } from './actions/createResource';
import { createResourceDeleteAction } from './actions/deleteResource';
import { createCostEstimateAction } from './actions/estimateCost';
import { createGenerateAction } from './actions/generate';
import { createHealthCheckAction } from './actions/healthCheck';
import { createResourceWaitAction } from './actions/waitForResource';
import { createDeploymentStartAction } from './actions/startDeployment';

/**
 * Registers the control plane's actions with the scaffolder.
 *
 * @public
 */
export const scaffolderModuleControlPlane = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'control-plane',
  register({ registerInit }) {
    registerInit({
      deps: {
        scaffolderActions: scaffolderActionsExtensionPoint,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
      },
      async init({ scaffolderActions, discovery, auth }) {
        const options = { discovery, auth };
        scaffolderActions.addActions(
          createHealthCheckAction({
            // /health is public; no user needs to be named to ask it.
            client: createIdpClient({ discoveryApi: discovery }),
          }),
          createResourceCreateAction(options),
          createResourceWaitAction(options),
          createResourceDeleteAction(options),
          createManifestApplyAction(options),
          createCostEstimateAction(options),
          createGenerateAction(options),
          createDeploymentStartAction(options),
        );
      },
    });
  },
});
