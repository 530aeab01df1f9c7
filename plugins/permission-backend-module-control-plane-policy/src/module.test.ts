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
import { permissionModuleControlPlanePolicy } from './module';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(60_000);

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
const org = [
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

const db = (name: string, owner: string) => ({
  name,
  product: 'mysql',
  owner,
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

const tier = `apiVersion: idp.multicloud/v1
kind: Tier
metadata: { name: low }
spec:
  description: cheaper still
  placement: { minProviderHealth: 0.1, requireMultiAZ: false, maxClusterUtilization: 0.99 }
  sla: { availability: 98, p99LatencyMs: 2000, rtoMinutes: 2880, rpoMinutes: 2880 }
  requiredFeatures: { backups: false, multiAZ: false, encryption: false }
  operations: { maxAttempts: 2, stepTimeoutSeconds: 600 }
`;

describe.each(databases.eachSupportedId())(
  'the shipped permission policy, behind the permission backend, on %s',
  databaseId => {
    let backend: Awaited<ReturnType<typeof startTestBackend>>;
    let knex: Awaited<ReturnType<typeof databases.init>>;
    let dataDir: string;

    beforeAll(async () => {
      knex = await databases.init(databaseId);
      dataDir = mkdtempSync(join(tmpdir(), 'idp-policy-'));
      backend = await startTestBackend({
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
      const create = (who: string, body: object) =>
        request(backend.server)
          .post('/api/control-plane/resources')
          .set('authorization', mockCredentials.user.header(who))
          .send(body)
          .expect(201);
      await create(
        'user:default/bruno',
        db('orders-db', 'group:default/payments'),
      );
      await create(
        'user:default/ana',
        db('platform-db', 'group:default/platform'),
      );
    });
    afterAll(async () => {
      await backend?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const as = (name: string) => {
      const header = mockCredentials.user.header(`user:default/${name}`);
      const base = '/api/control-plane';
      return {
        get: (path: string) =>
          request(backend.server)
            .get(`${base}${path}`)
            .set('authorization', header),
        post: (path: string, body?: object) =>
          request(backend.server)
            .post(`${base}${path}`)
            .set('authorization', header)
            .send(body),
        patch: (path: string, body: object) =>
          request(backend.server)
            .patch(`${base}${path}`)
            .set('authorization', header)
            .send(body),
        delete: (path: string) =>
          request(backend.server)
            .delete(`${base}${path}`)
            .set('authorization', header),
      };
    };
    const refs = async (name: string) =>
      (await as(name).get('/resources')).body.items.map((r: any) => r.ref);

    it("gives a developer his groups' resources and the catalog, and 403 on the rest", async () => {
      const bruno = as('bruno');
      expect(await refs('bruno')).toEqual(['resource:default/orders-db']);
      expect((await bruno.get('/resources/default/orders-db')).status).toBe(
        200,
      );
      expect((await bruno.get('/resources/default/platform-db')).status).toBe(
        403,
      );
      expect(
        (
          await bruno.patch('/resources/default/platform-db', {
            labels: { a: 'b' },
          })
        ).status,
      ).toBe(403);
      expect(
        (await bruno.delete('/resources/default/platform-db')).status,
      ).toBe(403);
      expect(
        (
          await bruno.post(
            '/resources',
            db('stolen-db', 'group:default/platform'),
          )
        ).status,
      ).toBe(403);
      expect(
        (
          await bruno.post('/resources/default/orders-db/operations', {
            type: 'backup',
          })
        ).status,
      ).toBe(202);
      expect((await bruno.get('/products')).status).toBe(200);
      expect((await bruno.get('/tiers')).status).toBe(200);
      expect((await bruno.get('/cells')).status).toBe(200);
      for (const path of [
        '/clusters',
        '/providers',
        '/gitops/status',
        '/audit',
      ]) {
        expect([path, (await bruno.get(path)).status]).toEqual([path, 403]);
      }
      const policy = await bruno.post('/manifests/apply', {
        yaml: `apiVersion: idp.multicloud/v1
kind: Policy
metadata: { name: deny-all }
spec: { products: { allow: [] } }
`,
      });
      expect(policy.status).toBe(403);
      expect((await bruno.get('/policies')).body.items).toEqual([]);
    });

    it("gives a platform engineer every resource and the fleet, but not deleting others' resources or tiers", async () => {
      const ana = as('ana');
      expect((await refs('ana')).sort()).toEqual([
        'resource:default/orders-db',
        'resource:default/platform-db',
      ]);
      expect((await ana.get('/resources/default/orders-db')).status).toBe(200);
      for (const path of [
        '/clusters',
        '/providers',
        '/gitops/status',
        '/audit',
      ]) {
        expect([path, (await ana.get(path)).status]).toEqual([path, 200]);
      }
      expect((await ana.delete('/resources/default/orders-db')).status).toBe(
        403,
      );
      expect((await ana.post('/manifests/apply', { yaml: tier })).status).toBe(
        403,
      );
    });

    it("shows a developer his teams' costs, a platform engineer everyone's", async () => {
      // Both databases were READY on aws for ten days.
      const tenDaysAgo = new Date(Date.now() - 10 * 24 * 3600 * 1000);
      await knex('resources').update({
        placement: JSON.stringify({ provider: 'aws', cluster: 'us-aws-1' }),
      });
      for (const r of await knex('resources')) {
        await knex('resource_transitions').insert({
          resource_uid: r.uid,
          from_state: 'PROVISIONING',
          to_state: 'READY',
          actor: 'test',
          reason: 'provisioned',
          created_at: tenDaysAgo,
        });
      }
      const from = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString();
      const teams = async (name: string) =>
        (
          await as(name).get(`/cost/chargeback?groupBy=team&from=${from}`)
        ).body.rows.map((r: any) => r.key);
      expect(await teams('bruno')).toEqual(['group:default/payments']);
      expect((await teams('ana')).sort()).toEqual([
        'group:default/payments',
        'group:default/platform',
      ]);
      expect(await teams('eve')).toEqual([]);
    });

    it('gives an admin everything, and nothing to a user without a role', async () => {
      const root = as('root');
      expect((await root.post('/manifests/apply', { yaml: tier })).status).toBe(
        200,
      );
      expect((await root.get('/audit/verify')).body.valid).toBe(true);
      const eve = as('eve');
      expect(await refs('eve')).toEqual([]);
      expect((await eve.get('/products')).status).toBe(403);
      expect(
        (await eve.post('/resources', db('eve-db', 'group:default/guests')))
          .status,
      ).toBe(403);
      expect((await root.delete('/resources/default/platform-db')).status).toBe(
        202,
      );
    });
  },
);
