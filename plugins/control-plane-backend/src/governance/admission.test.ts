import { TestDatabases } from '@backstage/backend-test-utils';
import { startControlPlane } from '../__testUtils__/backend';
import {
  call,
  ControlPlaneTest,
  mysql,
  quota,
} from './__testUtils__/controlPlane';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

describe.each(databases.eachSupportedId())(
  'policy at admission on %s',
  databaseId => {
    let cp: ControlPlaneTest | undefined;
    afterEach(async () => {
      await cp?.cleanup();
      cp = undefined;
    });

    it('refuses a create over quota with 422 naming the limit, usage and share, and commits nothing', async () => {
      cp = await startControlPlane(databases, databaseId);
      const api = call(cp);
      expect(
        (
          await api.apply(
            quota(
              'payments',
              '{ kind: team, name: group:default/payments }',
              '{ maxInstances: 1, maxMonthlyCost: 500 }',
            ),
          )
        ).status,
      ).toBe(200);
      expect((await api.post('/resources', mysql('orders-db'))).status).toBe(
        201,
      );
      const head = (await api.get('/gitops/status')).body;

      const refused = await api.post('/resources', mysql('ledger-db'));
      expect(refused.status).toBe(422);
      expect(refused.body.error.name).toBe('QuotaExceededError');
      expect(refused.body.error.message).toBe(
        'quota payments (team group:default/payments) allows maxInstances 1 instances; 1 in use, this request adds 1',
      );
      expect((await api.get('/resources/default/ledger-db')).status).toBe(404);
      expect((await api.get('/gitops/status')).body).toEqual(head);

      const usage = (await api.get('/quotas/usage')).body.items;
      expect(usage).toEqual([
        expect.objectContaining({
          id: 'payments',
          // small: 20 GiB on the primary and on its replica
          usage: {
            instances: 1,
            storageGi: 40,
            monthlyCost: expect.any(Number),
          },
        }),
      ]);

      const audit = (await api.get('/audit?action=policy.decision')).body.items;
      expect(audit.map((e: any) => [e.target, e.outcome])).toEqual(
        expect.arrayContaining([
          ['resource:default/orders-db', 'accepted'],
          ['resource:default/ledger-db', 'rejected'],
        ]),
      );

      // Raising the quota takes effect on its commit, without a restart.
      await api.apply(
        quota(
          'payments',
          '{ kind: team, name: group:default/payments }',
          '{ maxInstances: 2 }',
        ),
      );
      expect((await api.post('/resources', mysql('ledger-db'))).status).toBe(
        201,
      );
    });

    it('applies Policy manifests from the state repository to the teams they name', async () => {
      cp = await startControlPlane(databases, databaseId);
      const api = call(cp);
      const policy = `
apiVersion: idp.multicloud/v1
kind: Policy
metadata: { name: payments-catalog }
spec:
  subjects: { teams: [group:default/payments] }
  products: { allow: [mysql, redis] }
  cells: { allow: [cell-us, cell-eu] }
`;
      expect((await api.apply(policy)).status).toBe(200);
      expect((await api.get('/policies')).body.items).toEqual([
        expect.objectContaining({ id: 'payments-catalog' }),
      ]);
      const kafka = await api.post('/resources', {
        ...mysql('events'),
        product: 'kafka',
        params: {},
      });
      expect(kafka.status).toBe(403);
      expect(kafka.body.error.message).toBe(
        'policy payments-catalog does not allow product kafka for group:default/payments',
      );
      const ap = await api.post(
        '/resources',
        mysql('orders-db', { cell: 'cell-ap' }),
      );
      expect(ap.status).toBe(403);
      expect(ap.body.error.message).toContain('does not allow cell cell-ap');
      // Another team is not subject to it.
      expect(
        (
          await api.post('/resources', {
            ...mysql('events'),
            owner: 'group:default/search',
            product: 'kafka',
            params: {},
          })
        ).status,
      ).toBe(201);
    });

    it('refuses a create over budget before anything is committed, naming the budget, its usage and the request', async () => {
      cp = await startControlPlane(databases, databaseId);
      const api = call(cp);
      expect(
        (
          await api.apply(
            quota(
              'payments-budget',
              '{ kind: team, name: group:default/payments }',
              '{ maxMonthlyCost: 300 }',
            ),
          )
        ).status,
      ).toBe(200);
      const price = async (size: string) =>
        (
          await api.post('/cost/estimate', {
            product: 'mysql',
            tier: 'medium',
            cell: 'cell-us',
            params: { size },
          })
        ).body.cheapest.monthlyCost as number;
      const small = await price('small');
      const large = await price('large');
      expect(small).toBeLessThan(300);
      expect(small + large).toBeGreaterThan(300);
      expect((await api.post('/resources', mysql('orders-db'))).status).toBe(
        201,
      );
      const head = (await api.get('/gitops/status')).body;

      const refused = await api.post(
        '/resources',
        mysql('ledger-db', { params: { size: 'large' } }),
      );
      expect(refused.status).toBe(422);
      expect(refused.body.error.name).toBe('QuotaExceededError');
      expect(refused.body.error.message).toBe(
        `quota payments-budget (team group:default/payments) allows maxMonthlyCost $300.00 USD per month; $${small.toFixed(
          2,
        )} in use, this request adds $${large.toFixed(2)}`,
      );
      expect((await api.get('/resources/default/ledger-db')).status).toBe(404);
      expect((await api.get('/gitops/status')).body).toEqual(head);
      // The plan says so too, and prices what it would add.
      const plan = (
        await api.plan(`
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ledger-db, namespace: default }
spec:
  product: mysql
  owner: group:default/payments
  tier: medium
  cell: cell-us
  params: { size: large }
`)
      ).body;
      expect(plan.refusals).toEqual([
        {
          ref: 'resource:default/ledger-db',
          code: 'quota.maxMonthlyCost',
          message: refused.body.error.message,
        },
      ]);
      expect(plan.cost).toEqual({
        currency: 'USD',
        before: 0,
        after: large,
        delta: large,
      });
    });

    it('decides on deletes and operations too: a policy does not stop deleting or operating what one has, a quota stops a scale over it', async () => {
      cp = await startControlPlane(databases, databaseId);
      const api = call(cp);
      await api.post('/resources', mysql('orders-db'));
      await api.post('/resources', mysql('old-db'));
      await api.apply(`
apiVersion: idp.multicloud/v1
kind: Policy
metadata: { name: no-more-mysql }
spec:
  subjects: { teams: [group:default/payments] }
  products: { deny: [mysql] }
---
${quota(
  'payments-storage',
  '{ kind: team, name: group:default/payments }',
  '{ maxStorageGi: 100 }',
).trim()}
`);
      // small: 20 GiB on the primary and on its replica, for each of the two.
      expect(
        (
          await api.post('/resources/default/orders-db/operations', {
            type: 'scale',
            params: { storageGi: 40 },
          })
        ).body.error.message,
      ).toBe(
        'quota payments-storage (team group:default/payments) allows maxStorageGi 100 GiB of storage; 80 in use, this request adds 40',
      );
      expect(
        (
          await api.post('/resources/default/orders-db/operations', {
            type: 'failover',
          })
        ).status,
      ).toBe(202);
      expect((await api.delete('/resources/default/old-db')).status).toBe(202);

      const decisions = (
        await api.get('/audit?action=policy.decision&limit=20')
      ).body.items.map((e: any) => [
        e.target,
        e.outcome,
        e.reason.split(':')[0],
      ]);
      expect(decisions.slice(0, 3)).toEqual([
        ['resource:default/old-db', 'accepted', 'resource.delete by built-in'],
        [
          'resource:default/orders-db',
          'accepted',
          'resource.failover by built-in',
        ],
        [
          'resource:default/orders-db',
          'rejected',
          'resource.scale by built-in',
        ],
      ]);
    });
  },
);
