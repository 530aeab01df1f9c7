import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

type ControlPlaneTest = Awaited<ReturnType<typeof startControlPlane>>;

const simulator = {
  provisioningTime: { milliseconds: 30 },
  deprovisioningTime: { milliseconds: 10 },
  latency: { default: 0 },
};

const call = (cp: ControlPlaneTest, user = users.ana) => {
  const as = authAs(user);
  const base = '/api/control-plane';
  return {
    get: (path: string) =>
      request(cp.server).get(`${base}${path}`).set('authorization', as),
    post: (path: string, body?: object) =>
      request(cp.server)
        .post(`${base}${path}`)
        .set('authorization', as)
        .send(body),
    apply: (yaml: string) =>
      request(cp.server)
        .post(`${base}/manifests/apply`)
        .set('authorization', as)
        .send({ yaml }),
  };
};

const mysql = (name: string, extra: object = {}) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
  ...extra,
});

async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

const quota = (name: string, scope: string, limits: string) => `
apiVersion: idp.multicloud/v1
kind: Quota
metadata: { name: ${name} }
spec:
  scope: ${scope}
  limits: ${limits}
`;

describe.each(databases.eachSupportedId())('governance on %s', databaseId => {
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
    expect((await api.post('/resources', mysql('orders-db'))).status).toBe(201);
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
        usage: { instances: 1, storageGi: 40, monthlyCost: expect.any(Number) },
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
    expect((await api.post('/resources', mysql('ledger-db'))).status).toBe(201);
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

  it("explains placements, counts them in their cluster's usage, prices what runs, and charges back accrued cost", async () => {
    cp = await startControlPlane(databases, databaseId, {
      orchestration: true,
      features: [simulatorModule],
      controlPlane: { simulator },
    });
    const api = call(cp);
    expect(
      (await api.get('/resources/default/orders-db/placement')).status,
    ).toBe(404);
    await api.post('/resources', mysql('orders-db'));
    await until(
      async () =>
        (await api.get('/resources/default/orders-db')).body.status?.state ===
        'READY',
      'orders-db READY',
    );
    const placement = (await api.get('/resources/default/orders-db/placement'))
      .body;
    expect(placement.selected.cell).toBe('cell-us');
    expect(placement.candidates.length).toBeGreaterThan(1);
    const rejected = placement.candidates.filter(
      (c: any) => c.rejected.length > 0,
    );
    expect(rejected.every((c: any) => c.rejected[0].reason)).toBe(true);
    expect(
      placement.candidates.find(
        (c: any) => c.cluster === placement.selected.cluster,
      ).total,
    ).toBeGreaterThan(0);

    // The fleet counts it on its cluster, and nothing anywhere else.
    const clusters = (await api.get('/clusters')).body.items as any[];
    const used = clusters.find(c => c.id === placement.selected.cluster);
    expect(used.usage).toEqual({
      resources: 1,
      cpu: expect.any(Number),
      memoryGi: expect.any(Number),
      storageGi: expect.any(Number),
      utilization: expect.any(Number),
    });
    expect(used.usage.cpu).toBeGreaterThan(0);
    expect(used.usage.utilization).toBeCloseTo(
      Math.max(
        used.usage.cpu / used.capacity.cpu,
        used.usage.memoryGi / used.capacity.memoryGi,
        used.usage.storageGi / used.capacity.storageGi,
      ),
      3,
    );
    expect(
      clusters.filter(c => c !== used).map(c => c.usage.resources),
    ).toEqual(Array(clusters.length - 1).fill(0));

    const cost = (await api.get('/resources/default/orders-db/cost')).body;
    expect(cost.provider).toBe(placement.selected.provider);
    expect(cost.monthlyEstimate).toBeGreaterThan(0);

    // Ten days READY: move its transitions back in time.
    const tenDaysAgo = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    await cp.knex('resource_transitions').update({ created_at: tenDaysAgo });
    const from = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString();
    const report = (
      await api.get(`/cost/chargeback?groupBy=provider&from=${from}`)
    ).body;
    expect(report.rows).toEqual([
      {
        key: placement.selected.provider,
        cost: expect.any(Number),
        hours: expect.any(Number),
        resources: 1,
      },
    ]);
    expect(report.rows[0].hours).toBeCloseTo(240, 0);
    expect(report.rows[0].cost).toBeCloseTo(
      (cost.monthlyEstimate * 240) / 730,
      0,
    );
    const bad = await api.get('/cost/chargeback?groupBy=colour');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('groupBy');
  });

  it('admits placements against quotas race-free: of four provisioning at once, two fit', async () => {
    const knex = await databases.init(databaseId);
    // Four resources accepted while nothing provisions, then a quota of two.
    cp = await startControlPlane(databases, databaseId, { knex });
    const api = call(cp);
    for (const name of ['a', 'b', 'c', 'd']) {
      await api.post('/resources', mysql(name, { namespace: 'batch' }));
    }
    await api.apply(
      quota('batch', '{ kind: namespace, name: batch }', '{ maxInstances: 2 }'),
    );
    await cp.stop();
    cp = await startControlPlane(databases, databaseId, {
      knex,
      dataDir: cp.dataDir,
      orchestration: true,
      features: [simulatorModule],
      controlPlane: { simulator },
    });
    const api2 = call(cp);
    const states = await until(async () => {
      const items = (await api2.get('/resources?namespace=batch')).body
        .items as any[];
      const settled = items.filter(r =>
        ['READY', 'FAILED'].includes(r.status.state),
      );
      return settled.length === 4 && items;
    }, 'the batch to settle');
    const ready = states.filter(r => r.status.state === 'READY');
    const failed = states.filter(r => r.status.state === 'FAILED');
    expect(ready).toHaveLength(2);
    expect(failed).toHaveLength(2);
    for (const f of failed) {
      expect(f.status.reason ?? f.status.stateReason ?? '').toContain(
        'quota batch',
      );
    }
  });
});
