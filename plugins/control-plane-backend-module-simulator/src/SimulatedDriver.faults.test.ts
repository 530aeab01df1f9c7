import { TestDatabases } from '@backstage/backend-test-utils';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  ctx,
  driverErrorOf,
  mysql,
  PROVISION_MS,
  simulatedDriverOn,
  sleep,
  targets,
} from './__testUtils__/fixtures';

const databases = TestDatabases.create();

describe.each(databases.eachSupportedId())(
  'SimulatedDriver faults on %s',
  databaseId => {
    const { driver } = simulatedDriverOn(databases, databaseId);

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
