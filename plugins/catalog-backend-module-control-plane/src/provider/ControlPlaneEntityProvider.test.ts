import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { DeferredEntity } from '@backstage/plugin-catalog-node';
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { createIdpClient } from '@idp-multicloud/sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ControlPlaneEntityProvider } from './ControlPlaneEntityProvider';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
jest.setTimeout(60_000);

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('ControlPlaneEntityProvider', () => {
  it('publishes resources as Resource entities with their relations, and follows deletions', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-catalog-'));
    const backend = await startTestBackend({
      features: [
        controlPlanePlugin,
        simulatorModule,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              dataDir,
              orchestration: {
                pollInterval: { milliseconds: 20 },
                readyPollInterval: { milliseconds: 10 },
              },
              simulator: {
                provisioningTime: { milliseconds: 30 },
                deprovisioningTime: { milliseconds: 10 },
                latency: { default: 0 },
              },
            },
          },
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
      await create({
        name: 'orders-db',
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'high',
        cell: 'cell-us',
      });
      await create({
        name: 'checkout',
        product: 'webapp',
        owner: 'group:default/payments',
        component: 'component:default/checkout',
        tier: 'high',
        cell: 'cell-us',
        params: { image: 'ghcr.io/acme/checkout', version: '2.1.0' },
        dependsOn: ['orders-db'],
      });
      // Wait until both run, so the entities carry their placement.
      for (const name of ['orders-db', 'checkout']) {
        await waitFor(
          async () => (await resource(name)).body.status?.state === 'READY',
        );
      }

      const mutations: DeferredEntity[][] = [];
      const provider = new ControlPlaneEntityProvider({
        client: createIdpClient({
          baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
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
      await waitFor(async () => (await resource('checkout')).status === 404);
      await provider.refresh();
      expect(
        mutations[mutations.length - 1].map(d => d.entity.metadata.name),
      ).toEqual(['orders-db']);
    } finally {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
