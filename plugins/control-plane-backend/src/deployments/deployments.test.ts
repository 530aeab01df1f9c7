import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule, {
  controlPlaneModuleSimulatorWorkloads,
} from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  callAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(180_000);

type ControlPlaneTest = Awaited<ReturnType<typeof startControlPlane>>;

/** A simulated webapp serving 200 requests/s in ticks of 100 ms. */
async function start(databaseId: Parameters<TestDatabases['init']>[0]) {
  return startControlPlane(databases, databaseId, {
    orchestration: true,
    features: [simulatorModule, controlPlaneModuleSimulatorWorkloads],
    controlPlane: {
      simulator: {
        provisioningTime: { milliseconds: 30 },
        deprovisioningTime: { milliseconds: 10 },
        latency: { default: 0 },
        traffic: {
          interval: { milliseconds: 100 },
          requestsPerSecond: 200,
        },
      },
      deployments: { pollInterval: { milliseconds: 100 } },
    },
  });
}

/** Analyses of one 5-second measurement each, so a canary takes about 15 s. */
const rollout = {
  strategy: 'canary',
  analysis: { interval: '5s', count: 1 },
};

async function deployments(cp: ControlPlaneTest, name: string) {
  const res = await callAs(cp.server, users.ana).get(
    `/resources/default/${name}/deployments`,
  );
  expect(res.status).toBe(200);
  return res.body.items as any[];
}

const untilDeployment = (
  cp: ControlPlaneTest,
  name: string,
  toVersion: string,
  phases: string[],
) =>
  until(
    async () => {
      const d = (await deployments(cp, name)).find(
        x => x.toVersion === toVersion,
      );
      return d && phases.includes(d.phase) ? d : undefined;
    },
    `${name} → ${toVersion} ${phases.join('|')}`,
    120_000,
  );

async function createReady(cp: ControlPlaneTest, name: string, extra = {}) {
  const api = callAs(cp.server, users.ana);
  const created = await api.post('/resources', {
    name,
    product: 'webapp',
    owner: 'group:default/payments',
    tier: 'critical',
    cell: 'cell-us',
    params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
    rollout,
    ...extra,
  });
  expect(created.status).toBe(201);
  await until(
    async () =>
      (await api.get(`/resources/default/${name}`)).body.status?.state ===
      'READY',
    `${name} READY`,
  );
}

