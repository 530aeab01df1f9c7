import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory, { Knex } from 'knex';
import {
  ctx,
  DEPROVISION_MS,
  driverErrorOf,
  eventually,
  logger,
  mysql,
  PROVISION_MS,
  simulatedDriverOn,
  sleep,
  targets,
} from './__testUtils__/fixtures';
import { isPostgres } from './database/migrations';
import { SimulatedDriver } from './SimulatedDriver';

const databases = TestDatabases.create();

describe.each(databases.eachSupportedId())(
  'SimulatedDriver on %s',
  databaseId => {
    const { driver, knex } = simulatedDriverOn(databases, databaseId);
    const extraPools: Knex[] = [];

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
        let otherKnex = knex();
        if (isPostgres(otherKnex)) {
          otherKnex = knexFactory(otherKnex.client.config);
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
  },
);
