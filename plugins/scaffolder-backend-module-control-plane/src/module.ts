import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createIdpClient } from '@idp-multicloud/sdk';
import { createHealthCheckAction } from './actions/healthCheck';

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
        const client = createIdpClient({
          discoveryApi: discovery,
          token: async () =>
            (
              await auth.getPluginRequestToken({
                onBehalfOf: await auth.getOwnServiceCredentials(),
                targetPluginId: 'control-plane',
              })
            ).token,
        });
        scaffolderActions.addActions(createHealthCheckAction({ client }));
      },
    });
  },
});
