import { TestDatabases } from '@backstage/backend-test-utils';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import {
  call,
  ControlPlaneTest,
  mysql,
  orchestrated,
  ready,
} from './__testUtils__/controlPlane';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

describe.each(databases.eachSupportedId())('cost on %s', databaseId => {
  let cp: ControlPlaneTest | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it('estimates cost per provider, cheapest first, and names bad fields', async () => {
    cp = await startControlPlane(databases, databaseId);
    const api = call(cp);
    const res = await api.post('/cost/estimate', {
      product: 'mysql',
      tier: 'high',
      cell: 'cell-eu',
      params: { size: 'large', storageGi: 100 },
    });
    expect(res.status).toBe(200);
    const costs = res.body.estimates.map((e: any) => e.monthlyCost);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    expect(res.body.estimates.map((e: any) => e.provider).sort()).toEqual([
      'aws',
      'azure',
      'gcp',
      'oci',
    ]);
    expect(res.body.cheapest).toEqual(res.body.estimates[0]);
    // Large on AWS: 0.356/h × 730 h × 2 billed replicas (primary + 1) + 100 GiB × 2 × 0.115.
    const aws = res.body.estimates.find((e: any) => e.provider === 'aws');
    expect(aws.monthlyCost).toBeCloseTo(0.356 * 730 * 2 + 100 * 2 * 0.115, 0);

    const bad = await api.post('/cost/estimate', {
      product: 'mysql',
      params: { size: 'gigantic' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('params.size');
    const unknown = await api.post('/cost/estimate', { product: 'oracle' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/^product: no product oracle/);
  });

  it('prices a plan: each resource before and after, and the monthly delta', async () => {
    cp = await startControlPlane(databases, databaseId);
    const api = call(cp);
    await api.post('/resources', mysql('orders-db'));
    await api.post('/resources', mysql('old-db'));
    const price = async (params: object, cell = 'cell-us') =>
      (
        await api.post('/cost/estimate', {
          product: 'mysql',
          tier: 'medium',
          cell,
          params,
        })
      ).body.cheapest.monthlyCost as number;
    const small = await price({ size: 'small' });
    const large = await price({ size: 'large', storageGi: 100 });
    const euSmall = await price({ size: 'small' }, 'cell-eu');
    const manifest = (name: string, params: string, cell = 'cell-us') => `
apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: ${name}, namespace: default }
spec:
  product: mysql
  owner: group:default/payments
  tier: medium
  cell: ${cell}
  params: ${params}
`;
    const res = await request(cp.server)
      .post('/api/control-plane/manifests/plan')
      .set('authorization', authAs(users.ana))
      .send({
        prune: true,
        yaml: [
          manifest('orders-db', '{ size: large, storageGi: 100 }'),
          manifest('eu-db', '{ size: small }', 'cell-eu'),
        ].join('---'),
      });
    expect(res.status).toBe(200);
    const costs = Object.fromEntries(
      res.body.changes.map((c: any) => [c.ref, [c.action, c.cost]]),
    );
    const cents = (v: number) => Math.round(v * 100) / 100;
    expect(costs).toEqual({
      'resource:default/orders-db': [
        'update',
        { before: small, after: large, delta: cents(large - small) },
      ],
      'resource:default/eu-db': [
        'create',
        { before: 0, after: euSmall, delta: euSmall },
      ],
      'resource:default/old-db': [
        'delete',
        { before: small, after: 0, delta: -small },
      ],
    });
    expect(res.body.cost).toEqual({
      currency: 'USD',
      before: cents(2 * small),
      after: cents(large + euSmall),
      delta: cents(large + euSmall - 2 * small),
    });
  });

  it('charges back the hours a resource was READY and DEGRADED', async () => {
    cp = await orchestrated(databases, databaseId);
    const api = call(cp);
    await api.post('/resources', mysql('orders-db'));
    await ready(api, 'orders-db');
    expect(
      (
        await api.post('/simulator/health', {
          ref: 'resource:default/orders-db',
          phase: 'degraded',
          message: 'replica lag',
        })
      ).status,
    ).toBe(200);
    await until(async () => {
      await api.post('/reconciler/run', { drift: true });
      return (
        (await api.get('/resources/default/orders-db')).body.status?.state ===
        'DEGRADED'
      );
    }, 'DEGRADED');
    const history = (await api.get('/resources/default/orders-db/history')).body
      .transitions as { to: string }[];
    expect(history.map(t => t.to)).toEqual([
      'PENDING',
      'PROVISIONING',
      'READY',
      'DEGRADED',
    ]);
    // Provisioning 12 days ago, READY 10 days ago, DEGRADED 6 days ago (and since).
    const day = 24 * 3600 * 1000;
    const ago = (days: number) => new Date(Date.now() - days * day);
    const rows = await cp
      .knex('resource_transitions')
      .orderBy('id')
      .select('id', 'to_state');
    const at: Record<string, Date> = {
      PENDING: ago(12),
      PROVISIONING: ago(12),
      READY: ago(10),
      DEGRADED: ago(6),
    };
    for (const row of rows) {
      await cp
        .knex('resource_transitions')
        .where({ id: row.id })
        .update({ created_at: at[row.to_state] });
    }
    const cost = (await api.get('/resources/default/orders-db/cost')).body;
    const report = (
      await api.get(
        `/cost/chargeback?groupBy=team&from=${ago(30).toISOString()}`,
      )
    ).body;
    expect(report.rows).toEqual([
      {
        key: 'group:default/payments',
        cost: expect.any(Number),
        hours: expect.any(Number),
        resources: 1,
      },
    ]);
    // 4 days READY and 6 DEGRADED: both accrue.
    expect(report.rows[0].hours).toBeCloseTo(240, 0);
    expect(report.rows[0].cost).toBeCloseTo(
      (cost.monthlyEstimate * 240) / 730,
      0,
    );
    // A window inside the DEGRADED time: 2 days of it.
    const inside = (
      await api.get(
        `/cost/chargeback?groupBy=team&from=${ago(5).toISOString()}&to=${ago(
          3,
        ).toISOString()}`,
      )
    ).body;
    expect(inside.rows[0].hours).toBeCloseTo(48, 1);
  });
});
