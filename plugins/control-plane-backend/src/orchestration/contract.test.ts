import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

type ControlPlaneTest = Awaited<ReturnType<typeof startControlPlane>>;

const REF = 'resource:default/orders-db';

/**
 * Every operation of the unified contract, run by the saga engine end to end on the
 * simulated driver: what each one changes in the (simulated) cloud and on the resource.
 */
describe.each(databases.eachSupportedId())(
  'the unified contract on %s',
  databaseId => {
    let cp: ControlPlaneTest;
    afterAll(() => cp?.cleanup());

    const as = authAs(users.ana);
    const get = (path: string) =>
      request(cp.server)
        .get(`/api/control-plane${path}`)
        .set('authorization', as);
    const sim = async () =>
      (await get(`/simulator/state?ref=${REF}`).expect(200)).body;
    const resource = async () =>
      (await get('/resources/default/orders-db').expect(200)).body;

    /** Runs an operation through the API and waits for the engine to end it. */
    async function operate(type: string, params: Record<string, unknown> = {}) {
      const accepted = await request(cp.server)
        .post('/api/control-plane/resources/default/orders-db/operations')
        .set('authorization', as)
        .send({ type, params });
      expect([accepted.status, accepted.body.error?.message]).toEqual([
        202,
        undefined,
      ]);
      return until(async () => {
        const op = (await get(`/operations/${accepted.body.id}`)).body;
        return ['succeeded', 'compensated', 'needs-attention'].includes(
          op.state,
        )
          ? op
          : undefined;
      }, `${type} to end`);
    }

    const stepsOf = (op: any) => op.steps.map((s: any) => [s.name, s.state]);
    const succeeded = (names: string[]) => names.map(n => [n, 'succeeded']);

    beforeAll(async () => {
      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [simulatorModule],
        controlPlane: {
          simulator: {
            provisioningTime: { milliseconds: 30 },
            deprovisioningTime: { milliseconds: 20 },
            latency: { default: 0 },
          },
        },
      });
      await request(cp.server)
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send({
          name: 'orders-db',
          product: 'mysql',
          owner: 'group:default/payments',
          tier: 'medium',
          cell: 'cell-us',
          params: { engineVersion: '8.0', replicas: 1 },
          // a cluster with three zones, for the failover to move between
          placement: { provider: 'aws' },
        })
        .expect(201);
      await until(
        async () => (await resource()).status.state === 'READY',
        'READY',
      );
    });

    it('backup takes a snapshot and verifies it', async () => {
      const op = await operate('backup', { label: 'nightly' });
      expect(op.state).toBe('succeeded');
      expect(stepsOf(op)).toEqual(succeeded(['snapshot', 'verify_backup']));
      expect((await sim()).backups).toEqual([
        expect.objectContaining({ ref: REF, label: 'nightly' }),
      ]);
    });

    it('restore puts a backup back, and the resource is READY after it', async () => {
      const [backup] = (await sim()).backups;
      const op = await operate('restore', { backupId: backup.id });
      expect(stepsOf(op)).toEqual(
        succeeded(['validate_backup', 'restore_data', 'wait_ready', 'notify']),
      );
      expect((await resource()).status.state).toBe('READY');
      // a backup that does not exist fails the restore, and nothing was changed
      const missing = await operate('restore', { backupId: 'bkp-missing' });
      expect(missing.state).toBe('compensated');
      expect(missing.error).toContain('bkp-missing');
      expect((await resource()).status.state).toBe('READY');
    });

    it('failover promotes a replica in another zone and repoints the name', async () => {
      const before = (await sim()).claims[0];
      const op = await operate('failover');
      expect(stepsOf(op)).toEqual(
        succeeded(['promote_replica', 'repoint_dns', 'wait_ready', 'notify']),
      );
      const after = (await sim()).claims[0];
      expect(after.cluster).toBe('aws-us-east-1');
      expect(before.primaryZone).toBe('us-east-1a');
      expect(after.primaryZone).toMatch(/^us-east-1[bc]$/);
      expect((await sim()).dnsRecords).toEqual([
        expect.objectContaining({ cluster: after.cluster }),
      ]);
    });

    it('rotate-credentials issues new credentials', async () => {
      const before = (await sim()).claims[0].secretVersion;
      const op = await operate('rotate-credentials');
      expect(stepsOf(op)).toEqual(succeeded(['rotate', 'restart_consumers']));
      expect((await sim()).claims[0].secretVersion).toBe(before + 1);
    });

    it('scale commits the new size and applies it', async () => {
      const op = await operate('scale', { replicas: 2 });
      expect(stepsOf(op)).toEqual(
        succeeded(['validate', 'apply_claim', 'wait_ready', 'notify']),
      );
      const r = await resource();
      expect(r.spec.params.replicas).toBe(2);
      expect(r.status.observedGeneration).toBe(r.status.generation);
      expect((await sim()).claims[0].params.replicas).toBe(2);
    });

    it('upgrade-version checks, then moves to the new version', async () => {
      const op = await operate('upgrade-version', { version: '8.4' });
      expect(stepsOf(op)).toEqual(
        succeeded([
          'validate',
          'precheck',
          'apply_claim',
          'wait_ready',
          'notify',
        ]),
      );
      expect((await sim()).claims[0].version).toBe('8.4');
      expect((await resource()).status.version).toBe('8.4');
      // a downgrade is refused by the precheck and changes nothing
      const down = await operate('upgrade-version', { version: '8.0' });
      expect(down.state).toBe('compensated');
      expect(down.error).toContain('downgrade');
      expect((await sim()).claims[0].version).toBe('8.4');
    });

    it('an update of the desired spec is realised by an update operation', async () => {
      await request(cp.server)
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', as)
        // The refused downgrade above left 8.0 desired: asking for 8.4 again makes this a
        // change of size only (a change of version would roll out as a deployment).
        .send({ params: { size: 'large', engineVersion: '8.4' } })
        .expect(res => expect(res.status).toBeLessThan(300));
      await until(
        async () => (await sim()).claims[0]?.params.size === 'large',
        'size large',
      );
      const r = await until(async () => {
        const current = await resource();
        return current.status.observedGeneration === current.status.generation
          ? current
          : undefined;
      }, 'generation realised');
      const ops = (await get('/resources/default/orders-db/operations')).body
        .items;
      expect(ops[0]).toMatchObject({ type: 'update', state: 'succeeded' });
      expect(r.status.state).toBe('READY');
    });

    it('migrate provisions the target, syncs, switches traffic, and only then removes the source', async () => {
      const source = (await resource()).status.placement.cluster;
      expect(source).toBe('aws-us-east-1');
      const targetCluster = 'gcp-us-central1';
      const op = await operate('migrate', {
        provider: 'gcp',
        cluster: targetCluster,
      });
      expect(op.error).toBeUndefined();
      expect(stepsOf(op)).toEqual(
        succeeded([
          'validate',
          'schedule_target',
          'provision_target',
          'wait_target_ready',
          'configure_target_networking',
          'sync_data',
          'switch_traffic',
          'decommission_source',
        ]),
      );
      // the source was kept until the target was READY and serving
      const at = (type: string, step: string) =>
        op.timeline.findIndex((e: any) => e.type === type && e.step === step);
      expect(at('step.succeeded', 'wait_target_ready')).toBeLessThan(
        at('step.started', 'decommission_source'),
      );
      const state = await sim();
      expect(state.claims.map((c: any) => [c.cluster, c.phase])).toEqual([
        [targetCluster, 'ready'],
      ]);
      expect(state.networking.map((n: any) => n.cluster)).toEqual([
        targetCluster,
      ]);
      expect(state.dnsRecords.map((d: any) => d.cluster)).toEqual([
        targetCluster,
      ]);
      const r = await resource();
      expect(r.status.placement.cluster).toBe(targetCluster);
      expect(r.status.state).toBe('READY');
      // the data sync read from the source, while it still ran
      const effects = (
        await get(`/simulator/side-effects?operationId=${op.id}`)
      ).body;
      expect(effects.tokens).toContainEqual(
        expect.objectContaining({
          detail: 'migrate/sync_data',
          cluster: targetCluster,
          applied: 1,
        }),
      );
      expect(
        effects.performed
          .filter((e: any) => e.cluster === source)
          .map((e: any) => e.action)
          .sort(),
      ).toEqual(['delete', 'removeNetworking']);
    });
  },
);
