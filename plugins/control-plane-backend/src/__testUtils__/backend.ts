import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import {
  BackendFeature,
  BackstageCredentials,
  coreServices,
  createServiceFactory,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import {
  AuthorizeResult,
  isResourcePermission,
} from '@backstage/plugin-permission-common';
import { catalogReadPermission } from '@idp-multicloud/plugin-control-plane-common';
import { controlPlaneResourceConditions } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { controlPlanePlugin } from '../plugin';

/**
 * Test users and what a role-based policy would decide for them:
 * ana is a platform engineer (everything), bruno a developer in group payments (his groups'
 * resources only, and the catalog of what may be requested), eve has no role (nothing).
 */
export const users = {
  ana: 'user:default/ana',
  bruno: 'user:default/bruno',
  eve: 'user:default/eve',
};

const developerClaims: Record<string, string[]> = {
  [users.bruno]: [users.bruno, 'group:default/payments'],
};

/**
 * A permissions service deciding like the roles above. It stands in for the permission
 * backend and its policy (tested on their own); the control plane's rules and conditions
 * are the real ones.
 */
export const rolePermissionsFactory = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory(): PermissionsService {
    const decide = (permission: any, credentials: BackstageCredentials) => {
      const principal = credentials.principal as {
        type: string;
        userEntityRef?: string;
      };
      if (
        principal.type === 'service' ||
        principal.userEntityRef === users.ana
      ) {
        return { result: AuthorizeResult.ALLOW } as const;
      }
      const claims = developerClaims[principal.userEntityRef ?? ''];
      if (claims && permission.name === catalogReadPermission.name) {
        return { result: AuthorizeResult.ALLOW } as const;
      }
      if (
        claims &&
        isResourcePermission(permission, 'control-plane-resource')
      ) {
        return controlPlaneResourceConditions.createConditionalDecision(
          permission,
          controlPlaneResourceConditions.conditions.isOwner({ claims }),
        );
      }
      return { result: AuthorizeResult.DENY } as const;
    };
    return {
      async authorize(requests, { credentials }) {
        return requests.map(r => {
          const decision = decide(r.permission, credentials);
          return decision.result === AuthorizeResult.CONDITIONAL
            ? { result: AuthorizeResult.DENY }
            : decision;
        });
      },
      async authorizeConditional(requests, { credentials }) {
        return requests.map(r => decide(r.permission, credentials)) as any;
      },
    };
  },
});

export const authAs = (user: string) => mockCredentials.user.header(user);

/**
 * Starts a backend with the control plane on a test database and a fresh state repo. The
 * saga engine and reconciler run only when `orchestration` is set (with the given features,
 * e.g. a driver module); without it, accepted resources stay PENDING.
 */
export async function startControlPlane(
  databases: TestDatabases,
  databaseId: Parameters<TestDatabases['init']>[0],
  options: {
    knex?: Knex;
    dataDir?: string;
    orchestration?: boolean;
    /**
     * Runs the plugin's periodic tasks on their intervals (the real scheduler); by default
     * when orchestration runs.
     */
    periodicTasks?: boolean;
    features?: BackendFeature[];
    /** Merged into the `controlPlane` config block (e.g. `simulator`). */
    controlPlane?: Record<string, unknown>;
    config?: Record<string, unknown>;
  } = {},
) {
  const knex = options.knex ?? (await databases.init(databaseId));
  const dataDir =
    options.dataDir ?? mkdtempSync(join(tmpdir(), 'idp-cp-test-'));
  const backend = await startTestBackend({
    features: [
      controlPlanePlugin,
      // The test backend's scheduler runs each task once, at start-up; the real one runs the
      // plugin's periodic tasks (health flushes, probes) on their intervals.
      ...(options.periodicTasks ?? options.orchestration
        ? [schedulerServiceFactory]
        : []),
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          controlPlane: {
            dataDir,
            stateRepo: { pollInterval: { hours: 1 } },
            orchestration: {
              enabled: options.orchestration ?? false,
              pollInterval: { milliseconds: 20 },
              readyPollInterval: { milliseconds: 10 },
              lease: { seconds: 3 },
            },
            reconciler: { interval: { hours: 1 }, driftInterval: { hours: 1 } },
            ...options.controlPlane,
          },
          ...options.config,
        },
      }),
      rolePermissionsFactory,
      ...(options.features ?? []),
    ],
  });
  return {
    ...backend,
    knex,
    dataDir,
    repoPath: join(dataDir, 'state.git'),
    /** Stops the backend, keeping its database and data directory (a restart). */
    stop: () => backend.stop(),
    cleanup: async () => {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns something truthy, and returns that. */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

/** A simulator that provisions in a few milliseconds, for `controlPlane.simulator`. */
export const fastSimulator = {
  provisioningTime: { milliseconds: 30 },
  deprovisioningTime: { milliseconds: 10 },
  latency: { default: 0 },
};

/** Calls the control plane API of a test backend as `user`. */
export function callAs(server: Parameters<typeof request>[0], user: string) {
  const as = authAs(user);
  const base = '/api/control-plane';
  const send =
    (method: 'post' | 'put' | 'patch') => (path: string, body?: object) =>
      request(server)
        [method](`${base}${path}`)
        .set('authorization', as)
        .send(body);
  return {
    get: (path: string) =>
      request(server).get(`${base}${path}`).set('authorization', as),
    delete: (path: string) =>
      request(server).delete(`${base}${path}`).set('authorization', as),
    post: send('post'),
    put: send('put'),
    patch: send('patch'),
  };
}
