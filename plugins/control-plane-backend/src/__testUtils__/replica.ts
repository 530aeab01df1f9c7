/*
 * One control plane replica as its own process, for the durability tests: the plugin and the
 * simulated driver and workloads, with mock authentication. Its config comes as JSON in IDP_REPLICA_CONFIG.
 * Started with `node --import @backstage/cli/config/nodeTransform.cjs replica.ts`.
 */
import { createBackend } from '@backstage/backend-defaults';
import type { BackendFeature } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';

const backend = createBackend();
backend.add(
  mockServices.rootConfig.factory({
    data: JSON.parse(process.env.IDP_REPLICA_CONFIG!),
  }),
);
backend.add(mockServices.auth.factory());
backend.add(mockServices.httpAuth.factory());
backend.add(import('..'));
backend.add(
  import('@idp-multicloud/plugin-control-plane-backend-module-simulator'),
);
// routed versions serve simulated traffic (deployments); a named export of a CommonJS
// package reaches a dynamic import under `default`
backend.add(
  import('@idp-multicloud/plugin-control-plane-backend-module-simulator').then(
    (m: any) => ({
      default: (m.controlPlaneModuleSimulatorWorkloads ??
        m.default.controlPlaneModuleSimulatorWorkloads) as BackendFeature,
    }),
  ),
);
backend.start();
