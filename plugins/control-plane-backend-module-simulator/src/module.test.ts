import { createBackendPlugin } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ControlPlaneDriver,
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDriversExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import request from 'supertest';
import { ctx, driverErrorOf, mysql, targets } from './__testUtils__/fixtures';
import { controlPlaneModuleSimulator } from './module';
import defaultFeature from './index';

const databases = TestDatabases.create();

/** A stand-in for the control plane plugin: it only collects the drivers modules add. */
function fakeControlPlane(drivers: ControlPlaneDriver[]) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlaneDriversExtensionPoint, {
        addDriver(...added) {
          drivers.push(...added);
        },
      });
      // the simulator adds its cluster driver too
      env.registerExtensionPoint(controlPlaneClusterDriversExtensionPoint, {
        addClusterDriver() {},
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

const auth = { Authorization: mockCredentials.user.header() };
const base = '/api/control-plane/simulator';

describe.each(databases.eachSupportedId())(
  'the simulator module on %s',
  databaseId => {
    async function start(
      simulator: JsonObject = {},
      extra: Parameters<typeof startTestBackend>[0]['features'] = [],
    ) {
      const drivers: ControlPlaneDriver[] = [];
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          fakeControlPlane(drivers),
          controlPlaneModuleSimulator,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              controlPlane: {
                simulator: {
                  provisioningTime: '30ms',
                  latency: { default: 0 },
                  ...simulator,
                },
              },
            },
          }),
          ...(extra ?? []),
        ],
      });
      const server = backend.server;
      return { backend, server, drivers, driver: drivers[0] };
    }

    it('is the default export of the package', () => {
      expect(defaultFeature).toBe(controlPlaneModuleSimulator);
    });

    it('adds the simulated driver, configured from controlPlane.simulator', async () => {
      // Long enough that the claim is still provisioning when the state is read.
      const { backend, server, drivers, driver } = await start({
        provisioningTime: '1h',
        deprovisioningTime: { milliseconds: 20 },
        faults: { errorRate: { oci: 1 } },
      });
      expect(drivers.map(d => d.id)).toEqual(['simulated']);
      const db = mysql();
      await driver.apply(db, targets.aws, ctx('op1:apply_claim'));
      const oci = await driverErrorOf(
        driver.apply(db, targets.oci, ctx('op2:apply_claim')),
      );
      expect(oci.message).toBe('simulated 503 from oci');

      const res = await request(server).get(`${base}/state`).set(auth);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        simulated: true,
        driver: 'simulated',
        settings: {
          provisioningMs: 3_600_000,
          deprovisioningMs: 20,
          latencyMs: { default: 0 },
        },
        claims: [
          expect.objectContaining({
            ref: db.ref,
            cluster: 'aws-us-east-1',
            phase: 'provisioning',
          }),
        ],
        faults: [
          expect.objectContaining({
            kind: 'error-rate',
            provider: 'oci',
            rate: 1,
            source: 'config',
          }),
        ],
        sideEffects: { totals: { apply: 1 } },
      });
      await backend.stop();
    });

    it('stays out of the way when disabled', async () => {
      const { backend, server, drivers } = await start({ enabled: false });
      expect(drivers).toEqual([]);
      expect(
        (await request(server).get(`${base}/state`).set(auth)).status,
      ).toBe(404);
      await backend.stop();
    });

    it('refuses to start on bad config, naming the key', async () => {
      await expect(
        start({ faults: { errorRate: { aws: 7 } } }),
      ).rejects.toThrow(/controlPlane\.simulator\.faults\.errorRate\.aws/);
    });

    it('replaces, adds, lists and lifts faults', async () => {
      const { backend, server, driver } = await start();
      const put = await request(server)
        .put(`${base}/faults`)
        .set(auth)
        .send({
          outages: { providers: ['aws'] },
          stepFailures: [{ step: 'register_dns', times: 2 }],
        });
      expect(put.status).toBe(200);
      expect(put.body.items.map((f: any) => f.kind)).toEqual([
        'provider-outage',
        'step-failure',
      ]);
      const outage = await driverErrorOf(
        driver.apply(mysql(), targets.aws, ctx('op1:apply_claim')),
      );
      expect(outage.retryable).toBe(true);

      const added = await request(server)
        .post(`${base}/faults`)
        .set(auth)
        .send({
          kind: 'slow-step',
          step: 'wait_ready',
          delay: '2s',
          cluster: 'gcp-us-central1',
        });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({
        id: expect.any(String),
        delayMs: 2000,
        source: 'api',
      });

      const listed = await request(server).get(`${base}/faults`).set(auth);
      expect(listed.body.items).toHaveLength(3);

      expect(
        (
          await request(server)
            .delete(`${base}/faults/${added.body.id}`)
            .set(auth)
        ).status,
      ).toBe(204);
      expect(
        (
          await request(server)
            .delete(`${base}/faults/${added.body.id}`)
            .set(auth)
        ).status,
      ).toBe(404);
      const lifted = await request(server).delete(`${base}/faults`).set(auth);
      expect(lifted.body).toEqual({ lifted: 2 });
      await expect(
        driver.apply(mysql(), targets.aws, ctx('op1:apply_claim')),
      ).resolves.toMatchObject({ phase: 'provisioning' });
      await backend.stop();
    });

    it('drifts a resource and degrades it, as observe then reports', async () => {
      const { backend, server, driver } = await start({ provisioningTime: 0 });
      const db = mysql();
      await driver.apply(db, targets.aws, ctx('op1:apply_claim'));

      const drift = await request(server)
        .post(`${base}/drift`)
        .set(auth)
        .send({
          namespace: 'default',
          name: db.name,
          params: { size: 'xlarge' },
        });
      expect(drift.status).toBe(200);
      expect(drift.body.items).toEqual([
        expect.objectContaining({
          cluster: 'aws-us-east-1',
          params: expect.objectContaining({ size: 'xlarge' }),
        }),
      ]);
      expect(
        (await driver.observe(db, targets.aws, ctx(`observe:${db.uid}`)))
          .params,
      ).toEqual({ ...db.params, size: 'xlarge' });

      const health = await request(server)
        .post(`${base}/health`)
        .set(auth)
        .send({ ref: db.ref, phase: 'degraded', message: 'disk latency' });
      expect(health.status).toBe(200);
      expect(
        await driver.observe(db, targets.aws, ctx(`observe:${db.uid}`)),
      ).toMatchObject({ phase: 'degraded', message: 'disk latency' });
      await request(server)
        .post(`${base}/health`)
        .set(auth)
        .send({ ref: db.ref, phase: 'ready' });
      expect(
        (await driver.observe(db, targets.aws, ctx(`observe:${db.uid}`))).phase,
      ).toBe('ready');

      const unknown = await request(server)
        .post(`${base}/drift`)
        .set(auth)
        .send({ ref: 'resource:default/nobody', params: { size: 'small' } });
      expect(unknown.status).toBe(404);

      const effects = await request(server)
        .get(`${base}/side-effects?operationId=op1`)
        .set(auth);
      expect(effects.body.tokens).toEqual([
        expect.objectContaining({ token: 'op1:apply_claim', applied: 1 }),
      ]);
      await backend.stop();
    });

    it.each<[string, string, string, unknown, RegExp]>([
      [
        'drift without params',
        'post',
        'drift',
        { ref: 'resource:default/db' },
        /params/,
      ],
      [
        'drift with empty params',
        'post',
        'drift',
        { ref: 'resource:default/db', params: {} },
        /params: name at least one/,
      ],
      [
        'drift of no resource',
        'post',
        'drift',
        { params: { size: 'small' } },
        /ref: give either ref, or namespace and name/,
      ],
      [
        'drift by ref and name',
        'post',
        'drift',
        {
          ref: 'resource:default/db',
          name: 'db',
          namespace: 'x',
          params: { a: 1 },
        },
        /ref/,
      ],
      [
        'drift of a bad ref',
        'post',
        'drift',
        { ref: 'db', params: { a: 1 } },
        /ref: must be a resource ref/,
      ],
      [
        'drift with an unknown field',
        'post',
        'drift',
        { ref: 'resource:default/db', params: { a: 1 }, colour: 'red' },
        /colour/,
      ],
      [
        'health with an unknown phase',
        'post',
        'health',
        { ref: 'resource:default/db', phase: 'sideways' },
        /phase/,
      ],
      [
        'faults with a rate above 1',
        'put',
        'faults',
        { errorRate: { aws: 2 } },
        /errorRate\.aws/,
      ],
      [
        'faults with a bad delay',
        'put',
        'faults',
        { slowSteps: [{ step: 'apply_claim', delay: 'soon' }] },
        /slowSteps\.0\.delay: not a duration/,
      ],
      [
        'a fault of no known kind',
        'post',
        'faults',
        { kind: 'meteor' },
        /kind/,
      ],
      [
        'a step failure naming nothing',
        'post',
        'faults',
        { kind: 'step-failure', times: 1 },
        /step: name the step or the action/,
      ],
      [
        'a step failure of zero times',
        'post',
        'faults',
        { kind: 'step-failure', step: 'apply_claim', times: 0 },
        /times/,
      ],
    ])(
      'answers 400 naming the field: %s',
      async (_, method, path, body, message) => {
        const { backend, server } = await start();
        const res = await (request(server) as any)
          [method](`${base}/${path}`)
          .set(auth)
          .send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.name).toBe('InputError');
        expect(res.body.error.message).toMatch(message);
        // A bad request changes nothing.
        expect(
          (await request(server).get(`${base}/faults`).set(auth)).body.items,
        ).toEqual([]);
        await backend.stop();
      },
    );

    it('answers 400 to a bad query and to a body that is not JSON', async () => {
      const { backend, server } = await start();
      const query = await request(server)
        .get(`${base}/state?ref=nope`)
        .set(auth);
      expect(query.status).toBe(400);
      expect(query.body.error.message).toMatch(/ref/);
      const garbled = await request(server)
        .put(`${base}/faults`)
        .set(auth)
        .set('Content-Type', 'application/json')
        .send('{"errorRate": ');
      expect(garbled.status).toBe(400);
      await backend.stop();
    });

    it('answers 403 to whoever may not manage providers, and changes nothing', async () => {
      const { backend, server, driver } = await start({}, [
        mockServices.permissions.factory({ result: AuthorizeResult.DENY }),
      ]);
      const db = mysql();
      await driver.apply(db, targets.aws, ctx('op1:apply_claim'));
      const calls = [
        request(server).get(`${base}/state`),
        request(server).get(`${base}/faults`),
        request(server).get(`${base}/side-effects`),
        request(server)
          .put(`${base}/faults`)
          .send({ outages: { providers: ['aws'] } }),
        request(server)
          .post(`${base}/faults`)
          .send({ kind: 'provider-outage', provider: 'aws' }),
        request(server).delete(`${base}/faults`),
        request(server)
          .post(`${base}/drift`)
          .send({ ref: db.ref, params: { size: 'small' } }),
        request(server)
          .post(`${base}/health`)
          .send({ ref: db.ref, phase: 'degraded' }),
      ];
      for (const call of calls) {
        const res = await call.set(auth);
        expect(res.status).toBe(403);
        expect(res.body.error.name).toBe('NotAllowedError');
      }
      const observed = await driver.observe(
        db,
        targets.aws,
        ctx('op1:wait_ready'),
      );
      expect(observed.params).toEqual(db.params);
      await expect(
        driver.apply(mysql(), targets.aws, ctx('op2:apply_claim')),
      ).resolves.toBeDefined();
      await backend.stop();
    });
  },
);
