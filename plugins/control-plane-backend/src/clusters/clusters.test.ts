import { TestDatabases } from '@backstage/backend-test-utils';
import { controlPlaneModuleSimulator } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { MaintenanceWindow } from '@idp-multicloud/plugin-control-plane-common';
import { DateTime } from 'luxon';
import { execFileSync } from 'node:child_process';
import { nextMaintenanceWindow } from './channels';
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

      // 1.30 → 1.31 inside the maintenance window: asked for outside it, the upgrade waits,
      // the cluster Ready meanwhile. The window opens three days from now at 02:00 in Paris,
      // so that it is closed whenever the test runs.
      const later = DateTime.now().setZone('Europe/Paris').plus({ days: 3 });
      const closed: MaintenanceWindow = {
        days: [
          later
            .toFormat('ccc')
            .toLowerCase() as MaintenanceWindow['days'][number],
        ],
        start: '02:00',
        durationMinutes: 240,
        timeZone: 'Europe/Paris',
      };
      const windowSet = await ana()
        .patch('/clusters/eu-lab')
        .send({ maintenanceWindow: closed });
      expect([windowSet.status, windowSet.body.operation]).toEqual([
        202,
        undefined,
      ]);
      const opens = nextMaintenanceWindow(closed, DateTime.now())!;
      expect(opens.setZone('Europe/Paris').toISODate()).toBe(later.toISODate());
      const upgraded = await ana()
        .patch('/clusters/eu-lab')
        .send({ version: '1.31', when: 'window' });
      expect(upgraded.status).toBe(202);
      expect(upgraded.body.operation.steps.map((s: any) => s.name)).toEqual([
        'preflight',
        'upgrade_control_plane',
        'upgrade_pool:general',
        'verify',
      ]);
      const waiting = upgraded.body.operation.params.notBefore;
      expect(DateTime.fromISO(waiting).toMillis()).toBe(opens.toMillis());
      expect(
        DateTime.fromISO(waiting).setZone('Europe/Paris').toFormat('HH:mm'),
      ).toBe('02:00');
      await new Promise(r => setTimeout(r, 500));
      const asked = (await ana().get('/clusters/eu-lab')).body;
      expect([
        asked.observed.phase,
        asked.operations[0].state,
        asked.operations[0].steps[0].state,
        asked.nextMaintenanceWindow,
      ]).toEqual(['Ready', 'pending', 'pending', opens.toUTC().toISO()]);
      // a window that is open now: the waiting upgrade follows it and runs
      const openNow = {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        start: DateTime.utc().minus({ minutes: 30 }).toFormat('HH:mm'),
        durationMinutes: 240,
        timeZone: 'UTC',
      };
      const moved = await ana()
        .patch('/clusters/eu-lab')
        .send({ maintenanceWindow: openNow });
      expect(moved.status).toBe(202);
      expect(moved.body.operation.id).toBe(upgraded.body.operation.id);
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
      const upgradeEvents = (
        await ana()
          .get('/clusters/eu-lab/events')
          .set('accept', 'application/json')
      ).body.items.map((e: any) => e.message);
      expect(upgradeEvents).toContain(
        'Ready → Upgrading (its maintenance window opened)',
      );

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

    async function createCluster(name: string, version: string) {
      const created = await ana()
        .post('/clusters')
        .send({
          name,
          cell: 'cell-eu',
          provider: 'gcp',
          region: 'europe-west1',
          zones: ['europe-west1-b'],
          version,
          nodePools: [{ name: 'general', machineType: 'standard-8', count: 2 }],
        });
      expect([created.status, created.body.error]).toEqual([202, undefined]);
      expect((await settled(name, created.body.operation.id)).state).toBe(
        'succeeded',
      );
    }

    it('refuses an upgrade to a version that no longer serves an API a placed workload uses, naming both', async () => {
      await createCluster('eu-old', '1.31');
      const legacyApi = 'flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema';
      for (const body of [
        {
          name: 'gatekeeper',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-eu',
          params: { image: 'ghcr.io/acme/gatekeeper', version: '1.0.0' },
          // the simulated workload still ships a FlowSchema of flowcontrol v1beta3
          labels: { 'simulator.idp-multicloud.io/legacy-api': legacyApi },
          placement: { cluster: 'eu-old' },
        },
        {
          name: 'modern',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-eu',
          params: { image: 'ghcr.io/acme/modern', version: '1.0.0' },
          placement: { cluster: 'eu-old' },
        },
      ]) {
        const res = await ana().post('/resources').send(body);
        expect([res.status, res.body.error]).toEqual([201, undefined]);
      }
      await resourceReady('resource:default/gatekeeper');
      await resourceReady('resource:default/modern');

      const refused = await ana()
        .patch('/clusters/eu-old')
        .send({ version: '1.32' });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toBe(
        `version: removed API: 1.32 no longer serves ${legacyApi}, still used by resource:default/gatekeeper; move them to flowcontrol.apiserver.k8s.io/v1/FlowSchema first`,
      );
      // nothing was written: the desired version and the phase are unchanged
      const cluster = (await ana().get('/clusters/eu-old')).body;
      expect([cluster.version, cluster.observed.phase]).toEqual([
        '1.31',
        'Ready',
      ]);

      // once the workload is gone, the same upgrade goes through
      const gone = await ana().delete('/resources/default/gatekeeper');
      expect(gone.status).toBe(202);
      await until(async () => {
        const res = await ana().get('/resources/default/gatekeeper');
        return res.status === 404 || res.body.status?.state === 'DELETED';
      }, 'gatekeeper deleted');
      const upgraded = await ana()
        .patch('/clusters/eu-old')
        .send({ version: '1.32' });
      expect([upgraded.status, upgraded.body.error]).toEqual([202, undefined]);
      expect((await settled('eu-old', upgraded.body.operation.id)).state).toBe(
        'succeeded',
      );
    });

    it('returns a drained cluster to service, where the scheduler places again; every lifecycle step is an event and audited', async () => {
      await createCluster('eu-back', '1.31');
      const drain = await ana().post('/clusters/eu-back/drain').send({});
      expect(drain.status).toBe(202);
      expect((await settled('eu-back', drain.body.operation.id)).state).toBe(
        'succeeded',
      );
      expect((await ana().get('/clusters/eu-back')).body.observed.phase).toBe(
        'Draining',
      );
      // only a drained cluster can be un-cordoned
      const notDrained = await ana()
        .post('/clusters/aws-eu-west-1/uncordon')
        .send({});
      expect(notDrained.status).toBe(409);
      expect(notDrained.body.error.message).toMatch(/not Draining/);
      const missing = await ana()
        .post('/clusters/eu-nowhere/uncordon')
        .send({});
      expect(missing.status).toBe(404);
      const bruno = callAs(cp.server, users.bruno);
      expect((await bruno.post('/clusters/eu-back/uncordon', {})).status).toBe(
        403,
      );

      const back = await ana().post('/clusters/eu-back/uncordon').send({});
      expect([back.status, back.body]).toEqual([
        200,
        { cluster: 'eu-back', commit: null },
      ]);
      expect((await ana().get('/clusters/eu-back')).body.observed.phase).toBe(
        'Ready',
      );
      const placed = await ana()
        .post('/resources')
        .send({
          name: 'back-db',
          product: 'mysql',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-eu',
          params: { size: 'small' },
          placement: { cluster: 'eu-back' },
        });
      expect(placed.status).toBe(201);
      const ready = await resourceReady('resource:default/back-db');
      expect(ready.status.placement.cluster).toBe('eu-back');

      // the cluster's events, on the stream resources use
      const events = await ana()
        .get('/clusters/eu-back/events')
        .set('accept', 'application/json');
      expect(events.status).toBe(200);
      const seen = events.body.items.map((e: any) => [e.type, e.message]);
      expect(
        events.body.items.every((e: any) => e.ref === 'cluster:eu-back'),
      ).toBe(true);
      expect(seen).toEqual(
        expect.arrayContaining([
          [
            'operation.accepted',
            'create of eu-back accepted, by user:default/ana',
          ],
          ['step.started', 'create: apply running'],
          ['step.succeeded', 'create: wait_ready succeeded'],
          ['operation.succeeded', 'create of eu-back succeeded'],
          ['phase.changed', 'Provisioning → Ready'],
          [
            'operation.accepted',
            'drain of eu-back accepted, by user:default/ana',
          ],
          ['phase.changed', 'Ready → Draining'],
          ['step.succeeded', 'drain: verify_empty succeeded'],
          [
            'phase.changed',
            'Draining → Ready (returned to service by user:default/ana)',
          ],
        ]),
      );
      const types = seen.map(([t]: string[]) => t);
      expect(types.indexOf('operation.accepted')).toBeLessThan(
        types.indexOf('operation.succeeded'),
      );
      const after = events.body.lastId;
      const none = await ana()
        .get(`/clusters/eu-back/events?after=${after}`)
        .set('accept', 'application/json');
      expect(none.body.items).toEqual([]);
      expect(
        (
          await ana()
            .get('/clusters/eu-nowhere/events')
            .set('accept', 'application/json')
        ).status,
      ).toBe(404);

      // and audited: who asked, and how each operation ended
      const audit = await ana().get('/audit?target=cluster:eu-back&limit=50');
      expect(audit.status).toBe(200);
      const audited = audit.body.items.map((e: any) => [e.action, e.outcome]);
      expect(audited).toEqual(
        expect.arrayContaining([
          ['cluster.create', 'accepted'],
          ['cluster.create', 'succeeded'],
          ['cluster.drain', 'accepted'],
          ['cluster.drain', 'succeeded'],
          ['cluster.uncordon', 'accepted'],
        ]),
      );
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
      const repeated = await ana()
        .post('/clusters')
        .send({
          name: 'eu-bad',
          cell: 'cell-eu',
          provider: 'gcp',
          region: 'r',
          zones: ['z'],
          version: '1.31',
          nodePools: [
            { name: 'general', machineType: 'm', count: 1 },
            { name: 'general', machineType: 'n', count: 2 },
          ],
        });
      expect([repeated.status, repeated.body.error.message]).toEqual([
        400,
        'nodePools[1].name: general is repeated',
      ]);
      const mars = {
        days: ['sat'],
        start: '02:00',
        durationMinutes: 60,
        timeZone: 'Mars/Olympus_Mons',
      };
      for (const res of [
        await ana()
          .post('/clusters')
          .send({
            name: 'eu-bad',
            cell: 'cell-eu',
            provider: 'gcp',
            region: 'r',
            zones: ['z'],
            version: '1.31',
            nodePools: [{ name: 'general', machineType: 'm', count: 1 }],
            maintenanceWindow: mars,
          }),
        await ana()
          .patch('/clusters/aws-eu-west-1')
          .send({ maintenanceWindow: mars }),
      ]) {
        expect([res.status, res.body.error.message]).toEqual([
          400,
          'maintenanceWindow.timeZone: Mars/Olympus_Mons is not an IANA time zone (e.g. Europe/Paris)',
        ]);
      }
      for (const [body, message] of [
        [{ when: 'window' }, /change at least one of version/],
        [
          { when: 'window', labels: { team: 'x' } },
          /^when: only an upgrade \(a new version\) waits for the maintenance window$/,
        ],
        [{ version: '1.31', when: 'later' }, /when/],
      ] as const) {
        const res = await ana().patch('/clusters/aws-eu-west-1').send(body);
        expect([res.status, res.body.error.message]).toEqual([
          400,
          expect.stringMatching(message),
        ]);
      }
      const bruno = callAs(cp.server, users.bruno);
      expect(
        (await bruno.post('/clusters/aws-eu-west-1/drain', {})).status,
      ).toBe(403);
      expect(
        (await ana().get('/clusters')).body.items.map((c: any) => c.id),
      ).not.toContain('eu-bad');
    });

    it('refuses what Git could not hold or no operation could start before committing, naming the field', async () => {
      const commits = () =>
        execFileSync('git', ['-C', cp.repoPath, 'rev-list', '--count', 'main'])
          .toString()
          .trim();
      const cluster = (extra: object) => ({
        name: 'eu-bad',
        cell: 'cell-eu',
        provider: 'gcp',
        region: 'europe-west1',
        zones: ['europe-west1-b'],
        version: '1.31',
        nodePools: [{ name: 'general', machineType: 'm', count: 1 }],
        ...extra,
      });
      await createCluster('eu-drained', '1.31');
      const drain = await ana().post('/clusters/eu-drained/drain').send({});
      expect((await settled('eu-drained', drain.body.operation.id)).state).toBe(
        'succeeded',
      );
      const before = commits();
      const refusals: [Promise<any>, number, RegExp][] = [
        // a label key the manifest schema refuses was committed, leaving the head invalid
        [
          ana()
            .post('/clusters')
            .send(cluster({ labels: { 'not a key': 'x' } })),
          400,
          /^labels\.not a key: /,
        ],
        [
          ana()
            .patch('/clusters/eu-drained')
            .send({ labels: { 'not a key': 'x' } }),
          400,
          /^labels\.not a key: /,
        ],
        // the new size was committed, then the scale refused
        [
          ana()
            .patch('/clusters/eu-drained')
            .send({ nodePools: [{ name: 'general', count: 3 }] }),
          409,
          /^cannot scale eu-drained while it is Draining$/,
        ],
        [
          ana().patch('/clusters/eu-drained').send({ version: '1.32' }),
          409,
          /^cannot upgrade eu-drained while it is Draining$/,
        ],
        [
          ana()
            .patch('/clusters/aws-eu-west-1')
            .send({
              nodePools: [
                { name: 'general', count: 3 },
                { name: 'general', count: 7 },
              ],
            }),
          400,
          /^nodePools\[1\]\.name: general is repeated$/,
        ],
        [
          ana()
            .post('/clusters')
            .send(cluster({ version: '1.99' })),
          400,
          /^version: 1\.99 is not a supported release/,
        ],
        [
          ana()
            .post('/clusters')
            .send(cluster({ version: '1.31.99' })),
          400,
          /^version: 1\.31\.99 does not exist \(the latest patch of 1\.31 is 1\.31\.12\)$/,
        ],
        [
          ana().patch('/clusters/aws-eu-west-1').send({ version: '1.34.99' }),
          400,
          /^version: 1\.34\.99 does not exist/,
        ],
        [
          ana()
            .post('/clusters')
            .send(cluster({ zones: ['europe-west1-b', 'europe-west1-b'] })),
          400,
          /^zones\[1\]: europe-west1-b is repeated$/,
        ],
        [
          ana()
            .post('/clusters')
            .send(
              cluster({
                nodePools: [
                  {
                    name: 'general',
                    machineType: 'm',
                    count: 1,
                    zones: ['elsewhere'],
                  },
                ],
              }),
            ),
          400,
          /^nodePools\[0\]\.zones\[0\]: elsewhere is not a zone of the cluster/,
        ],
        [
          ana()
            .post('/clusters/channels/rapid/approvals')
            .send({ minor: '1.99' }),
          400,
          /^minor: 1\.99 is not a supported Kubernetes release$/,
        ],
        [ana().get('/clusters/eu-nowhere/operations'), 404, /eu-nowhere/],
        // more nodes than a Kubernetes cluster supports
        [
          ana()
            .post('/clusters')
            .send(
              cluster({
                nodePools: [{ name: 'general', machineType: 'm', count: 1e9 }],
              }),
            ),
          400,
          /nodePools.0.count/,
        ],
        [
          ana()
            .patch('/clusters/aws-eu-west-1')
            .send({ nodePools: [{ name: 'general', count: 5001 }] }),
          400,
          /nodePools.0.count/,
        ],
        // a misspelt field of a pool was dropped without a word
        [
          ana()
            .post('/clusters')
            .send(
              cluster({
                nodePools: [
                  { name: 'general', machineType: 'm', count: 1, Zones: [] },
                ],
              }),
            ),
          400,
          /nodePools.0.*Zones/,
        ],
        [
          ana()
            .post('/clusters')
            .send(
              cluster({
                maintenanceWindow: {
                  days: ['sat', 'sat'],
                  start: '02:00',
                  durationMinutes: 60,
                },
              }),
            ),
          400,
          /maintenanceWindow.days: must not name a day twice/,
        ],
      ];
      for (const [res, status, message] of refusals) {
        const { status: got, body } = await res;
        expect([got, body.error?.message]).toEqual([
          status,
          expect.stringMatching(message),
        ]);
      }
      expect(commits()).toBe(before);
      const drained = (await ana().get('/clusters/eu-drained')).body;
      expect([
        drained.version,
        drained.nodePools[0].count,
        drained.labels,
      ]).toEqual(['1.31', 2, {}]);
      expect(
        (await ana().get('/clusters')).body.items.map((c: any) => c.id),
      ).not.toContain('eu-bad');
    });

    it('commits the size of the one scale of concurrent ones that starts, no other', async () => {
      for (const name of ['eu-race-a', 'eu-race-b']) {
        await createCluster(name, '1.31');
        const answers = await Promise.all(
          [3, 5, 7].map(async count =>
            ana()
              .patch(`/clusters/${name}`)
              .send({ nodePools: [{ name: 'general', count }] }),
          ),
        );
        expect(
          answers.map(a => `${a.status} ${a.body.error?.message ?? ''}`).sort(),
        ).toEqual([
          '202 ',
          expect.stringMatching(/^409 cluster .* has an operation in flight/),
          expect.stringMatching(/^409 cluster .* has an operation in flight/),
        ]);
        const started = answers.find(a => a.status === 202)!.body.operation;
        // a refused one committed its size after the started one's
        expect(
          (await ana().get(`/clusters/${name}`)).body.nodePools[0].count,
        ).toBe(started.params.pools[0].count);
      }
    });

    it('creates a cluster again under the name of a decommissioned one', async () => {
      await createCluster('eu-again', '1.31');
      const gone = await ana().delete('/clusters/eu-again');
      expect(gone.status).toBe(202);
      expect((await settled('eu-again', gone.body.operation.id)).state).toBe(
        'succeeded',
      );
      expect((await ana().get('/clusters/eu-again')).status).toBe(404);
      // the cluster's row stayed Deleted, so its new create could never start
      await createCluster('eu-again', '1.32');
      const again = (await ana().get('/clusters/eu-again')).body;
      expect([again.version, again.observed.phase]).toEqual(['1.32', 'Ready']);
    });
  },
);
