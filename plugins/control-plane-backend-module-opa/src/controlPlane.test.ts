import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
// The real control plane, to test the module where it runs (a test-only dependency).
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { examplePolicy } from './__testUtils__/examples';
import { FakeOpa } from './__testUtils__/fakeOpa';
import { controlPlaneModuleOpa } from './module';

// The control plane's store runs on both databases it supports.
const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(60_000);

const jane = 'user:default/jane';

describe.each(databases.eachSupportedId())(
  'the control plane with the OPA module on %s',
  databaseId => {
    let opa: FakeOpa;
    let dataDir: string;
    let backend: Awaited<ReturnType<typeof startTestBackend>>;

    beforeEach(async () => {
      opa = await FakeOpa.start({
        policies: { 'idp/controlplane': examplePolicy },
      });
      dataDir = mkdtempSync(join(tmpdir(), 'idp-opa-cp-'));
      backend = await startTestBackend({
        features: [
          controlPlanePlugin,
          controlPlaneModuleOpa,
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
          mockServices.rootConfig.factory({
            data: {
              controlPlane: {
                dataDir,
                stateRepo: { pollInterval: { hours: 1 } },
                orchestration: { enabled: false },
                reconciler: {
                  interval: { hours: 1 },
                  driftInterval: { hours: 1 },
                },
                opa: { baseUrl: opa.url },
              },
            },
          }),
        ],
      });
    });

    afterEach(async () => {
      await backend?.stop();
      await opa.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const api = () => {
      const as = mockCredentials.user.header(jane);
      const base = '/api/control-plane';
      return {
        get: (path: string) =>
          request(backend.server)
            .get(`${base}${path}`)
            .set('authorization', as),
        post: (path: string, body?: object) =>
          request(backend.server)
            .post(`${base}${path}`)
            .set('authorization', as)
            .send(body),
        delete: (path: string) =>
          request(backend.server)
            .delete(`${base}${path}`)
            .set('authorization', as),
      };
    };

    const db = (name: string, labels: Record<string, string> = {}) => ({
      name,
      namespace: 'payments',
      product: 'mysql',
      owner: 'group:default/payments',
      tier: 'high',
      cell: 'cell-us',
      labels,
    });

    /** What OPA was asked, as [action, resource]. */
    const asked = () =>
      opa.requests.map(r => [r.body.input.action, r.body.input.resource.ref]);

    it("refuses what OPA denies, through the API, with OPA's reasons and status, and commits nothing", async () => {
      const a = api();
      const head = (await a.get('/gitops/status')).body;

      // OPA's violation carries status 422.
      const bucket = await a.post('/resources', {
        name: 'public-assets',
        namespace: 'payments',
        product: 'object-bucket',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
        params: { publicRead: true },
      });
      expect(bucket.status).toBe(422);
      expect(bucket.body.error).toMatchObject({
        name: 'PolicyDeniedError',
        message: 'object buckets may not be publicly readable',
      });
      // Tier critical in a cell without data residency: 403.
      const critical = await a.post('/resources', {
        ...db('ledger-db'),
        tier: 'critical',
      });
      expect(critical.status).toBe(403);
      expect(critical.body.error.message).toBe(
        'tier critical needs a cell with data residency; cell-us has none',
      );
      expect((await a.get('/gitops/status')).body).toEqual(head);
      expect((await a.get('/resources/payments/public-assets')).status).toBe(
        404,
      );
      expect(asked()).toEqual([
        ['resource.create', 'resource:payments/public-assets'],
        ['resource.create', 'resource:payments/ledger-db'],
      ]);
      const decisions = (
        await a.get('/audit?action=policy.decision&outcome=rejected')
      ).body.items;
      expect(decisions.map((e: any) => e.target)).toEqual([
        'resource:payments/ledger-db',
        'resource:payments/public-assets',
      ]);
      expect(decisions[0].reason).toBe(
        'resource.create by built-in, opa: [tier.critical.dataResidency] tier critical needs a cell with data residency; cell-us has none',
      );
    });

    it('asks OPA about deletes and operations too: a protected resource is not deleted, a frozen one takes no operation', async () => {
      const a = api();
      expect(
        (await a.post('/resources', db('orders-db', { protected: 'true' })))
          .status,
      ).toBe(201);
      expect(
        (await a.post('/resources', db('sessions-db', { freeze: 'true' })))
          .status,
      ).toBe(201);
      const head = (await a.get('/gitops/status')).body;

      const deleted = await a.delete('/resources/payments/orders-db');
      expect(deleted.status).toBe(403);
      expect(deleted.body.error.message).toBe(
        'resource:payments/orders-db is protected: remove its label protected before deleting it',
      );
      expect((await a.get('/resources/payments/orders-db')).status).toBe(200);

      const failover = await a.post(
        '/resources/payments/sessions-db/operations',
        { type: 'failover' },
      );
      expect(failover.status).toBe(403);
      expect(failover.body.error.message).toBe(
        'resource:payments/sessions-db is in a change freeze: no failover until its label freeze is removed',
      );
      expect(
        (await a.get('/resources/payments/sessions-db/operations')).body.items,
      ).toEqual([]);
      expect((await a.get('/gitops/status')).body).toEqual(head);

      // What OPA was given: the resource as it is, and the operation.
      const operationInput = opa.requests.find(
        r => r.body.input.action === 'resource.failover',
      )!.body.input;
      expect(operationInput).toMatchObject({
        actor: { ref: jane },
        operation: { type: 'failover', params: {} },
        resource: { ref: 'resource:payments/sessions-db' },
        previous: { ref: 'resource:payments/sessions-db' },
      });
      expect(operationInput.quotas).toEqual([]);
      expect(asked().slice(2)).toEqual([
        ['resource.delete', 'resource:payments/orders-db'],
        ['resource.failover', 'resource:payments/sessions-db'],
      ]);

      // Deleting what is not protected is allowed.
      expect((await a.delete('/resources/payments/sessions-db')).status).toBe(
        202,
      );
    });
  },
);
