import { TestDatabases } from '@backstage/backend-test-utils';
import {
  defaultTiers,
  MANIFEST_API_VERSION,
} from '@idp-multicloud/plugin-control-plane-common';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, until } from '../__testUtils__/backend';
import { serializeManifest } from '../gitops/manifestCodec';
import {
  call,
  ControlPlaneTest,
  fleet,
  git,
  inOtherCells,
  mysql,
  orchestrated,
  quota,
  ready,
  rejectionsOf,
  simulator,
} from './__testUtils__/controlPlane';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

describe.each(databases.eachSupportedId())('placement on %s', databaseId => {
  let cp: ControlPlaneTest | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  it("explains placements, counts them in their cluster's usage, prices what runs, and charges back accrued cost", async () => {
    cp = await orchestrated(databases, databaseId);
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

  it('takes a tier edited by a hand git push into the next decision, without a restart', async () => {
    cp = await orchestrated(databases, databaseId);
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
    cp = await orchestrated(databases, databaseId);
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
});
