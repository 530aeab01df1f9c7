import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { defaultWeights } from './pipeline';
import { assignArm } from './ExperimentStore';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

describe('assignArm', () => {
  const uids = Array.from(
    { length: 4000 },
    (_, i) =>
      // uuid-like, but reproducible
      `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  );
  const share = (arms: { name: string; percent: number }[], name: string) =>
    uids.filter(uid => assignArm('exp', arms, uid) === name).length /
    uids.length;

  it.each([
    [[{ name: 'cost', percent: 10 }], 'cost', 0.1],
    [[{ name: 'cost', percent: 10 }], 'control', 0.9],
    [
      [
        { name: 'a', percent: 25 },
        { name: 'b', percent: 25 },
      ],
      'b',
      0.25,
    ],
    [[{ name: 'all', percent: 100 }], 'all', 1],
  ])('arms %j give %s about %d of the placements', (arms, name, expected) => {
    expect(share(arms, name)).toBeCloseTo(expected, 1);
  });

  it('gives a resource the same arm every time, and splits two experiments independently', () => {
    const arms = [{ name: 'half', percent: 50 }];
    for (const uid of uids.slice(0, 50)) {
      expect(assignArm('exp', arms, uid)).toBe(assignArm('exp', arms, uid));
    }
    const both = uids.filter(
      uid =>
        assignArm('one', arms, uid) === 'half' &&
        assignArm('two', arms, uid) === 'half',
    ).length;
    expect(both / uids.length).toBeCloseTo(0.25, 1);
  });
});

describe.each(databases.eachSupportedId())('experiments on %s', databaseId => {
  let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  afterEach(async () => {
    await cp?.cleanup();
    cp = undefined;
  });

  const api = (user = users.ana) => callAs(cp!.server, user);

  const costOnly = {
    health: 0,
    cost: 1,
    utilization: 0,
    latency: 0,
    spread: 0,
  };
  const experiment = {
    name: 'cost-first',
    description: 'Half of tier high placements scored on cost alone',
    arms: [{ name: 'cost-weighted', percent: 50, weights: costOnly }],
    scope: { tiers: ['high'] },
  };

  it('are managed by platform engineers, refuse bad arms naming the field, and are audited', async () => {
    cp = await startControlPlane(databases, databaseId);
    const a = api();
    expect(
      (await api(users.bruno).post('/experiments', experiment)).status,
    ).toBe(403);
    expect((await api(users.bruno).get('/experiments')).status).toBe(403);
    for (const [arms, field] of [
      [
        [
          { name: 'x', percent: 60, weights: costOnly },
          { name: 'y', percent: 60, weights: costOnly },
        ],
        'the percents of the arms add up to more than 100',
      ],
      [[{ name: 'control', percent: 10, weights: costOnly }], 'arms.0.name'],
      [[{ name: 'x', percent: 10, weights: {} }], 'set at least one weight'],
      [[{ name: 'x', percent: 10, weights: { colour: 1 } }], 'arms.0.weights'],
      [[{ name: 'x', percent: 0, weights: costOnly }], 'arms.0.percent'],
    ] as const) {
      const bad = await a.post('/experiments', { ...experiment, arms });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain(field);
    }
    const created = await a.post('/experiments', experiment);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      ...experiment,
      status: 'running',
      createdBy: users.ana,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      outcomes: ['control', 'cost-weighted'].map(arm => ({
        arm,
        placements: 0,
        unschedulable: 0,
        ready: 0,
        failed: 0,
        monthlyCost: { total: 0, mean: 0 },
      })),
    });
    expect((await a.post('/experiments', experiment)).status).toBe(409);
    expect((await a.get('/experiments')).body.items).toEqual([created.body]);
    const stopped = await a.post('/experiments/cost-first/stop');
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe('stopped');
    expect((await a.post('/experiments/cost-first/stop')).status).toBe(409);
    expect((await a.get('/experiments/nothing')).status).toBe(404);
    const audit = (await a.get('/audit?target=experiment:cost-first')).body
      .items;
    expect(audit.map((e: any) => [e.action, e.outcome])).toEqual([
      ['experiment.stop', 'rejected'],
      ['experiment.stop', 'accepted'],
      ['experiment.create', 'rejected'],
      ['experiment.create', 'accepted'],
      // the five bad requests, and the developer's
      ...Array(6).fill(['experiment.create', 'rejected']),
    ]);
  });

  it('split placements between arms by resource, record the arm of each, and report outcomes per arm', async () => {
    cp = await startControlPlane(databases, databaseId, {
      orchestration: true,
      features: [simulatorModule],
      controlPlane: { simulator: fastSimulator },
    });
    const a = api();
    expect((await a.post('/experiments', experiment)).status).toBe(201);
    const db = (name: string, tier = 'high') => ({
      name,
      product: 'redis',
      owner: 'group:default/payments',
      tier,
      cell: 'cell-us',
      params: { size: 'small' },
    });
    const decisionOf = async (name: string) => {
      await until(
        async () =>
          (await a.get(`/resources/default/${name}`)).body.status?.state ===
          'READY',
        `${name} READY`,
      );
      return (await a.get(`/resources/default/${name}/placement`)).body;
    };
    const uidOf = async (name: string) =>
      (await cp!.knex('resources').where({ name }).first()).uid as string;

    // Placements until both arms have had some (each resource's arm is a coin toss).
    const seen = new Map<string, any[]>();
    for (let batch = 0; seen.size < 2 && batch < 10; batch++) {
      const names = Array.from({ length: 4 }, (_, i) => `cache-${batch}-${i}`);
      await Promise.all(names.map(n => a.post('/resources', db(n))));
      for (const name of names) {
        const decision = await decisionOf(name);
        const arm = assignArm('cost-first', experiment.arms, await uidOf(name));
        // The arm recorded is the resource's, and its weights scored the placement.
        expect(decision.experiment).toEqual({ id: 'cost-first', arm });
        expect(decision.weights).toEqual(
          arm === 'control' ? defaultWeights.high : costOnly,
        );
        seen.set(arm, [...(seen.get(arm) ?? []), decision]);
      }
    }
    expect([...seen.keys()].sort()).toEqual(['control', 'cost-weighted']);
    // The cost-weighted arm always took a cheapest qualified cluster.
    for (const decision of seen.get('cost-weighted')!) {
      const qualified = decision.candidates.filter(
        (c: any) => c.rejected.length === 0,
      );
      const chosen = qualified.find(
        (c: any) => c.cluster === decision.selected.cluster,
      );
      expect(chosen.monthlyCost).toBe(
        Math.min(...qualified.map((c: any) => c.monthlyCost)),
      );
    }

    // Outside its scope (tier medium), and where the flag turns experiments off: no arm.
    await a.post('/resources', db('medium-cache', 'medium'));
    expect((await decisionOf('medium-cache')).experiment).toBeUndefined();
    await a
      .put('/flags/placement.experiments', {
        value: false,
        scope: { cell: 'cell-us' },
      })
      .expect(200);
    await a.post('/resources', db('flagged-cache'));
    expect((await decisionOf('flagged-cache')).experiment).toBeUndefined();

    const outcomes = (await a.get('/experiments/cost-first')).body.outcomes;
    expect(outcomes).toEqual(
      ['control', 'cost-weighted'].map(arm => {
        const decisions = seen.get(arm)!;
        const total = decisions.reduce(
          (sum, d) =>
            sum +
            d.candidates.find((c: any) => c.cluster === d.selected.cluster)
              .monthlyCost,
          0,
        );
        return {
          arm,
          placements: decisions.length,
          unschedulable: 0,
          ready: decisions.length,
          failed: 0,
          timeToReadyMs: {
            mean: expect.any(Number),
            p50: expect.any(Number),
            max: expect.any(Number),
          },
          monthlyCost: {
            total: Math.round(total * 100) / 100,
            mean: Math.round((total / decisions.length) * 100) / 100,
          },
        };
      }),
    );
    for (const o of outcomes) {
      expect(o.timeToReadyMs.p50).toBeGreaterThan(0);
      expect(o.timeToReadyMs.max).toBeGreaterThanOrEqual(o.timeToReadyMs.p50);
    }

    // Stopped: later placements keep their tier's weights.
    await a
      .put('/flags/placement.experiments', {
        value: true,
        scope: { cell: 'cell-us' },
      })
      .expect(200);
    await a.post('/experiments/cost-first/stop').expect(200);
    await a.post('/resources', db('after-stop'));
    const last = await decisionOf('after-stop');
    expect(last.experiment).toBeUndefined();
    expect(last.weights).toEqual(defaultWeights.high);
  });
});
