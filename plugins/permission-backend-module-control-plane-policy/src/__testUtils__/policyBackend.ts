import {
  AuthService,
  coreServices,
  createServiceFactory,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import { permissionsRegistryServiceFactory } from '@backstage/backend-defaults/permissionsRegistry';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import permissionPlugin from '@backstage/plugin-permission-backend';
// The test runs the policy in front of the plugin whose requests it decides.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import request from 'supertest';
import { permissionModuleControlPlanePolicy } from '../module';

/** The organisation: group membership decides the roles (see the config below). */
const group = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name, namespace: 'default' },
  spec: { type: 'team', children: [] },
});
const user = (name: string, ...groups: string[]): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default' },
  spec: { memberOf: groups },
  // What catalog processing derives from spec.memberOf.
  relations: groups.map(g => ({
    type: 'memberOf',
    targetRef: `group:default/${g}`,
  })),
});
export const org = [
  group('admins'),
  group('platform'),
  group('payments'),
  group('guests'),
  user('root', 'admins'),
  user('ana', 'platform'),
  user('bruno', 'payments'),
  user('eve', 'guests'),
];

/**
 * Ownership refs as Backstage's sign-in resolves them by default (the user and the groups it
 * is a member of), read from the catalog: what the permission backend hands the policy.
 */
const catalogUserInfoFactory = createServiceFactory({
  service: coreServices.userInfo,
  deps: { catalog: catalogServiceRef, auth: coreServices.auth },
  factory({ catalog, auth }): UserInfoService {
    return {
      async getUserInfo(credentials) {
        if (!auth.isPrincipal(credentials, 'user')) {
          throw new Error('not a user');
        }
        const { userEntityRef } = credentials.principal;
        const entity = await catalog.getEntityByRef(userEntityRef, {
          credentials: await auth.getOwnServiceCredentials(),
        });
        const groups = (entity?.relations ?? [])
          .filter(r => r.type === 'memberOf')
          .map(r => r.targetRef);
        return {
          userEntityRef,
          ownershipEntityRefs: [
            entity ? stringifyEntityRef(entity) : userEntityRef,
            ...groups,
          ],
        };
      },
    };
  },
});

/**
 * The mock auth service, except that a token a plugin gets on behalf of a user names that
 * plugin as its actor, as real on-behalf-of tokens do (the permission backend refuses
 * resource permissions without a resource ref from a user calling it directly).
 */
const onBehalfOfAuthFactory = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }): AuthService {
    const auth = mockServices.auth({ pluginId: plugin.getId() });
    return {
      authenticate: (token, options) => auth.authenticate(token, options),
      getNoneCredentials: () => auth.getNoneCredentials(),
      getOwnServiceCredentials: () => auth.getOwnServiceCredentials(),
      isPrincipal: auth.isPrincipal.bind(auth) as AuthService['isPrincipal'],
      getLimitedUserToken: credentials => auth.getLimitedUserToken(credentials),
      listPublicServiceKeys: () => auth.listPublicServiceKeys(),
      async getPluginRequestToken(options) {
        const principal = options.onBehalfOf.principal as {
          type: string;
          userEntityRef?: string;
        };
        if (principal.type === 'user') {
          return {
            token: mockCredentials.user.token(principal.userEntityRef, {
              actor: { subject: `plugin:${plugin.getId()}` },
            }),
          };
        }
        return auth.getPluginRequestToken(options);
      },
    };
  },
});

/**
 * A backend with the control plane behind the permission backend and the shipped policy:
 * root is an admin, ana a platform engineer, bruno a developer in payments, eve has no role.
 */
export async function startPolicyBackend(
  databases: TestDatabases,
  databaseId: Parameters<TestDatabases['init']>[0],
) {
  const knex = await databases.init(databaseId);
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-policy-'));
  const backend = await startTestBackend({
    features: [
      controlPlanePlugin,
      permissionPlugin,
      permissionModuleControlPlanePolicy,
      permissionsServiceFactory,
      permissionsRegistryServiceFactory,
      onBehalfOfAuthFactory,
      catalogUserInfoFactory,
      catalogServiceMock.factory({ entities: org }),
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          permission: { enabled: true },
          controlPlane: {
            dataDir,
            stateRepo: { pollInterval: { hours: 1 } },
            orchestration: { enabled: false },
            reconciler: {
              interval: { hours: 1 },
              driftInterval: { hours: 1 },
            },
            permissions: {
              roles: {
                admin: ['group:default/admins'],
                platformEngineer: ['group:default/platform'],
                developer: ['group:default/payments'],
              },
            },
          },
        },
      }),
    ],
  });
  const as = (name: string) => {
    const header = mockCredentials.user.header(`user:default/${name}`);
    const base = '/api/control-plane';
    const send =
      (method: 'get' | 'post' | 'put' | 'patch' | 'delete') =>
      (path: string, body?: object) => {
        const req = request(backend.server)
          [method](`${base}${path}`)
          .set('authorization', header)
          // JSON pages rather than the event stream, which stays open.
          .set('accept', 'application/json');
        return body === undefined ? req : req.send(body);
      };
    return {
      get: send('get'),
      post: send('post'),
      put: send('put'),
      patch: send('patch'),
      delete: send('delete'),
    };
  };
  return {
    backend,
    knex,
    as,
    cleanup: async () => {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
