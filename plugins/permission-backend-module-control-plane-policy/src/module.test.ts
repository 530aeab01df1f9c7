import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import request from 'supertest';
import { startPolicyBackend } from './__testUtils__/policyBackend';

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
jest.setTimeout(60_000);

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
    let started: Awaited<ReturnType<typeof startPolicyBackend>>;
    let backend: Awaited<ReturnType<typeof startPolicyBackend>>['backend'];
    let knex: Awaited<ReturnType<typeof startPolicyBackend>>['knex'];

    beforeAll(async () => {
      started = await startPolicyBackend(databases, databaseId);
      backend = started.backend;
      knex = started.knex;
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
      await started?.cleanup();
    });

    const as = (name: string) => started.as(name);
    const refs = async (name: string) =>
      (await as(name).get('/resources')).body.items.map((r: any) => r.ref);

    it("gives a developer his groups' resources and the catalog, 404 for what he cannot read and 403 on the rest", async () => {
      const bruno = as('bruno');
      expect(await refs('bruno')).toEqual(['resource:default/orders-db']);
      expect((await bruno.get('/resources/default/orders-db')).status).toBe(
        200,
      );
      // What he may not read does not exist for him: 404, as for a missing resource.
      expect((await bruno.get('/resources/default/platform-db')).status).toBe(
        404,
      );
      expect(
        (
          await bruno.patch('/resources/default/platform-db', {
            labels: { a: 'b' },
          })
        ).status,
      ).toBe(404);
      expect(
        (await bruno.delete('/resources/default/platform-db')).status,
      ).toBe(404);
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
