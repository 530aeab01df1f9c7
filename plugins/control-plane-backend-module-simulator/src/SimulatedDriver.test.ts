import { TestDatabases } from '@backstage/backend-test-utils';
import { InputError, NotFoundError } from '@backstage/errors';
import knexFactory, { Knex } from 'knex';
import {
  ctx,
  driverErrorOf,
  eventually,
  logger,
  mysql,
  sleep,
  targets,
} from './__testUtils__/fixtures';
import { isPostgres } from './database/migrations';
import { SimulatedDriver, SimulatedDriverOptions } from './SimulatedDriver';

const databases = TestDatabases.create();

const PROVISION_MS = 100;
const DEPROVISION_MS = 80;

describe.each(databases.eachSupportedId())(
  'SimulatedDriver on %s',
  databaseId => {
    let knex: Knex;
    const extraPools: Knex[] = [];

    async function driver(
      options: Partial<SimulatedDriverOptions> = {},
    ): Promise<SimulatedDriver> {
      return SimulatedDriver.create({
        database: knex,
        logger,
        provisioningTime: { milliseconds: PROVISION_MS },
        deprovisioningTime: { milliseconds: DEPROVISION_MS },
        latency: { default: 0 },
        ...options,
      });
    }

    beforeEach(async () => {
      knex = await databases.init(databaseId);
    });

    afterAll(async () => {
      await Promise.all(extraPools.map(pool => pool.destroy()));
    });

    describe('lifecycle', () => {
      it('provisions, becomes ready after the provisioning time, and reports what it applied', async () => {
        const sim = await driver();
        const db = mysql();
        const applied = await sim.apply(
          db,
          targets.aws,
          ctx('op1:apply_claim'),
        );
        expect(applied.phase).toBe('provisioning');
        expect(
          (await sim.observe(db, targets.aws, ctx('op1:wait_ready'))).phase,
        ).toBe('provisioning');

        await sleep(PROVISION_MS + 10);
        const observed = await sim.observe(
          db,
          targets.aws,
          ctx('op1:wait_ready'),
        );
        expect(observed).toMatchObject({
          phase: 'ready',
          params: db.params,
          version: '8.0',
          endpoint: {
            host: 'orders-db.default.aws-us-east-1.simulated.internal',
            port: 3306,
          },
          connectionSecretRef: 'orders-db-connection',
        });
        expect(observed.conditions?.map(c => [c.type, c.status])).toEqual([
          ['Ready', 'True'],
          ['Synced', 'True'],
        ]);
        // Another cluster knows nothing of it.
        expect(
          (await sim.observe(db, targets.gcp, ctx('op1:wait_ready'))).phase,
        ).toBe('absent');
      });

      it('takes its version from the version parameter of the product, or 1', async () => {
        const sim = await driver();
        const web = mysql('web', {
          product: 'webapp',
          params: { image: 'ghcr.io/acme/web', version: '2.3.1' },
        });
        const bucket = mysql('files', {
          product: 'object-bucket',
          params: { storageClass: 'standard' },
        });
        expect(
          (await sim.apply(web, targets.aws, ctx('w:apply_claim'))).version,
        ).toBe('2.3.1');
        expect(
          (await sim.apply(bucket, targets.aws, ctx('b:apply_claim'))).version,
        ).toBe('1');
      });

      it('provisions a changed resource again, then it is ready with the new parameters', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sleep(PROVISION_MS + 10);

        // The same parameters again (a reconcile): nothing to do, it stays ready.
        const same = await sim.apply(
          { ...db, generation: 2 },
          targets.aws,
          ctx('op2:apply_claim'),
        );
        expect(same.phase).toBe('ready');

        const bigger = {
          ...db,
          generation: 3,
          params: { ...db.params, size: 'large', engineVersion: '8.4' },
        };
        const updated = await sim.apply(
          bigger,
          targets.aws,
          ctx('op3:apply_claim'),
        );
        expect(updated).toMatchObject({
          phase: 'provisioning',
          version: '8.4',
        });
        const ready = await eventually(
          () => sim.observe(bigger, targets.aws, ctx('op3:wait_ready')),
          o => o.phase === 'ready',
        );
        expect(ready.params).toEqual(bigger.params);
        expect((await sim.state()).claims).toEqual([
          expect.objectContaining({
            generation: 3,
            revision: 3,
            version: '8.4',
          }),
        ]);
      });

      it('deletes: deleting for the deprovisioning time, then absent; deleting what is absent succeeds', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sim.delete(db, targets.aws, ctx('op2:delete_claim'));
        expect(
          (await sim.observe(db, targets.aws, ctx('op2:wait_absent'))).phase,
        ).toBe('deleting');
        await sleep(DEPROVISION_MS + 10);
        expect(
          (await sim.observe(db, targets.aws, ctx('op2:wait_absent'))).phase,
        ).toBe('absent');
        expect((await sim.state()).claims).toEqual([]);

        await expect(
          sim.delete(db, targets.aws, ctx('op3:delete_claim')),
        ).resolves.toBeUndefined();
        await expect(
          sim.delete(mysql('never'), targets.aws, ctx('op4:delete_claim')),
        ).resolves.toBeUndefined();

        // Created again, it provisions from scratch.
        expect(
          (await sim.apply(db, targets.aws, ctx('op5:apply_claim'))).phase,
        ).toBe('provisioning');
      });

      it('opens networking and DNS for a running resource, and removes them', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await expect(
          sim.configureNetworking(
            db,
            targets.aws,
            ctx('op1:configure_networking'),
          ),
        ).resolves.toEqual({
          host: 'orders-db.default.aws-us-east-1.simulated.internal',
          port: 3306,
        });
        await expect(
          sim.registerDns(db, targets.aws, ctx('op1:register_dns')),
        ).resolves.toEqual({
          hostname: 'orders-db.default.dns.simulated.internal',
        });

        let state = await sim.state({ ref: db.ref });
        expect(state.networking).toEqual([
          expect.objectContaining({ cluster: 'aws-us-east-1', port: 3306 }),
        ]);
        expect(state.dnsRecords).toEqual([
          expect.objectContaining({
            hostname: 'orders-db.default.dns.simulated.internal',
            cluster: 'aws-us-east-1',
            target: 'orders-db.default.aws-us-east-1.simulated.internal',
          }),
        ]);

        // A record pointing elsewhere is not ours to remove.
        await sim.deregisterDns(db, targets.gcp, ctx('op2:deregister_dns'));
        expect((await sim.state()).dnsRecords).toHaveLength(1);
        await sim.deregisterDns(db, targets.aws, ctx('op3:deregister_dns'));
        await sim.removeNetworking(
          db,
          targets.aws,
          ctx('op3:remove_networking'),
        );
        state = await sim.state();
        expect(state.dnsRecords).toEqual([]);
        expect(state.networking).toEqual([]);
      });

      it('refuses networking and DNS for what does not run there (non-retryable)', async () => {
        const sim = await driver();
        const error = await driverErrorOf(
          sim.configureNetworking(
            mysql(),
            targets.aws,
            ctx('op1:configure_networking'),
          ),
        );
        expect(error.retryable).toBe(false);
        expect(error.message).toMatch(/does not run on aws-us-east-1/);
        const dns = await driverErrorOf(
          sim.registerDns(mysql(), targets.aws, ctx('op1:register_dns')),
        );
        expect(dns.retryable).toBe(false);
        // A failed call records nothing: a retry may still apply.
        expect((await sim.sideEffects()).tokens).toEqual([]);
      });

      it('refuses a product it does not offer', async () => {
        const sim = await driver();
        const error = await driverErrorOf(
          sim.apply(
            mysql('x', { product: 'mongodb' }),
            targets.aws,
            ctx('o:apply_claim'),
          ),
        );
        expect(error).toMatchObject({
          retryable: false,
          code: 'UnsupportedProduct',
        });
        expect(sim.capabilities().products.sort()).toEqual([
          'kafka',
          'mysql',
          'object-bucket',
          'postgres',
          'redis',
          'webapp',
        ]);
        expect(sim.capabilities().operations.webapp).toEqual([
          'migrate',
          'scale',
          'upgrade-version',
          'rotate-credentials',
        ]);
      });

      it('still has everything after a restart (a new driver on the same database)', async () => {
        const first = await driver();
        const db = mysql();
        await first.apply(db, targets.aws, ctx('op1:apply_claim'));
        await first.configureNetworking(
          db,
          targets.aws,
          ctx('op1:configure_networking'),
        );
        await first.registerDns(db, targets.aws, ctx('op1:register_dns'));
        const before = await first.state();

        const second = await driver();
        await sleep(PROVISION_MS + 10);
        expect(
          (await second.observe(db, targets.aws, ctx('op1:wait_ready'))).phase,
        ).toBe('ready');
        const after = await second.state();
        expect(after.networking).toEqual(before.networking);
        expect(after.dnsRecords).toEqual(before.dnsRecords);
        // A step re-run after the restart does not apply again.
        const replay = await second.apply(
          db,
          targets.aws,
          ctx('op1:apply_claim'),
        );
        expect(replay.phase).toBe('provisioning');
        expect(after.claims[0].revision).toBe(1);
        expect((await second.state()).claims[0].revision).toBe(1);
      });
    });

    describe('idempotency', () => {
      it('applies a token once and answers a repeat with the first result', async () => {
        const sim = await driver();
        const db = mysql();
        const first = await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sleep(PROVISION_MS + 10);
        // Even with other parameters: a retried step is the same request.
        const again = await sim.apply(
          { ...db, params: { ...db.params, size: 'xlarge' } },
          targets.aws,
          ctx('op1:apply_claim'),
        );
        expect(again).toEqual(first);
        expect(
          (await sim.observe(db, targets.aws, ctx('op1:wait_ready'))).params,
        ).toEqual(db.params);

        const effects = await sim.sideEffects();
        expect(effects.tokens).toEqual([
          expect.objectContaining({
            token: 'op1:apply_claim',
            action: 'apply',
            applied: 1,
            calls: 2,
          }),
        ]);
        expect(effects.totals).toEqual({ apply: 1 });
        expect(effects.replays).toBe(1);
      });

      it('replays every kind of side effect', async () => {
        const sim = await driver();
        const db = mysql();
        for (let i = 0; i < 2; i++) {
          await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
          await sim.configureNetworking(
            db,
            targets.aws,
            ctx('op1:configure_networking'),
          );
          await sim.registerDns(db, targets.aws, ctx('op1:register_dns'));
          await sim.runOperation(
            { type: 'backup', step: 'snapshot', params: {} },
            db,
            targets.aws,
            ctx('op2:snapshot'),
          );
          await sim.deregisterDns(db, targets.aws, ctx('op3:deregister_dns'));
          await sim.removeNetworking(
            db,
            targets.aws,
            ctx('op3:remove_networking'),
          );
          await sim.delete(db, targets.aws, ctx('op3:delete_claim'));
        }
        const effects = await sim.sideEffects();
        expect(
          effects.tokens.every(t => t.applied === 1 && t.calls === 2),
        ).toBe(true);
        expect(effects.totals).toEqual({
          apply: 1,
          configureNetworking: 1,
          registerDns: 1,
          runOperation: 1,
          deregisterDns: 1,
          removeNetworking: 1,
          delete: 1,
        });
        expect((await sim.state()).backups).toHaveLength(1);
        expect(
          (await sim.sideEffects({ tokenPrefix: 'op3:' })).tokens.map(
            t => t.action,
          ),
        ).toEqual(
          expect.arrayContaining([
            'deregisterDns',
            'removeNetworking',
            'delete',
          ]),
        );
      });

      it('applies once when many calls with one token race, from two connection pools', async () => {
        const a = await driver();
        // On PostgreSQL the second driver gets its own pool, as a second process would.
        let otherKnex = knex;
        if (isPostgres(knex)) {
          otherKnex = knexFactory(knex.client.config);
          extraPools.push(otherKnex);
        }
        const b = await SimulatedDriver.create({
          database: otherKnex,
          logger,
          provisioningTime: { milliseconds: PROVISION_MS },
          latency: { default: 0 },
        });
        const db = mysql();
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? a : b).apply(db, targets.aws, ctx('race:apply_claim')),
          ),
        );
        expect(new Set(results.map(r => JSON.stringify(r))).size).toBe(1);

        const backups = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 ? a : b).runOperation(
              { type: 'backup', step: 'snapshot', params: {} },
              db,
              targets.aws,
              ctx('race:snapshot'),
            ),
          ),
        );
        expect(new Set(backups.map(r => r.backupId)).size).toBe(1);

        const state = await a.state();
        expect(state.claims).toEqual([
          expect.objectContaining({ revision: 1 }),
        ]);
        expect(state.backups).toHaveLength(1);
        expect(state.sideEffects.tokens).toEqual([
          expect.objectContaining({
            token: 'race:apply_claim',
            applied: 1,
            calls: 16,
          }),
          expect.objectContaining({
            token: 'race:snapshot',
            applied: 1,
            calls: 16,
          }),
        ]);
      });

      it('lets a retry apply when the first call failed', async () => {
        const sim = await driver();
        const db = mysql();
        await driverErrorOf(
          sim.configureNetworking(
            db,
            targets.aws,
            ctx('op1:configure_networking'),
          ),
        );
        await sim.apply(db, targets.aws, ctx('op0:apply_claim'));
        await expect(
          sim.configureNetworking(
            db,
            targets.aws,
            ctx('op1:configure_networking'),
          ),
        ).resolves.toMatchObject({ port: 3306 });
      });
    });

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

    describe('faults', () => {
      it('fails calls to a provider with a retryable 503 at an error rate of 1', async () => {
        const sim = await driver({ faults: { errorRate: { aws: 1 } } });
        const db = mysql();
        const error = await driverErrorOf(
          sim.apply(db, targets.aws, ctx('op1:apply_claim')),
        );
        expect(error).toMatchObject({
          retryable: true,
          message: 'simulated 503 from aws',
        });
        await driverErrorOf(
          sim.observe(db, targets.aws, ctx('op1:wait_ready')),
        );
        // Nothing was applied; other providers answer.
        expect((await sim.sideEffects()).tokens).toEqual([]);
        await expect(
          sim.apply(db, targets.gcp, ctx('op2:apply_claim')),
        ).resolves.toMatchObject({ phase: 'provisioning' });
      });

      it('fails some calls at an error rate between 0 and 1', async () => {
        const rolls = [0.1, 0.9];
        const sim = await driver({ random: () => rolls.shift() ?? 0.9 });
        await sim.addFault({ kind: 'error-rate', provider: 'aws', rate: 0.5 });
        const db = mysql();
        await driverErrorOf(sim.apply(db, targets.aws, ctx('op1:apply_claim')));
        await expect(
          sim.apply(db, targets.aws, ctx('op1:apply_claim')),
        ).resolves.toMatchObject({ phase: 'provisioning' });
      });

      it('fails every call to a provider or a cluster in an outage, until it is lifted', async () => {
        const sim = await driver();
        const db = mysql();
        const outage = await sim.addFault({
          kind: 'provider-outage',
          provider: 'aws',
        });
        const cluster = await sim.addFault({
          kind: 'cluster-outage',
          cluster: 'gcp-us-central1',
          message: 'gcp-us-central1 is unreachable',
        });
        for (let i = 0; i < 2; i++) {
          const error = await driverErrorOf(
            sim.apply(db, targets.aws, ctx('op1:apply_claim')),
          );
          expect(error).toMatchObject({
            retryable: true,
            code: 'SimulatedOutage',
          });
        }
        const gcp = await driverErrorOf(
          sim.observe(db, targets.gcp, ctx('op1:wait_ready')),
        );
        expect(gcp).toMatchObject({
          retryable: true,
          message: 'gcp-us-central1 is unreachable',
        });
        await expect(
          sim.apply(db, targets.oci, ctx('op0:apply_claim')),
        ).resolves.toBeDefined();

        await sim.liftFault(outage.id);
        await sim.liftFault(cluster.id);
        await expect(
          sim.apply(db, targets.aws, ctx('op1:apply_claim')),
        ).resolves.toMatchObject({ phase: 'provisioning' });
        await expect(sim.liftFault(outage.id)).rejects.toThrow(NotFoundError);
      });

      it('fails a step for the next N calls, then lets it succeed', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.addFault({
          kind: 'step-failure',
          step: 'apply_claim',
          times: 2,
        });
        for (let i = 0; i < 2; i++) {
          const error = await driverErrorOf(
            sim.apply(db, targets.aws, ctx(`op${i}:apply_claim`)),
          );
          expect(error).toMatchObject({
            retryable: false,
            code: 'SimulatedFailure',
          });
          expect(error.message).toMatch(/at step apply_claim/);
        }
        // Another step is not affected, and the third call succeeds.
        await expect(
          sim.apply(db, targets.aws, ctx('op9:provision_target')),
        ).resolves.toBeDefined();
        await expect(
          sim.apply(db, targets.aws, ctx('op3:apply_claim')),
        ).resolves.toBeDefined();
        expect(await sim.listFaults()).toEqual([
          expect.objectContaining({ kind: 'step-failure', remaining: 0 }),
        ]);
      });

      it.each([
        ['configure_networking', 'configureNetworking'],
        ['register_dns', 'registerDns'],
      ] as const)('fails the create saga at %s', async (step, method) => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sim.addFault({ kind: 'step-failure', step, times: 1 });
        const error = await driverErrorOf(
          sim[method](db, targets.aws, ctx(`op1:${step}`)),
        );
        expect(error.retryable).toBe(false);
        await expect(
          sim[method](db, targets.aws, ctx(`op1:${step}`)),
        ).resolves.toBeDefined();
      });

      it('makes wait_ready observe a failed resource', async () => {
        const sim = await driver({ provisioningTime: '10s' });
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sim.addFault({
          kind: 'step-failure',
          step: 'wait_ready',
          times: 1,
          message: 'out of capacity in us-east-1a',
        });
        // The reconciler's observe is another step: not affected.
        expect(
          (await sim.observe(db, targets.aws, ctx(`observe:${db.uid}`))).phase,
        ).toBe('provisioning');
        expect(
          await sim.observe(db, targets.aws, ctx('op1:wait_ready')),
        ).toMatchObject({
          phase: 'failed',
          message: 'out of capacity in us-east-1a',
        });
        // Once only.
        expect(
          (await sim.observe(db, targets.aws, ctx('op1:wait_ready'))).phase,
        ).toBe('provisioning');
      });

      it('fails a compensation: delete for the next N calls', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sim.addFault({
          kind: 'step-failure',
          action: 'delete',
          times: 2,
        });
        for (let i = 0; i < 2; i++) {
          const error = await driverErrorOf(
            sim.delete(db, targets.aws, ctx('op1:apply_claim:compensate')),
          );
          expect(error.retryable).toBe(false);
        }
        await sim.delete(db, targets.aws, ctx('op1:apply_claim:compensate'));
        expect((await sim.observe(db, targets.aws, ctx('op1:x'))).phase).toBe(
          'deleting',
        );
      });

      it('tells a compensation from its step by the token suffix', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sim.addFault({
          kind: 'step-failure',
          step: 'apply_claim:compensate',
        });
        await driverErrorOf(
          sim.delete(db, targets.aws, ctx('op1:apply_claim:compensate')),
        );
        await driverErrorOf(
          sim.delete(db, targets.aws, ctx('op1:apply_claim:compensate')),
        );
        await expect(
          sim.delete(db, targets.aws, ctx('op2:delete_claim')),
        ).resolves.toBeUndefined();
      });

      it('slows down the calls of a named step', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.addFault({
          kind: 'slow-step',
          step: 'apply_claim',
          delay: '150ms',
        });
        let started = Date.now();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        expect(Date.now() - started).toBeGreaterThanOrEqual(145);
        started = Date.now();
        await sim.observe(db, targets.aws, ctx('op1:wait_ready'));
        expect(Date.now() - started).toBeLessThan(140);
      });

      it('stops waiting when the call is aborted', async () => {
        const sim = await driver();
        await sim.addFault({
          kind: 'slow-step',
          step: 'apply_claim',
          delay: { seconds: 30 },
        });
        const controller = new AbortController();
        const call = sim.apply(
          mysql(),
          targets.aws,
          ctx('op1:apply_claim', controller.signal),
        );
        setTimeout(() => controller.abort(new Error('lease lost')), 20);
        await expect(call).rejects.toThrow('lease lost');
        expect((await sim.sideEffects()).tokens).toEqual([]);
      });

      it('adds each provider its latency', async () => {
        const sim = await driver({ latency: { aws: '120ms', default: 0 } });
        const db = mysql();
        let started = Date.now();
        await sim.observe(db, targets.aws, ctx('op1:wait_ready'));
        expect(Date.now() - started).toBeGreaterThanOrEqual(115);
        started = Date.now();
        await sim.observe(db, targets.gcp, ctx('op1:wait_ready'));
        expect(Date.now() - started).toBeLessThan(100);
      });

      it('loses the answer of an applied side effect, and the retry does not apply again', async () => {
        const sim = await driver({ faults: { lostResponseRate: { aws: 1 } } });
        const db = mysql();
        const error = await driverErrorOf(
          sim.apply(db, targets.aws, ctx('op1:apply_claim')),
        );
        expect(error).toMatchObject({
          retryable: true,
          code: 'SimulatedTimeout',
        });
        expect((await sim.state()).claims).toHaveLength(1);
        await sim.setFaults({});
        await expect(
          sim.apply(db, targets.aws, ctx('op1:apply_claim')),
        ).resolves.toMatchObject({ phase: 'provisioning' });
        expect((await sim.sideEffects()).tokens).toEqual([
          expect.objectContaining({ applied: 1, calls: 2 }),
        ]);
      });

      it('drifts the applied parameters out of band; a new apply corrects them', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sleep(PROVISION_MS + 10);
        const drifted = await sim.drift(
          { ref: db.ref },
          { size: 'small', encryption: null },
        );
        expect(drifted).toEqual([
          expect.objectContaining({
            cluster: 'aws-us-east-1',
            driftedAt: expect.any(String),
          }),
        ]);
        const observed = await sim.observe(
          db,
          targets.aws,
          ctx(`observe:${db.uid}`),
        );
        expect(observed.phase).toBe('ready');
        expect(observed.params).toEqual({
          ...db.params,
          size: 'small',
          encryption: undefined,
        });
        expect(observed.params).not.toHaveProperty('encryption');

        await sim.apply(db, targets.aws, ctx('op2:apply_claim'));
        expect(
          (await sim.observe(db, targets.aws, ctx('op2:wait_ready'))).params,
        ).toEqual(db.params);
        await expect(
          sim.drift({ ref: 'resource:default/none' }, { size: 'small' }),
        ).rejects.toThrow(NotFoundError);
      });

      it('degrades a resource and recovers it', async () => {
        const sim = await driver();
        const db = mysql();
        await sim.apply(db, targets.aws, ctx('op1:apply_claim'));
        await sleep(PROVISION_MS + 10);
        await sim.setHealth({ ref: db.ref }, 'degraded', 'replica lag 40s');
        expect(
          await sim.observe(db, targets.aws, ctx(`observe:${db.uid}`)),
        ).toMatchObject({ phase: 'degraded', message: 'replica lag 40s' });
        await sim.setHealth({ ref: db.ref, cluster: 'aws-us-east-1' }, 'ready');
        expect(
          (await sim.observe(db, targets.aws, ctx(`observe:${db.uid}`))).phase,
        ).toBe('ready');
        await expect(
          sim.setHealth(
            { ref: db.ref, cluster: 'gcp-us-central1' },
            'degraded',
          ),
        ).rejects.toThrow(NotFoundError);
      });

      it('installs config faults once, whichever replica starts, and keeps their counts across restarts', async () => {
        const faults = {
          stepFailures: [{ step: 'register_dns', times: 1 }],
          outages: { clusters: ['oci-us-ashburn-1'] },
        };
        const first = await driver({ faults });
        await driver({ faults });
        expect(await first.listFaults()).toHaveLength(2);

        const db = mysql();
        await first.apply(db, targets.aws, ctx('op1:apply_claim'));
        await driverErrorOf(
          first.registerDns(db, targets.aws, ctx('op1:register_dns')),
        );
        // A restart with the same config does not re-arm the consumed failure.
        const restarted = await driver({ faults });
        await expect(
          restarted.registerDns(db, targets.aws, ctx('op1:register_dns')),
        ).resolves.toBeDefined();
        // Config without faults removes them.
        await driver({ faults: {} });
        expect(await first.listFaults()).toEqual([]);
      });

      it('replaces, lists and lifts faults, refusing bad ones with the field named', async () => {
        const sim = await driver();
        const set = await sim.setFaults({
          errorRate: { aws: 0.25 },
          outages: { providers: ['oci'] },
          slowSteps: [{ step: 'wait_ready', delay: 'PT0.2S' }],
        });
        expect(
          set.map(f => [f.kind, f.rate ?? f.provider ?? f.delayMs]),
        ).toEqual([
          ['error-rate', 0.25],
          ['provider-outage', 'oci'],
          ['slow-step', 200],
        ]);
        await expect(sim.setFaults({ errorRate: { aws: 2 } })).rejects.toThrow(
          InputError,
        );
        await expect(sim.setFaults({ errorRate: { aws: 2 } })).rejects.toThrow(
          /errorRate\.aws/,
        );
        await expect(
          sim.addFault({ kind: 'step-failure' } as any),
        ).rejects.toThrow(/step: name the step or the action/);
        expect(await sim.listFaults()).toHaveLength(3);
        expect(await sim.liftAllFaults()).toBe(3);
        expect(await sim.listFaults()).toEqual([]);
      });
    });
  },
);
