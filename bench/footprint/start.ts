/**
 * The example backend for `yarn bench footprint`, started as its own process: every feature
 * of packages/backend, with the control plane's (`with`) or without them (`without`, where
 * permissions are decided by an allow-all policy in place of the control plane's roles).
 */
import { createBackend } from '@backstage/backend-defaults';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  backstageFeatures,
  controlPlaneFeatures,
} from '../../packages/backend/src/features';

const allowAll = createBackendModule({
  pluginId: 'permission',
  moduleId: 'bench-allow-all',
  register(env) {
    env.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy({
          async handle() {
            return { result: AuthorizeResult.ALLOW };
          },
        });
      },
    });
  },
});

const withControlPlane = process.argv[2] === 'with';
const backend = createBackend();
for (const feature of backstageFeatures) backend.add(feature());
if (withControlPlane) {
  for (const feature of controlPlaneFeatures) backend.add(feature());
} else {
  backend.add(allowAll);
}
backend.start();
