/**
 * A real control plane on simulated clouds, for the tests of the packages that talk to it
 * over HTTP (the SDK, the CLI, the scaffolder actions): never a stand-in for it.
 *
 * @packageDocumentation
 */
import {
  coreServices,
  createServiceFactory,
  DiscoveryService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
// The point of this package: the real plugin, in a test backend.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlane from '@idp-multicloud/plugin-control-plane-backend';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import simulator, {
  controlPlaneModuleSimulatorWorkloads,
} from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A running control plane: the backend plugin and the simulated clouds and workloads (fast)
 * in a test backend, on an in-memory SQLite and a fresh state repository.
 * @public
 */
export interface TestControlPlane {
  /** The backend's base URL; the API is under `/api/control-plane`. */
  baseUrl: string;
  /** A discovery service pointing at it. */
  discovery: DiscoveryService;
  /** A token of a user (any user ref); the test backend accepts it. */
  tokenFor(userEntityRef: string): string;
  stop(): Promise<void>;
}

/** Options of {@link startTestControlPlane}. @public */
export interface TestControlPlaneOptions {
  /** Users the permission policy denies everything; everyone else may do anything. */
  deny?: string[];
  /** How long the simulated clouds take to provision. @defaultValue 200 ms */
  provisioningMs?: number;
}

/**
 * Starts a control plane for a test.
 * @public
 */
export async function startTestControlPlane(
  options: TestControlPlaneOptions = {},
): Promise<TestControlPlane> {
  const denied = new Set(options.deny ?? []);
  const decide = (credentials: { principal: unknown }) =>
    denied.has(
      (credentials.principal as { userEntityRef?: string }).userEntityRef ?? '',
    )
      ? AuthorizeResult.DENY
      : AuthorizeResult.ALLOW;
  const permissions = createServiceFactory({
    service: coreServices.permissions,
    deps: {},
    factory: (): PermissionsService => ({
      authorize: async (requests, { credentials }) =>
        requests.map(() => ({ result: decide(credentials) })) as any,
      authorizeConditional: async (requests, { credentials }) =>
        requests.map(() => ({ result: decide(credentials) })) as any,
    }),
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-test-control-plane-'));
  const backend = await startTestBackend({
    features: [
      controlPlane,
      simulator,
      // routed versions serve simulated traffic (deployments, their analyses)
      controlPlaneModuleSimulatorWorkloads,
      permissions,
      mockServices.rootConfig.factory({
        data: {
          controlPlane: {
            dataDir,
            stateRepo: { pollInterval: { hours: 1 } },
            orchestration: {
              pollInterval: { milliseconds: 20 },
              readyPollInterval: { milliseconds: 10 },
              lease: { seconds: 3 },
            },
            reconciler: { interval: { hours: 1 }, driftInterval: { hours: 1 } },
            simulator: {
              provisioningTime: { milliseconds: options.provisioningMs ?? 200 },
              deprovisioningTime: { milliseconds: 20 },
              latency: { default: 0 },
              traffic: {
                interval: { milliseconds: 100 },
                requestsPerSecond: 200,
              },
            },
            deployments: { pollInterval: { milliseconds: 100 } },
          },
        },
      }),
    ],
  });
  const port = (backend.server.address() as { port: number }).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    discovery: {
      getBaseUrl: async id => `${baseUrl}/api/${id}`,
      getExternalBaseUrl: async id => `${baseUrl}/api/${id}`,
    },
    tokenFor: user => mockCredentials.user.token(user),
    async stop() {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
