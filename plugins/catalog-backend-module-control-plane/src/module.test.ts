import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
// The test runs the module against the plugin whose resources it publishes.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  controlPlaneConfig,
  resources,
  waitFor,
} from './__testUtils__/fixtures';
import { catalogModuleControlPlane } from './module';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(90_000);

describe.each(databases.eachSupportedId())(
  'the control plane in a real catalog, on %s',
  databaseId => {
    it('shows a created resource as a Resource entity with its relations, gone once deleted', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-catalog-'));
      // Each plugin its own database, as in a real backend.
      const controlPlaneDb = await databases.init(databaseId);
      const catalogDb = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          catalogPlugin,
          catalogModuleControlPlane,
          controlPlanePlugin,
          simulatorModule,
          // The events service of a backend: the catalog hears of changes as they happen.
          eventsServiceFactory,
          createServiceFactory({
            service: coreServices.database,
            deps: { plugin: coreServices.pluginMetadata },
            factory: ({ plugin }) => ({
              getClient: async () =>
                plugin.getId() === 'control-plane' ? controlPlaneDb : catalogDb,
            }),
          }),
          mockServices.rootConfig.factory({
            data: {
              events: { useEventBus: 'never' },
              catalog: {
                providers: {
                  controlPlane: {
                    schedule: {
                      frequency: { minutes: 10 },
                      timeout: { minutes: 1 },
                    },
                  },
                },
              },
              controlPlane: controlPlaneConfig(dataDir),
            },
          }),
        ],
      });
      const user = mockCredentials.user.header('user:default/bruno');
      const api = request(backend.server);
      const entity = (name: string) =>
        waitFor(async () => {
          const res = await api
            .get(`/api/catalog/entities/by-name/resource/default/${name}`)
            .set('authorization', user);
          return res.status === 200 ? res.body : undefined;
        }, `resource ${name} in the catalog`);
      try {
        const create = (body: object) =>
          api
            .post('/api/control-plane/resources')
            .set('authorization', user)
            .send(body)
            .expect(201);
        await create(resources.ordersDb);
        await create(resources.checkout);

        const checkout = await entity('checkout');
        expect(checkout).toMatchObject({
          kind: 'Resource',
          metadata: {
            name: 'checkout',
            namespace: 'default',
            annotations: { 'idp.multicloud/ref': 'resource:default/checkout' },
          },
          spec: {
            type: 'webapp',
            owner: 'group:default/payments',
            dependsOn: ['resource:default/orders-db'],
            dependencyOf: ['component:default/checkout'],
          },
        });
        // The catalog's graph: owned by payments, depending on the database, a dependency
        // of the component it serves.
        const relations = await waitFor(async () => {
          const current = await entity('checkout');
          const rel = (current.relations ?? []).map(
            (r: { type: string; targetRef: string }) =>
              `${r.type} ${r.targetRef}`,
          );
          return rel.length >= 3 ? rel : undefined;
        }, 'the relations of checkout');
        expect(relations).toEqual(
          expect.arrayContaining([
            'ownedBy group:default/payments',
            'dependsOn resource:default/orders-db',
            'dependencyOf component:default/checkout',
          ]),
        );
        expect((await entity('orders-db')).spec).toMatchObject({
          type: 'mysql',
          owner: 'group:default/payments',
        });

        // Deleted: once the control plane has destroyed it, its entity goes.
        await api
          .delete('/api/control-plane/resources/default/checkout')
          .set('authorization', user)
          .expect(202);
        await waitFor(async () => {
          const res = await api
            .get('/api/catalog/entities/by-name/resource/default/checkout')
            .set('authorization', user);
          return res.status === 404 ? true : undefined;
        }, 'checkout to leave the catalog');
        expect((await entity('orders-db')).metadata.name).toBe('orders-db');
      } finally {
        await backend.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
