import { TestDatabases } from '@backstage/backend-test-utils';
import {
  ctx,
  driverErrorOf,
  eventually,
  mysql,
  PROVISION_MS,
  simulatedDriverOn,
  sleep,
  targets,
} from './__testUtils__/fixtures';
import { SimulatedDriver } from './SimulatedDriver';

const databases = TestDatabases.create();

describe.each(databases.eachSupportedId())(
  'SimulatedDriver operations on %s',
  databaseId => {
    const { driver } = simulatedDriverOn(databases, databaseId);

    describe('operations', () => {
      async function running(sim: SimulatedDriver, resource = mysql()) {
        await sim.apply(
          resource,
          targets.aws,
          ctx(`${resource.uid}:apply_claim`),
        );
        await sleep(PROVISION_MS + 10);
        return resource;
      }

      it('backs up, verifies, and restores only a backup of that resource', async () => {
        const sim = await driver();
        const db = await running(sim);
        const other = await running(sim, mysql('other-db'));
        const snapshot = await sim.runOperation(
          { type: 'backup', step: 'snapshot', params: { label: 'nightly' } },
          db,
          targets.aws,
          ctx('bk1:snapshot'),
        );
        expect(snapshot).toEqual({
          backupId: expect.stringMatching(/^bkp-/),
          sizeGi: 35,
          completedAt: expect.any(String),
          label: 'nightly',
        });
        await expect(
          sim.runOperation(
            { type: 'backup', step: 'verify_backup', params: {} },
            db,
            targets.aws,
            ctx('bk1:verify_backup'),
          ),
        ).resolves.toMatchObject({
          backupId: snapshot.backupId,
          verified: true,
        });

        const restoreOp = (
          resource: typeof db,
          backupId: string,
          step: string,
        ) =>
          sim.runOperation(
            { type: 'restore', step, params: { backupId } },
            resource,
            targets.aws,
            ctx(`rs-${resource.name}-${backupId}:${step}`),
          );
        const missing = await driverErrorOf(
          restoreOp(db, 'bkp-nope', 'validate_backup'),
        );
        expect(missing).toMatchObject({
          retryable: false,
          code: 'BackupNotFound',
        });
        const notTheirs = await driverErrorOf(
          restoreOp(other, snapshot.backupId as string, 'validate_backup'),
        );
        expect(notTheirs.retryable).toBe(false);

        await expect(
          restoreOp(db, snapshot.backupId as string, 'validate_backup'),
        ).resolves.toMatchObject({ valid: true, sizeGi: 35 });
        await expect(
          restoreOp(db, snapshot.backupId as string, 'restore_data'),
        ).resolves.toMatchObject({ backupId: snapshot.backupId });
        // Restoring takes it through provisioning again.
        expect(
          (await sim.observe(db, targets.aws, ctx('rs:wait_ready'))).phase,
        ).toBe('provisioning');
        await eventually(
          () => sim.observe(db, targets.aws, ctx('rs:wait_ready')),
          o => o.phase === 'ready',
        );
      });

      it('fails over to another zone, and recovers a degraded resource by it', async () => {
        const sim = await driver();
        const db = await running(sim);
        await sim.setHealth(
          { ref: db.ref },
          'degraded',
          'primary lost its disk',
        );
        const result = await sim.runOperation(
          { type: 'failover', step: 'promote_replica', params: {} },
          db,
          targets.aws,
          ctx('fo1:promote_replica'),
        );
        expect(result).toMatchObject({
          promotedZone: 'us-east-1b',
          previousZone: 'us-east-1a',
        });
        expect(
          (await sim.observe(db, targets.aws, ctx('fo1:wait_ready'))).phase,
        ).toBe('ready');
        await expect(
          sim.runOperation(
            {
              type: 'failover',
              step: 'promote_replica',
              params: { targetZone: 'us-east-1c' },
            },
            db,
            targets.aws,
            ctx('fo2:promote_replica'),
          ),
        ).resolves.toMatchObject({ promotedZone: 'us-east-1c' });
        const unknownZone = await driverErrorOf(
          sim.runOperation(
            {
              type: 'failover',
              step: 'promote_replica',
              params: { targetZone: 'mars-1a' },
            },
            db,
            targets.aws,
            ctx('fo3:promote_replica'),
          ),
        );
        expect(unknownZone.retryable).toBe(false);

        const single = await running(
          sim,
          mysql('single', {
            params: { ...db.params, replicas: 0, highAvailability: false },
          }),
        );
        const none = await driverErrorOf(
          sim.runOperation(
            { type: 'failover', step: 'promote_replica', params: {} },
            single,
            targets.aws,
            ctx('fo4:promote_replica'),
          ),
        );
        expect(none).toMatchObject({ retryable: false, code: 'NoReplica' });
      });

      it('rotates credentials to a new secret version', async () => {
        const sim = await driver();
        const db = await running(sim);
        await expect(
          sim.runOperation(
            { type: 'rotate-credentials', step: 'rotate', params: {} },
            db,
            targets.aws,
            ctx('rot1:rotate'),
          ),
        ).resolves.toMatchObject({ secretVersion: 2 });
        await expect(
          sim.runOperation(
            {
              type: 'rotate-credentials',
              step: 'restart_consumers',
              params: {},
            },
            db,
            targets.aws,
            ctx('rot1:restart_consumers'),
          ),
        ).resolves.toMatchObject({ secretVersion: 2 });
      });

      it('prechecks an upgrade and refuses a downgrade', async () => {
        const sim = await driver();
        const db = await running(sim);
        const precheck = (version: string, op: string) =>
          sim.runOperation(
            { type: 'upgrade-version', step: 'precheck', params: { version } },
            db,
            targets.aws,
            ctx(`${op}:precheck`),
          );
        await expect(precheck('8.4', 'up1')).resolves.toEqual({
          compatible: true,
          from: '8.0',
          to: '8.4',
        });
        const down = await driverErrorOf(precheck('5.7', 'up2'));
        expect(down).toMatchObject({ retryable: false, code: 'Downgrade' });
      });

      it('syncs data from the source placement of a migration', async () => {
        const sim = await driver();
        const db = await running(sim);
        await sim.apply(db, targets.gcp, ctx('mig1:provision_target'));
        const sync = (source: string, op: string) =>
          sim.runOperation(
            {
              type: 'migrate',
              step: 'sync_data',
              params: {
                cluster: 'gcp-us-central1',
                source: { cell: 'cell-us', provider: 'aws', cluster: source },
              },
            },
            db,
            targets.gcp,
            ctx(`${op}:sync_data`),
          );
        await expect(sync('aws-us-east-1', 'mig1')).resolves.toMatchObject({
          bytesCopied: 35 * 1024 ** 3,
          source: 'aws-us-east-1',
          target: 'gcp-us-central1',
        });
        const nothing = await driverErrorOf(sync('oci-us-ashburn-1', 'mig2'));
        expect(nothing.retryable).toBe(false);
      });

      it('refuses operations the product does not implement, and unknown steps', async () => {
        const sim = await driver();
        const web = await running(
          sim,
          mysql('web', { product: 'webapp', params: { version: '1.0.0' } }),
        );
        const backup = await driverErrorOf(
          sim.runOperation(
            { type: 'backup', step: 'snapshot', params: {} },
            web,
            targets.aws,
            ctx('x1:snapshot'),
          ),
        );
        expect(backup).toMatchObject({
          retryable: false,
          code: 'UnsupportedOperation',
        });
        const db = await running(sim);
        const step = await driverErrorOf(
          sim.runOperation(
            { type: 'backup', step: 'teleport', params: {} },
            db,
            targets.aws,
            ctx('x2:teleport'),
          ),
        );
        expect(step.retryable).toBe(false);
      });
    });
  },
);
