import { TestDatabases } from '@backstage/backend-test-utils';
import {
  defaultTiers,
  MANIFEST_API_VERSION,
} from '@idp-multicloud/plugin-control-plane-common';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { serializeManifest } from '../gitops/manifestCodec';

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
    delete: (path: string) =>
      request(cp.server).delete(`${base}${path}`).set('authorization', as),
    apply: (yaml: string) =>
      request(cp.server)
        .post(`${base}/manifests/apply`)
        .set('authorization', as)
        .send({ yaml }),
    plan: (yaml: string) =>
      request(cp.server)
        .post(`${base}/manifests/plan`)
        .set('authorization', as)
        .send({ yaml }),
  };
};

/** The clusters of the bootstrapped fleet, by cell. */
const fleet = {
  'cell-us': [
    'aws-us-east-1',
    'azure-eastus',
    'gcp-us-central1',
    'oci-us-ashburn-1',
  ],
  'cell-eu': [
    'aws-eu-west-1',
    'azure-westeurope',
    'gcp-europe-west1',
    'oci-eu-frankfurt-1',
  ],
  'cell-ap': [
    'aws-ap-southeast-1',
    'azure-southeastasia',
    'gcp-asia-southeast1',
    'oci-ap-singapore-1',
  ],
};

/** The rejected candidates of a decision: [cluster, [filter, reason]...], by cluster. */
const rejectionsOf = (decision: any) =>
  decision.candidates
    .filter((c: any) => c.rejected.length > 0)
    .map((c: any) => [
      c.cluster,
      c.rejected.map((r: any) => [r.filter, r.reason]),
    ])
    .sort(([a]: string[], [b]: string[]) => a.localeCompare(b));

const inOtherCells = (cell: keyof typeof fleet) =>
  (Object.keys(fleet) as (keyof typeof fleet)[])
    .filter(c => c !== cell)
    .flatMap(c => fleet[c].map(name => [name, c] as const));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Carla Ops',
      GIT_AUTHOR_EMAIL: 'carla@example.com',
      GIT_COMMITTER_NAME: 'Carla Ops',
      GIT_COMMITTER_EMAIL: 'carla@example.com',
    },
  }).toString();

const mysql = (name: string, extra: object = {}) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
  ...extra,
});

/** A control plane that provisions on the simulator. */
const orchestrated = (databaseId: Parameters<TestDatabases['init']>[0]) =>
  startControlPlane(databases, databaseId, {
    orchestration: true,
    features: [simulatorModule],
    controlPlane: { simulator },
  });

