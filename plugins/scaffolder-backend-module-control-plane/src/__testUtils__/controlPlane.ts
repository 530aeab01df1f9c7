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
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
// The actions are tested against the real control plane, not a stand-in for it.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlane from '@idp-multicloud/plugin-control-plane-backend';
import simulator from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { createIdpClient } from '@idp-multicloud/sdk';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Users of the test backend: ana may do anything, eve nothing. */
export const users = { ana: 'user:default/ana', eve: 'user:default/eve' };

const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory(): PermissionsService {
    const decide = (credentials: any) =>
      credentials.principal?.userEntityRef === users.eve
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW;
    return {
      async authorize(requests, { credentials }) {
        return requests.map(() => ({ result: decide(credentials) })) as any;
      },
      async authorizeConditional(requests, { credentials }) {
        return requests.map(() => ({ result: decide(credentials) })) as any;
      },
    };
  },
});

/**
 * A real control plane (the backend plugin and the simulated clouds, fast) in a test backend,
 * and what the actions need to reach it: a discovery pointing at it and an auth service whose
 * on-behalf-of tokens it accepts.
 */
export async function startControlPlane() {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-scaffolder-test-'));
  const backend = await startTestBackend({
    features: [
      controlPlane,
      simulator,
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
              provisioningTime: { milliseconds: 150 },
              deprovisioningTime: { milliseconds: 20 },
              latency: { default: 0 },
            },
          },
        },
      }),
    ],
  });
  const port = (backend.server.address() as { port: number }).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const discovery: DiscoveryService = {
    getBaseUrl: async id => `${baseUrl}/api/${id}`,
    getExternalBaseUrl: async id => `${baseUrl}/api/${id}`,
  };
  const auth = mockServices.auth();
  const checkpoints = new Map<string, Map<string, unknown>>();
  return {
    options: { discovery, auth },
    /** The API as a user, to look at what the actions did. */
    clientAs: (user: string) =>
      createIdpClient({ baseUrl, token: mockCredentials.user.token(user) }),
    /**
     * An action context of a task started by the user: a task of its own unless one is
     * given, with checkpoints kept per task as the scaffolder keeps them, and a logger
     * whose calls can be read.
     */
    context(
      input: Record<string, unknown>,
      user = users.ana,
      overrides: Partial<ActionContext<any, any>> = {},
    ) {
      const task = overrides.task ?? { id: randomUUID() };
      const saved = checkpoints.get(task.id) ?? new Map<string, unknown>();
      checkpoints.set(task.id, saved);
      const logger = mockServices.logger.mock();
      return {
        ...createMockActionContext<any, any>({ input, task, logger }),
        getInitiatorCredentials: async () => mockCredentials.user(user),
        async checkpoint({ key, fn }: { key: string; fn: () => unknown }) {
          if (!saved.has(key)) saved.set(key, await fn());
          return saved.get(key);
        },
        ...overrides,
        task,
      } as ActionContext<any, any> & {
        output: jest.Mock;
        logger: typeof logger;
      };
    },
    async stop() {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
