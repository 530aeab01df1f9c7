import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  ControlPlanePermissionPolicy,
  readRoleMapping,
} from './policy/ControlPlanePermissionPolicy';

/**
 * Installs the control plane's role-based permission policy in the permission backend.
 * @public
 */
export const permissionModuleControlPlanePolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'control-plane-policy',
  register({ registerInit }) {
    registerInit({
      deps: {
        policy: policyExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
      },
      async init({ policy, config, logger }) {
        const roles = readRoleMapping(config);
        logger.info('control plane roles', {
          admin: roles.admin.join(', ') || '(none)',
          platformEngineer: roles.platformEngineer.join(', ') || '(none)',
          developer: roles.developer.join(', '),
        });
        policy.setPolicy(new ControlPlanePermissionPolicy(roles));
      },
    });
  },
});
