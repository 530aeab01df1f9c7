import { TestDatabases } from '@backstage/backend-test-utils';
import { controlPlaneModuleSimulator } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

const clusterSimulator = {
  ...fastSimulator,
  clusters: { createMs: 150, upgradeMs: 100, scaleMs: 80, deleteMs: 50 },
};

/**
 * The lifecycle of a cluster through the API, on the simulator: created in cell-eu, a pool
 * scaled, upgraded one minor (a skip refused before anything is written), drained with a
 * database and the webapp that depends on it placed there, and decommissioned.
 */
describe.each(databases.eachSupportedId())(
  'clusters as managed objects on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeEach(async () => {
      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        periodicTasks: false,
        controlPlane: { simulator: clusterSimulator },
        features: [controlPlaneModuleSimulator],
      });
    });
    afterEach(() => cp.cleanup());

    const ana = () => callAs(cp.server, users.ana);

    async function settled(name: string, id: string) {
      return until(async () => {
        const res = await ana().get(`/clusters/${name}/operations/${id}`);
        return ['succeeded', 'compensated', 'failed'].includes(res.body.state)
          ? res.body
          : undefined;
      }, `operation ${id} of ${name}`);
    }

    async function resourceReady(ref: string) {
      const [ns, name] = ref.replace('resource:', '').split('/');
      return until(async () => {
        const res = await ana().get(`/resources/${ns}/${name}`);
        return res.body.status?.state === 'READY' ? res.body : undefined;
      }, `${ref} READY`);
    }

    it('creates, scales, upgrades one minor at a time, drains and decommissions a cluster', async () => {
      const created = await ana()
        .post('/clusters')
        .send({
          name: 'eu-lab',
          cell: 'cell-eu',
          provider: 'gcp',
          region: 'europe-west1',
          zones: ['europe-west1-b', 'europe-west1-c'],
          version: '1.30',
          nodePools: [{ name: 'general', machineType: 'standard-8', count: 2 }],
          channel: 'stable',
          maintenanceWindow: {
            days: ['sat'],
            start: '02:00',
            durationMinutes: 240,
            timeZone: 'Europe/Paris',
          },
        });
      expect(created.status).toBe(202);
      expect(created.body.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(created.body.operation.steps.map((s: any) => s.name)).toEqual([
        'apply',
        'wait_ready',
      ]);
      const create = await settled('eu-lab', created.body.operation.id);
      expect(create.state).toBe('succeeded');
      let cluster = (await ana().get('/clusters/eu-lab')).body;
      expect(cluster.observed).toMatchObject({
        phase: 'Ready',
        controlPlaneVersion: '1.30',
        nodesReady: 2,
        nodesTotal: 2,
      });
      expect(cluster.health.score).toBeGreaterThan(0);
      expect(cluster.health.breakdown.map((b: any) => b.factor)).toContain(
        'version',
      );

      // scale the pool
      const scaled = await ana()
        .patch('/clusters/eu-lab')
        .send({ nodePools: [{ name: 'general', count: 3 }] });
      expect(scaled.status).toBe(202);
      expect(scaled.body.operation.type).toBe('scale');
      expect((await settled('eu-lab', scaled.body.operation.id)).state).toBe(
        'succeeded',
      );
      cluster = (await ana().get('/clusters/eu-lab')).body;
      expect(cluster.nodePools[0].count).toBe(3);
      expect(cluster.observed.nodesTotal).toBe(3);

      // a skip is refused before anything is written
      const skip = await ana()
        .patch('/clusters/eu-lab')
        .send({ version: '1.32' });
      expect(skip.status).toBe(400);
      expect(skip.body.error.message).toMatch(/version: one minor at a time/);
      expect((await ana().get('/clusters/eu-lab')).body.version).toBe('1.30');

      // 1.30 → 1.31: control plane first, then the pool
      const upgraded = await ana()
        .patch('/clusters/eu-lab')
        .send({ version: '1.31' });
      expect(upgraded.status).toBe(202);
      expect(upgraded.body.operation.steps.map((s: any) => s.name)).toEqual([
        'preflight',
        'upgrade_control_plane',
        'upgrade_pool:general',
        'verify',
      ]);
      // while it upgrades, another operation is refused
      const during = await ana().post('/clusters/eu-lab/drain').send({});
      expect(during.status).toBe(409);
      expect((await settled('eu-lab', upgraded.body.operation.id)).state).toBe(
        'succeeded',
      );
      cluster = (await ana().get('/clusters/eu-lab')).body;
      expect(cluster.observed.controlPlaneVersion).toBe('1.31');
      expect(cluster.observed.pools[0].version).toBe('1.31');
      expect(cluster.observed.phase).toBe('Ready');

      // a database and the webapp that depends on it, placed on the new cluster
      for (const body of [
        {
          name: 'lab-db',
          product: 'mysql',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-eu',
          params: { size: 'small' },
          placement: { cluster: 'eu-lab' },
        },
        {
          name: 'lab-web',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-eu',
          params: { image: 'ghcr.io/acme/lab', version: '1.0.0' },
          dependsOn: ['resource:default/lab-db'],
          placement: { cluster: 'eu-lab' },
        },
      ]) {
        const res = await ana().post('/resources').send(body);
        expect([res.status, res.body]).toEqual([201, expect.anything()]);
      }
      for (const ref of [
        'resource:default/lab-db',
        'resource:default/lab-web',
      ]) {
        const r = await resourceReady(ref);
        expect(r.status.placement.cluster).toBe('eu-lab');
      }
      expect((await ana().get('/clusters/eu-lab')).body.placed).toEqual(
        expect.arrayContaining([
          'resource:default/lab-db',
          'resource:default/lab-web',
        ]),
      );

      // refused while anything is placed there
      const early = await ana().delete('/clusters/eu-lab');
      expect(early.status).toBe(409);
      expect(early.body.error.message).toMatch(/drain it first/);

      const drain = await ana().post('/clusters/eu-lab/drain').send({});
      expect(drain.status).toBe(202);
      const drained = await settled('eu-lab', drain.body.operation.id);
      expect([drained.state, drained.error]).toEqual(['succeeded', null]);
      expect(drained.steps[0].result.moved.map((m: any) => m.ref)).toEqual([
        'resource:default/lab-db',
        'resource:default/lab-web',
      ]);
      for (const ref of [
        'resource:default/lab-db',
        'resource:default/lab-web',
      ]) {
        const r = await resourceReady(ref);
        expect(r.status.placement.cluster).not.toBe('eu-lab');
        expect(r.status.placement.cell).toBe('cell-eu');
      }
      cluster = (await ana().get('/clusters/eu-lab')).body;
      expect(cluster.observed.phase).toBe('Draining');
      expect(cluster.placed).toEqual([]);

      const decommission = await ana().delete('/clusters/eu-lab');
      expect(decommission.status).toBe(202);
      expect(
        (await settled('eu-lab', decommission.body.operation.id)).state,
      ).toBe('succeeded');
      expect((await ana().get('/clusters/eu-lab')).status).toBe(404);
      const listed = (await ana().get('/clusters')).body.items.map(
        (c: any) => c.id,
      );
      expect(listed).not.toContain('eu-lab');
    });

    it('scores a cluster down when its simulator reports nodes down, and keeps the score over time', async () => {
      const created = await ana()
        .post('/clusters')
        .send({
          name: 'eu-weak',
          cell: 'cell-eu',
          provider: 'gcp',
          region: 'europe-west1',
          zones: ['europe-west1-b'],
          version: '1.35',
          nodePools: [{ name: 'general', machineType: 'standard-8', count: 4 }],
        });
      await settled('eu-weak', created.body.operation.id);
      const run = () => ana().post('/clusters/automation/run').send({});
      expect((await run()).status).toBe(200);
      const healthy = (await ana().get('/clusters/eu-weak')).body;
      expect(healthy.observed.phase).toBe('Ready');

      const fault = await ana()
        .post('/simulator/clusters/eu-weak/faults')
        .send({ kind: 'node-failure', pool: 'general', nodes: 2 });
      expect(fault.status).toBe(204);
      const badFault = await ana()
        .post('/simulator/clusters/eu-weak/faults')
        .send({ kind: 'node-failure', pool: 'nope', nodes: 2 });
      expect([badFault.status, badFault.body.error.message]).toEqual([
        400,
        'pool: no pool nope on eu-weak',
      ]);
      expect((await run()).status).toBe(200);
      const weak = (await ana().get('/clusters/eu-weak')).body;
      expect(weak.observed).toMatchObject({
        phase: 'Degraded',
        nodesReady: 2,
        nodesTotal: 4,
      });
      expect(
        weak.health.breakdown.find((b: any) => b.factor === 'conditions'),
      ).toMatchObject({ score: 0.5, detail: '2 of 4 nodes ready' });
      expect(weak.health.score).toBeLessThan(healthy.health.score);
      const history = (await ana().get('/clusters/eu-weak/health')).body;
      expect(history.series.map((s: any) => s.score)).toEqual([
        healthy.health.score,
        weak.health.score,
      ]);
    });

    it('refuses bad requests naming the field, and developers', async () => {
      const bad = await ana()
        .post('/clusters')
        .send({
          name: 'eu-bad',
          cell: 'cell-nowhere',
          provider: 'gcp',
          region: 'r',
          zones: ['z'],
          version: '1.31',
          nodePools: [{ name: 'general', machineType: 'm', count: 1 }],
        });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/cell/);
      const badVersion = await ana()
        .post('/clusters')
        .send({
          name: 'eu-bad',
          cell: 'cell-eu',
          provider: 'gcp',
          region: 'r',
          zones: ['z'],
          version: 'latest',
          nodePools: [{ name: 'general', machineType: 'm', count: 1 }],
        });
      expect(badVersion.status).toBe(400);
      expect(badVersion.body.error.message).toMatch(/version/);
      const bruno = callAs(cp.server, users.bruno);
      expect(
        (await bruno.post('/clusters/aws-eu-west-1/drain', {})).status,
      ).toBe(403);
      expect(
        (await ana().get('/clusters')).body.items.map((c: any) => c.id),
      ).not.toContain('eu-bad');
    });
  },
);