describe.each(databases.eachSupportedId())('deployments (%s)', databaseId => {
  it('rolls a good canary 5 → 25 → 50 → 100 with an analysis passing at each step, and rolls a bad one back at 5 %', async () => {
    const cp = await start(databaseId);
    try {
      const api = callAs(cp.server, users.ana);
      await createReady(cp, 'shop');
      expect(
        (await api.get('/resources/default/shop')).body.status.version,
      ).toBe('1.0.0');

      // A good version: every analysis passes, and it becomes the stable one.
      const patched = await api.patch('/resources/default/shop', {
        params: { version: '1.1.0' },
      });
      expect(patched.status).toBe(200);
      const good = await untilDeployment(cp, 'shop', '1.1.0', [
        'Succeeded',
        'RolledBack',
        'Failed',
      ]);
      expect(good).toMatchObject({
        phase: 'Succeeded',
        strategy: 'canary',
        fromVersion: '1.0.0',
        toVersion: '1.1.0',
        // who asked for the version: the author of its change
        actor: users.ana,
      });
      expect(
        good.steps
          .filter((s: any) => s.kind === 'setWeight')
          .map((s: any) => [s.weight, s.state]),
      ).toEqual([
        [5, 'succeeded'],
        [25, 'succeeded'],
        [50, 'succeeded'],
      ]);
      const full = (await api.get(`/deployments/${good.id}`)).body;
      expect(full.measurements.map((m: any) => m.verdict)).toEqual([
        'pass',
        'pass',
        'pass',
      ]);
      // the built-in health check: the resource as its driver observes it
      expect(full.measurements[0].metrics[0]).toMatchObject({
        metric: 'health',
        verdict: 'pass',
      });
      // the plots' data: canary and baseline samples of each metric
      const errorRate = full.measurements[0].metrics.find(
        (m: any) => m.metric === 'error-rate',
      );
      expect(errorRate.canary.length).toBeGreaterThanOrEqual(5);
      expect(errorRate.baseline.length).toBeGreaterThanOrEqual(5);
      expect(errorRate.pValue).toBeGreaterThan(0);
      const shop = (await api.get('/resources/default/shop')).body;
      expect(shop.status).toMatchObject({ state: 'READY', version: '1.1.0' });

      // A bad version: half its requests fail. The first analysis, at 5 %, rolls it back.
      const fault = await api.post('/simulator/faults', {
        kind: 'misbehaving-version',
        ref: 'resource:default/shop',
        version: '1.2.0',
        errorRate: 0.5,
      });
      expect(fault.status).toBe(201);
      await api.patch('/resources/default/shop', {
        params: { version: '1.2.0' },
      });
      const bad = await untilDeployment(cp, 'shop', '1.2.0', [
        'Succeeded',
        'RolledBack',
        'Failed',
      ]);
      expect(bad.phase).toBe('RolledBack');
      if (bad.steps[3].state !== 'pending') {
        // what let it past 5 %, for the failure message
        console.log(
          JSON.stringify(
            (await api.get(`/deployments/${bad.id}`)).body.measurements,
          ),
        );
      }
      // it never went past 5 %
      expect(
        bad.steps.map((s: any) => `${s.kind}${s.weight ?? ''}:${s.state}`),
      ).toEqual([
        'start:succeeded',
        'setWeight5:succeeded',
        'analysis:failed',
        'setWeight25:pending',
        'analysis:pending',
        'setWeight50:pending',
        'analysis:pending',
        'promote100:pending',
      ]);
      expect(bad.weights.canary).toBe(0);
      const failed = (await api.get(`/deployments/${bad.id}`)).body;
      expect(failed.measurements[0].verdict).toBe('fail');
      expect(
        failed.measurements[0].metrics.find(
          (m: any) => m.metric === 'error-rate',
        ).reasons,
      ).toEqual(
        expect.arrayContaining([expect.stringMatching(/above the threshold/)]),
      );
      expect(failed.message).toMatch(/analysis failed/);

      // the stable version runs and takes every request; the resource went DEGRADED → READY
      // (the resource's READY follows the rollback's last step within moments)
      const after = await until(async () => {
        const r = (await api.get('/resources/default/shop')).body;
        return r.status.state === 'READY' ? r : undefined;
      }, 'shop READY after the rollback');
      expect(after.status).toMatchObject({ state: 'READY', version: '1.1.0' });
      const history = (await api.get('/resources/default/shop/history')).body;
      const moves = history.transitions.map((t: any) => `${t.from}>${t.to}`);
      expect(moves).toEqual(
        expect.arrayContaining(['READY>DEGRADED', 'DEGRADED>READY']),
      );
      const served = await Promise.all(
        Array.from({ length: 20 }, () =>
          api.get('/simulator/workloads/default/shop'),
        ),
      );
      expect(new Set(served.map(r => r.body.version))).toEqual(
        new Set(['1.1.0']),
      );

      // Which version runs where.
      const versions = await api.get('/versions?product=webapp');
      expect(versions.status).toBe(200);
      expect(versions.body.items).toEqual([
        expect.objectContaining({
          resourceRef: 'resource:default/shop',
          cell: 'cell-us',
          version: '1.1.0',
        }),
      ]);
      // the rolled-back generation is not tried again by the reconciler
      expect(
        (await deployments(cp, 'shop')).filter(d => d.toVersion === '1.2.0'),
      ).toHaveLength(1);
    } finally {
      await cp.cleanup();
    }
  });

  it('pauses until promoted, waits for an approval from the named group, and aborts back to stable on demand', async () => {
    const cp = await start(databaseId);
    try {
      const ana = callAs(cp.server, users.ana);
      const bruno = callAs(cp.server, users.bruno);
      await createReady(cp, 'cart', {
        rollout: {
          strategy: 'canary',
          steps: [
            { setWeight: 10 },
            { pause: {} },
            { approval: { group: 'group:default/platform' } },
            { setWeight: 50 },
            { pause: {} },
            { promote: {} },
          ],
        },
      });
      await ana.patch('/resources/default/cart', {
        params: { version: '2.0.0' },
      });
      const paused = await untilDeployment(cp, 'cart', '2.0.0', ['Paused']);
      expect(paused.currentStep).toBe(2);
      expect(paused.weights.canary).toBe(10);
      expect(paused.message).toMatch(/promote to continue/);

      const promoted = await ana.post(`/deployments/${paused.id}/promote`, {});
      expect(promoted.status).toBe(202);
      const awaiting = await until(async () => {
        const d = (await deployments(cp, 'cart'))[0];
        return d.currentStep === 3 && d.phase === 'Paused' ? d : undefined;
      }, 'awaiting approval');
      expect(awaiting.message).toMatch(
        /awaiting approval by group:default\/platform/,
      );

      // bruno owns the resource but is not in group platform: refused, nothing changes
      const refused = await bruno.post(`/deployments/${paused.id}/approve`, {});
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(/group:default\/platform/);
      // a deployment id nobody has is a 404; a malformed one a 400
      expect(
        (
          await ana.post(
            '/deployments/00000000-0000-4000-8000-000000000000/promote',
            {},
          )
        ).status,
      ).toBe(404);
      expect((await ana.post('/deployments/nope/promote', {})).status).toBe(
        400,
      );

      // abort: back to stable, Aborted, audited
      const aborted = await ana.post(`/deployments/${paused.id}/abort`, {
        reason: 'not today',
      });
      expect(aborted.status).toBe(202);
      const ended = await untilDeployment(cp, 'cart', '2.0.0', [
        'Aborted',
        'RolledBack',
        'Failed',
        'Succeeded',
      ]);
      expect(ended.phase).toBe('Aborted');
      expect(ended.weights.canary).toBe(0);
      expect(ended.message).toMatch(/aborted by user:default\/ana/);
      const cart = (await ana.get('/resources/default/cart')).body;
      expect(cart.status).toMatchObject({ state: 'READY', version: '1.0.0' });
      const audit = await ana.get('/audit?action=deployment.abort');
      expect(audit.body.items).toEqual([
        expect.objectContaining({
          actor: users.ana,
          action: 'deployment.abort',
          target: 'resource:default/cart',
        }),
      ]);
      // an ended deployment takes no more actions
      expect(
        (await ana.post(`/deployments/${paused.id}/promote`, {})).status,
      ).toBe(409);
    } finally {
      await cp.cleanup();
    }
  });
});

