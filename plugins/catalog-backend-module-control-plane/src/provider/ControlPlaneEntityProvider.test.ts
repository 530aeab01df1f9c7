import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { DeferredEntity } from '@backstage/plugin-catalog-node';
// The test runs the provider against the plugin whose resources it publishes.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { createIdpClient } from '@idp-multicloud/sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  controlPlaneConfig,
  resources,
  waitFor,
} from '../__testUtils__/fixtures';
import { ControlPlaneEntityProvider } from './ControlPlaneEntityProvider';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(60_000);

describe.each(databases.eachSupportedId())(
  'ControlPlaneEntityProvider on %s',
  databaseId => {
    it('publishes resources as Resource entities with their relations, and follows deletions', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-catalog-'));
      const backend = await startTestBackend({
        features: [
          controlPlanePlugin,
          simulatorModule,
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          mockServices.rootConfig.factory({
            data: { controlPlane: controlPlaneConfig(dataDir) },
          }),
        ],
      });
      const { server } = backend;
      const user = mockCredentials.user.header('user:default/bruno');
      const resource = (name: string) =>
        request(server)
          .get(`/api/control-plane/resources/default/${name}`)
          .set('authorization', user);
      try {
        const create = (body: object) =>
          request(server)
            .post('/api/control-plane/resources')
            .set('authorization', user)
            .send(body)
            .expect(201);
        await create(resources.ordersDb);
        await create(resources.checkout);
        // Wait until both run, so the entities carry their placement.
        for (const name of ['orders-db', 'checkout']) {
          await waitFor(
            async () =>
              (await resource(name)).body.status?.state === 'READY' ||
              undefined,
            `${name} to be READY`,
          );
        }

        const mutations: DeferredEntity[][] = [];
        const provider = new ControlPlaneEntityProvider({
          client: createIdpClient({
            baseUrl: `http://127.0.0.1:${
              (server.address() as AddressInfo).port
            }`,
            token: mockCredentials.service.token(),
          }),
          logger: mockServices.logger.mock(),
          taskRunner: { run: async () => {} },
        });
        await provider.connect({
          applyMutation: async mutation => {
            if (mutation.type === 'full') mutations.push(mutation.entities);
          },
          refresh: async () => {},
        });

        await provider.refresh();
        const entities = Object.fromEntries(
          mutations[0].map(d => [d.entity.metadata.name, d.entity]),
        );
        expect(entities.checkout).toMatchObject({
          kind: 'Resource',
          metadata: {
            namespace: 'default',
            annotations: {
              'idp.multicloud/ref': 'resource:default/checkout',
              'idp.multicloud/state': 'READY',
              'idp.multicloud/version': '2.1.0',
              'idp.multicloud/provider': expect.any(String),
              'idp.multicloud/cluster': expect.any(String),
              'backstage.io/managed-by-location':
                'control-plane:resource:default/checkout',
            },
          },
          spec: {
            type: 'webapp',
            owner: 'group:default/payments',
            dependsOn: ['resource:default/orders-db'],
            dependencyOf: ['component:default/checkout'],
          },
        });
        expect(entities['orders-db'].spec).toMatchObject({
          type: 'mysql',
          dependsOn: [],
        });
        expect(mutations[0].map(d => d.locationKey).sort()).toEqual([
          'control-plane:resource:default/checkout',
          'control-plane:resource:default/orders-db',
        ]);

        // A deleted resource's entity goes once the deletion is complete.
        await request(server)
          .delete('/api/control-plane/resources/default/checkout')
          .set('authorization', user)
          .expect(202);
        await waitFor(
          async () => (await resource('checkout')).status === 404 || undefined,
          'checkout to be deleted',
        );
        await provider.refresh();
        expect(
          mutations[mutations.length - 1].map(d => d.entity.metadata.name),
        ).toEqual(['orders-db']);
      } finally {
        await backend.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
