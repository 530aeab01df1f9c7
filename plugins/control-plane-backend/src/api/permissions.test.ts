import { TestDatabases } from '@backstage/backend-test-utils';
import { DateTime } from 'luxon';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const db = (name: string, owner: string) => ({
  name,
  product: 'mysql',
  owner,
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

const teamQuota = (team: string) => `apiVersion: idp.multicloud/v1
kind: Quota
metadata: { name: ${team}-budget }
spec:
  scope: { kind: team, name: group:default/${team} }
  limits: { maxInstances: 10, maxMonthlyCost: 100000 }
`;

/**
 * Every route decides through the permission framework (the roles of the test backend: ana
 * may do everything, bruno is a developer in payments, eve has no role).
 */
describe.each(databases.eachSupportedId())(
  'permissions of the API on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId);
    });
    afterEach(() => cp.cleanup());

    const get = (path: string, user: string) =>
      request(cp.server)
        .get(`/api/control-plane${path}`)
        .set('authorization', authAs(user));
    const post = (path: string, user: string, body?: object) =>
      request(cp.server)
        .post(`/api/control-plane${path}`)
        .set('authorization', authAs(user))
        .send(body);

    it('lets developers read the catalog of what they may request, and only operators the fleet', async () => {
      const catalog = [
        '/products',
        '/products/mysql',
        '/tiers',
        '/cells',
        '/quotas',
        '/policies',
      ];
      const fleet = ['/clusters', '/providers', '/gitops/status'];
      for (const path of catalog) {
        expect([path, (await get(path, users.bruno)).status]).toEqual([
          path,
          200,
        ]);
        expect([path, (await get(path, users.eve)).status]).toEqual([
          path,
          403,
        ]);
      }
      for (const path of fleet) {
        expect([path, (await get(path, users.bruno)).status]).toEqual([
          path,
          403,
        ]);
        expect([path, (await get(path, users.ana)).status]).toEqual([
          path,
          200,
        ]);
      }
      const estimate = await post('/cost/estimate', users.eve, {
        product: 'mysql',
      });
      expect(estimate.status).toBe(403);
    });

    it("shows a developer his teams' costs only: chargeback, resource cost and team quotas", async () => {
      await post(
        '/resources',
        users.bruno,
        db('orders-db', 'group:default/payments'),
      ).expect(201);
      await post(
        '/resources',
        users.ana,
        db('platform-db', 'group:default/platform'),
      ).expect(201);
      await post('/manifests/apply', users.ana, {
        yaml: [teamQuota('payments'), teamQuota('platform')].join('---\n'),
      }).expect(200);
      // Both were READY on aws for ten days.
      const tenDaysAgo = DateTime.utc().minus({ days: 10 }).toISO();
      await cp.knex('resources').update({
        placement: JSON.stringify({ provider: 'aws', cluster: 'us-aws-1' }),
      });
      for (const r of await cp.knex('resources')) {
        await cp.knex('resource_transitions').insert({
          resource_uid: r.uid,
          from_state: 'PROVISIONING',
          to_state: 'READY',
          actor: 'test',
          reason: 'provisioned',
          created_at: tenDaysAgo,
        });
      }
      const from = DateTime.utc().minus({ days: 30 }).toISO();
      const report = async (user: string) =>
        (await get(`/cost/chargeback?groupBy=team&from=${from}`, user)).body;
      const all = await report(users.ana);
      expect(all.rows.map((r: any) => r.key).sort()).toEqual([
        'group:default/payments',
        'group:default/platform',
      ]);
      const mine = await report(users.bruno);
      expect(mine.rows.map((r: any) => r.key)).toEqual([
        'group:default/payments',
      ]);
      expect(mine.total).toBe(mine.rows[0].cost);
      expect(mine.total).toBeLessThan(all.total);
      expect((await report(users.eve)).rows).toEqual([]);

      expect(
        (await get('/resources/default/orders-db/cost', users.bruno)).status,
      ).toBe(200);
      expect(
        (await get('/resources/default/platform-db/cost', users.bruno)).status,
      ).toBe(404);

      const usage = async (user: string) =>
        (await get('/quotas/usage', user)).body.items.map((q: any) => q.id);
      expect((await usage(users.ana)).sort()).toEqual([
        'payments-budget',
        'platform-budget',
      ]);
      expect(await usage(users.bruno)).toEqual(['payments-budget']);
    });

    it('authorizes an operation whose resource row is gone only for those allowed everything', async () => {
      await post(
        '/resources',
        users.bruno,
        db('orders-db', 'group:default/payments'),
      ).expect(201);
      const op = await post(
        '/resources/default/orders-db/operations',
        users.bruno,
        { type: 'backup' },
      ).expect(202);
      expect((await get(`/operations/${op.body.id}`, users.bruno)).status).toBe(
        200,
      );
      // An operation on what eve cannot read does not exist for her.
      expect((await get(`/operations/${op.body.id}`, users.eve)).status).toBe(
        404,
      );
      // Its row is gone (purged): no condition on its owner can be checked any more, so
      // it is not readable, and does not exist, for a conditional reader.
      await cp.knex('resource_transitions').delete();
      await cp.knex('resource_events').delete();
      await cp.knex('resources').delete();
      expect((await get(`/operations/${op.body.id}`, users.bruno)).status).toBe(
        404,
      );
      expect((await get(`/operations/${op.body.id}`, users.ana)).status).toBe(
        200,
      );
      const cancel = await post(
        `/operations/${op.body.id}/cancel`,
        users.bruno,
      );
      expect(cancel.status).toBe(404);
      const cancelled = await post(
        `/operations/${op.body.id}/cancel`,
        users.ana,
      );
      expect(cancelled.status).toBe(202);
    });
  },
);