describe.each(databases.eachSupportedId())(
  'rollouts refused (%s)',
  databaseId => {
    it('refuses a rollout naming a cell that does not exist, or steps a strategy does not take, naming the field and writing nothing', async () => {
      const cp = await start(databaseId);
      try {
        const api = callAs(cp.server, users.ana);
        const ask = (asked: object) =>
          api.post('/resources', {
            name: 'nowhere',
            product: 'webapp',
            owner: 'group:default/payments',
            tier: 'critical',
            cell: 'cell-us',
            params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
            rollout: asked,
          });
        const mars = await ask({
          strategy: 'canary',
          waves: [{ cells: ['cell-us'] }, { cells: ['cell-mars'] }],
        });
        expect(mars.status).toBe(400);
        expect(mars.body.error.message).toMatch(
          /rollout\.waves\.1\.cells\.0: no cell cell-mars/,
        );
        const steps = await ask({
          strategy: 'rolling',
          steps: [{ setWeight: 10 }],
        });
        expect(steps.status).toBe(400);
        expect(steps.body.error.message).toMatch(/rollout\.steps/);
        expect((await api.get('/resources/default/nowhere')).status).toBe(404);
      } finally {
        await cp.cleanup();
      }
    });
  },
);

describe.each(databases.eachSupportedId())(
  'deployment strategies (%s)',
  databaseId => {
    it('rolls in batches, and rolls back to an earlier succeeded version on demand', async () => {
      const cp = await start(databaseId);
      try {
        const api = callAs(cp.server, users.ana);
        await createReady(cp, 'api', {
          params: {
            image: 'ghcr.io/acme/api',
            version: '1.0.0',
            replicas: 4,
          },
          rollout: { strategy: 'rolling', maxSurge: 25 },
        });
        await api.patch('/resources/default/api', {
          params: { version: '2.0.0' },
        });
        const rolled = await untilDeployment(cp, 'api', '2.0.0', [
          'Succeeded',
          'Failed',
        ]);
        expect(rolled.phase).toBe('Succeeded');
        expect(
          rolled.steps
            .filter((s: any) => s.kind === 'batch')
            .map((s: any) => s.weight),
        ).toEqual([25, 50, 75, 100]);

        // nothing earlier than 1.0.0 ran: a rollback to 0.9.0 is refused, naming the field
        const refused = await api.post('/resources/default/api/rollback', {
          toVersion: '0.9.0',
        });
        expect(refused.status).toBe(409);
        expect(refused.body.error.message).toMatch(/toVersion: 0\.9\.0/);
        const back = await api.post('/resources/default/api/rollback', {});
        expect(back.status).toBe(200);
        expect(back.body.spec.params.version).toBe('1.0.0');
        const undone = await untilDeployment(cp, 'api', '1.0.0', [
          'Succeeded',
          'Failed',
        ]);
        expect(undone.phase).toBe('Succeeded');
        expect(
          (await api.get('/resources/default/api')).body.status.version,
        ).toBe('1.0.0');
      } finally {
        await cp.cleanup();
      }
    });

    it('brings up blue/green beside the old version, sends header-matched requests to the preview, switches, and rolls back instantly', async () => {
      const cp = await start(databaseId);
      try {
        const api = callAs(cp.server, users.ana);
        await createReady(cp, 'web', {
          rollout: {
            strategy: 'blue_green',
            analysis: { interval: '5s', count: 1 },
            scaleDownDelay: '60s',
          },
        });
        await api.patch('/resources/default/web', {
          params: { version: '2.0.0' },
        });
        // the preview: a request with x-canary reaches the new version, others the old
        await until(async () => {
          const d = (await deployments(cp, 'web'))[0];
          return d?.steps[d.currentStep]?.kind === 'analysis';
        }, 'preview analysis');
        const serve = (headers: Record<string, string> = {}) =>
          callAs(cp.server, users.ana)
            .get('/simulator/workloads/default/web')
            .set(headers);
        expect((await serve({ 'x-canary': 'true' })).body.version).toBe(
          '2.0.0',
        );
        expect((await serve()).body.version).toBe('1.0.0');

        // after the analysis, every request goes to the new version at once
        const switched = await until(
          async () => {
            const d = (await deployments(cp, 'web'))[0];
            return d.steps[d.currentStep]?.kind === 'scaleDown' ? d : undefined;
          },
          'switched',
          60_000,
        );
        expect(switched.weights.canary).toBe(100);
        expect((await serve()).body.version).toBe('2.0.0');

        // the old version is still up: an abort puts the traffic back at once
        await api.post(`/deployments/${switched.id}/abort`, {});
        const ended = await untilDeployment(cp, 'web', '2.0.0', [
          'Aborted',
          'Failed',
        ]);
        expect(ended.phase).toBe('Aborted');
        expect((await serve()).body.version).toBe('1.0.0');
        expect((await serve({ 'x-canary': 'true' })).body.version).toBe(
          '1.0.0',
        );
      } finally {
        await cp.cleanup();
      }
    });

    it('migrates to another provider gradually, with analyses, and undoes a migration whose target misbehaves', async () => {
      const cp = await start(databaseId);
      try {
        const api = callAs(cp.server, users.ana);
        await createReady(cp, 'mover', {
          tier: 'medium',
          rollout: undefined,
          placement: { provider: 'aws' },
        });
        const source = (await api.get('/resources/default/mover')).body.status
          .placement;
        expect(source.provider).toBe('aws');
        const sourceLabel = `aws/${source.cluster}`;

        // a target that misbehaves: its share of the requests fails half the time
        await api.post('/simulator/faults', {
          kind: 'misbehaving-version',
          ref: 'resource:default/mover',
          version: 'gcp/*',
          errorRate: 0.5,
        });
        const bad = await api.post('/resources/default/mover/operations', {
          type: 'migrate',
          params: {
            provider: 'gcp',
            weights: [20],
            analysis: { interval: '5s', count: 1 },
          },
        });
        expect(bad.status).toBe(202);
        const undone = await untilDeployment(cp, 'mover', 'gcp/*', [
          'RolledBack',
          'Succeeded',
          'Failed',
        ]);
        expect(undone).toMatchObject({
          phase: 'RolledBack',
          fromVersion: sourceLabel,
          weights: { canary: 0 },
        });
        const op = (await api.get(`/operations/${bad.body.id}`)).body;
        expect(op.state).toBe('compensated');
        // nothing was switched: the name and the resource stay on the source, READY
        const stayed = await until(async () => {
          const r = (await api.get('/resources/default/mover')).body;
          return r.status.state === 'READY' ? r : undefined;
        }, 'mover READY on its source');
        expect(stayed.status.placement).toMatchObject({
          provider: 'aws',
          cluster: source.cluster,
        });

        // a target that behaves: 20 %, analysed; 100 %, analysed; then the source goes
        expect((await api.delete('/simulator/faults')).status).toBeLessThan(
          300,
        );
        const good = await api.post('/resources/default/mover/operations', {
          type: 'migrate',
          params: {
            provider: 'gcp',
            weights: [20],
            analysis: { interval: '5s', count: 1 },
          },
        });
        expect(good.status).toBe(202);
        const moved = await until(
          async () => {
            const [d] = await deployments(cp, 'mover');
            return d.operationId === good.body.id &&
              !['Progressing', 'Paused'].includes(d.phase)
              ? d
              : undefined;
          },
          'the second migration',
          120_000,
        );
        expect(moved.phase).toBe('Succeeded');
        expect(
          moved.steps.map((x: any) => `${x.kind}${x.weight ?? ''}:${x.state}`),
        ).toEqual([
          'start:succeeded',
          'setWeight20:succeeded',
          'analysis:succeeded',
          'setWeight100:succeeded',
          'analysis:succeeded',
          'promote100:succeeded',
        ]);
        const migrated = (await api.get(`/operations/${good.body.id}`)).body;
        expect(migrated.steps.map((x: any) => x.name)).toEqual(
          expect.arrayContaining([
            'provision_target',
            '1:setWeight-20',
            'switch_traffic',
            'decommission_source',
          ]),
        );
        const after = (await api.get('/resources/default/mover')).body;
        expect(after.status.placement.provider).toBe('gcp');
        expect(after.status.state).toBe('READY');
      } finally {
        await cp.cleanup();
      }
    });

    it('deploys across cells in waves, halting on a failing first wave with the next cells untouched', async () => {
      const cp = await start(databaseId);
      try {
        const api = callAs(cp.server, users.ana);
        await createReady(cp, 'global', {
          rollout: {
            strategy: 'canary',
            steps: [{ setWeight: 20 }, { analysis: {} }, { promote: {} }],
            analysis: { interval: '5s', count: 1 },
            waves: [
              { cells: ['cell-us'], errorBudget: 0.02 },
              { cells: ['cell-eu'] },
            ],
          },
        });
        await api.post('/simulator/faults', {
          kind: 'misbehaving-version',
          ref: 'resource:default/global',
          version: '2.0.0',
          errorRate: 0.4,
        });
        await api.patch('/resources/default/global', {
          params: { version: '2.0.0' },
        });
        const halted = await untilDeployment(cp, 'global', '2.0.0', [
          'RolledBack',
          'Succeeded',
          'Failed',
        ]);
        expect(halted.phase).toBe('RolledBack');
        expect(
          halted.steps.map(
            (s: any) => `${s.wave}:${s.kind}${s.weight ?? ''}:${s.state}`,
          ),
        ).toEqual([
          'undefined:start:succeeded',
          '0:setWeight20:succeeded',
          '0:analysis:failed',
          '0:setWeight100:pending',
          '1:setWeight20:pending',
          '1:analysis:pending',
          '1:setWeight100:pending',
          'undefined:promote100:pending',
        ]);
        expect(halted.weights).toMatchObject({
          canary: 0,
        });
        const full = (await api.get(`/deployments/${halted.id}`)).body;
        expect(full.measurements).toEqual([
          expect.objectContaining({ cell: 'cell-us', verdict: 'fail' }),
        ]);
        expect(
          (await api.get('/resources/default/global')).body.status.version,
        ).toBe('1.0.0');
      } finally {
        await cp.cleanup();
      }
    });
  },
);