/** Waits until the resource `default/<name>` is READY. */
const ready = (api: ReturnType<typeof call>, name: string) =>
  until(
    async () =>
      (await api.get(`/resources/default/${name}`)).body.status?.state ===
      'READY',
    `${name} READY`,
  );

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
    cp = await orchestrated(databaseId);
    const api = call(cp);
    expect(
      (await api.get('/resources/default/orders-db/placement')).status,
    ).toBe(404);
    await api.post('/resources', mysql('orders-db'));
    await ready(api, 'orders-db');
    const placement = (await api.get('/resources/default/orders-db/placement'))
      .body;
    expect(placement.outcome).toBe('placed');
    expect(placement.selected.cell).toBe('cell-us');
    // Every cluster of the fleet was a candidate; those of the other cells were rejected,
    // each by the cell filter, and the explanation names each with its reason.
    expect(placement.candidates.map((c: any) => c.cluster).sort()).toEqual(
      Object.values(fleet).flat().sort(),
    );
    const expected = inOtherCells('cell-us')
      .map(([name, cell]) => [name, [['cell', `in ${cell}, not cell-us`]]])
      .sort(([a], [b]) => String(a).localeCompare(String(b)));
    expect(rejectionsOf(placement)).toEqual(expected);
    for (const [name, [[, reason]]] of expected) {
      expect(placement.explanation).toContain(`${name}: ${reason}`);
    }
    // The four of cell-us qualified, each with its score breakdown and its cost.
    for (const name of fleet['cell-us']) {
      expect(placement.candidates.find((c: any) => c.cluster === name)).toEqual(
        {
          cluster: name,
          provider: name.split('-')[0],
          rejected: [],
          monthlyCost: expect.any(Number),
          scores: {
            health: expect.any(Number),
            cost: expect.any(Number),
            utilization: expect.any(Number),
            latency: expect.any(Number),
            spread: expect.any(Number),
          },
          total: expect.any(Number),
        },
      );
    }
    expect(placement.candidates[0].cluster).toBe(placement.selected.cluster);

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
    const placed = states.filter(r => r.status.state === 'READY');
    const failed = states.filter(r => r.status.state === 'FAILED');
    expect(placed).toHaveLength(2);
    expect(failed).toHaveLength(2);
    const refusal =
      'quota batch (namespace batch) allows maxInstances 2 instances; 2 in use, this request adds 1';
    for (const f of failed) {
      expect(f.status.reason).toContain(refusal);
      // The decision is stored: every cluster of the cell refused by the quota.
      const decision = (
        await api2.get(`/resources/batch/${f.metadata.name}/placement`)
      ).body;
      expect(decision.outcome).toBe('unschedulable');
      expect(decision.selected).toBeUndefined();
      expect(
        rejectionsOf(decision).filter(([name]: string[]) =>
          fleet['cell-us'].includes(name),
        ),
      ).toEqual(fleet['cell-us'].map(name => [name, [['quota', refusal]]]));
    }
    // ... and audited as a policy decision, with its reasons.
    const audit = (
      await api2.get('/audit?action=policy.decision&outcome=rejected')
    ).body.items;
    expect(
      audit
        .map((e: any) => [
          e.target,
          e.reason.replace(/\(operation [^)]*\)/, ''),
        ])
        .sort(),
    ).toEqual(
      failed
        .map(f => [
          `resource:batch/${f.metadata.name}`,
          `placement  by quota guard: ${refusal}`,
        ])
        .sort(),
    );
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
    expect((await api.post('/resources', mysql('orders-db'))).status).toBe(201);
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
    ).body.items.map((e: any) => [e.target, e.outcome, e.reason.split(':')[0]]);
    expect(decisions.slice(0, 3)).toEqual([
      ['resource:default/old-db', 'accepted', 'resource.delete by built-in'],
      [
        'resource:default/orders-db',
        'accepted',
        'resource.failover by built-in',
      ],
      ['resource:default/orders-db', 'rejected', 'resource.scale by built-in'],
    ]);
  });

  it('takes a tier edited by a hand git push into the next decision, without a restart', async () => {
    cp = await orchestrated(databaseId);
    const api = call(cp);
    const placed = async (name: string) => {
      await ready(api, name);
      return (await api.get(`/resources/default/${name}/placement`)).body;
    };
    await api.post('/resources', mysql('first'));
    const first = await placed('first');
    const other = fleet['cell-us'].find(c => c !== first.selected.cluster)!;
    const provider = other.split('-')[0];

    const work = mkdtempSync(join(tmpdir(), 'idp-tier-edit-'));
    try {
      git(work, 'clone', '--quiet', cp.repoPath, 'state');
      const dir = join(work, 'state');
      writeFileSync(
        join(dir, 'tiers/medium.yaml'),
        serializeManifest({
          apiVersion: MANIFEST_API_VERSION,
          kind: 'Tier',
          metadata: { name: 'medium', labels: {} },
          spec: {
            ...defaultTiers.medium,
            placement: {
              ...defaultTiers.medium.placement,
              allowedProviders: [provider],
            },
          },
        }),
      );
      git(dir, 'commit', '--quiet', '-am', `medium: only ${provider}`);
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }

    await api.post('/resources', mysql('second'));
    const second = await placed('second');
    expect(second.selected.provider).toBe(provider);
    expect(
      rejectionsOf(second).filter(([name]: string[]) =>
        fleet['cell-us'].includes(name),
      ),
    ).toEqual(
      fleet['cell-us']
        .filter(name => !name.startsWith(`${provider}-`))
        .map(name => [
          name,
          [
            [
              'tier-providers',
              `tier medium does not allow provider ${name.split('-')[0]}`,
            ],
          ],
        ]),
    );
  });

  it("scores with a tier's weights from app-config, and from the Tier in the state repository over them", async () => {
    cp = await startControlPlane(databases, databaseId, {
      orchestration: true,
      features: [simulatorModule],
      controlPlane: {
        simulator,
        scheduling: { weights: { medium: { cost: 0.9 } } },
      },
    });
    const api = call(cp);
    const weightsOf = async (name: string) => {
      await api.post('/resources', mysql(name));
      await ready(api, name);
      return (await api.get(`/resources/default/${name}/placement`)).body
        .weights;
    };
    const medium = {
      health: 0.2,
      cost: 0.3,
      utilization: 0.2,
      latency: 0.2,
      spread: 0.1,
    };
    expect(await weightsOf('first')).toEqual({ ...medium, cost: 0.9 });
    const tier = serializeManifest({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Tier',
      metadata: { name: 'medium', labels: {} },
      spec: {
        ...defaultTiers.medium,
        placement: { ...defaultTiers.medium.placement, weights: { health: 1 } },
      },
    });
    expect((await api.apply(tier)).status).toBe(200);
    expect(await weightsOf('second')).toEqual({
      ...medium,
      cost: 0.9,
      health: 1,
    });
  });

  it('stores an unschedulable decision with every candidate and why, and answers it for the placement', async () => {
    cp = await orchestrated(databaseId);
    const api = call(cp);
    // Tier critical needs several zones; the cluster it is pinned to has one.
    expect(
      (
        await api.post(
          '/resources',
          mysql('pinned-db', {
            tier: 'critical',
            placement: { cluster: 'oci-us-ashburn-1' },
          }),
        )
      ).status,
    ).toBe(201);
    const failed = await until(async () => {
      const r = (await api.get('/resources/default/pinned-db')).body;
      return r.status?.state === 'FAILED' && r;
    }, 'pinned-db FAILED');
    const decision = (await api.get('/resources/default/pinned-db/placement'))
      .body;
    expect(decision).toMatchObject({
      resourceRef: 'resource:default/pinned-db',
      outcome: 'unschedulable',
      operationId: expect.any(String),
    });
    expect(decision.selected).toBeUndefined();
    const pinned = ['pinned', 'pinned to cluster oci-us-ashburn-1'];
    const singleZone = [
      'tier-multi-az',
      'tier critical needs several zones; the cluster has 1',
    ];
    expect(rejectionsOf(decision)).toEqual(
      [
        // oci's clusters have one zone
        ...inOtherCells('cell-us').map(([name, cell]) => [
          name,
          [
            ['cell', `in ${cell}, not cell-us`],
            pinned,
            ...(name.startsWith('oci-') ? [singleZone] : []),
          ],
        ]),
        ...fleet['cell-us']
          .filter(name => name !== 'oci-us-ashburn-1')
          .map(name => [name, [pinned]]),
        ['oci-us-ashburn-1', [singleZone]],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    expect(failed.status.reason).toContain(decision.explanation);
    expect(decision.explanation).toContain(
      'oci-us-ashburn-1: tier critical needs several zones; the cluster has 1',
    );
  });

  it('charges back the hours a resource was READY and DEGRADED', async () => {
    cp = await orchestrated(databaseId);
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
