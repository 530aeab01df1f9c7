import { createServiceFactory } from '@backstage/backend-plugin-api';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  NotificationSendOptions,
  notificationService,
} from '@backstage/plugin-notifications-node';
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

const simulatorConfig = {
  provisioningTime: { milliseconds: 40 },
  deprovisioningTime: { milliseconds: 20 },
  latency: { default: 0 },
};

async function start(
  databaseId: Parameters<TestDatabases['init']>[0],
  simulator = simulatorConfig,
) {
  return startControlPlane(databases, databaseId, {
    orchestration: true,
    features: [simulatorModule],
    controlPlane: { simulator },
  });
}

const api = (cp: ControlPlaneTest) => {
  const as = authAs(users.ana);
  return {
    create: (body: object) =>
      request(cp.server)
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send(body),
    get: (ref: string) =>
      request(cp.server)
        .get(`/api/control-plane/resources/${ref}`)
        .set('authorization', as),
    operations: (ref: string) =>
      request(cp.server)
        .get(`/api/control-plane/resources/${ref}/operations`)
        .set('authorization', as),
    operation: (id: string) =>
      request(cp.server)
        .get(`/api/control-plane/operations/${id}`)
        .set('authorization', as),
    sim: (
      method: 'get' | 'put' | 'post' | 'delete',
      path: string,
      body?: object,
    ) =>
      request(cp.server)
        [method](`/api/control-plane/simulator${path}`)
        .set('authorization', as)
        .send(body),
  };
};

const stateOf = async (cp: ControlPlaneTest, ref: string) =>
  (await api(cp).get(ref)).body.status?.state;

const untilState = (cp: ControlPlaneTest, name: string, state: string) =>
  until(
    async () => (await stateOf(cp, `default/${name}`)) === state,
    `${name} ${state}`,
  );

const mysql = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
};
const redis = {
  name: 'sessions',
  product: 'redis',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
};
const webapp = {
  name: 'checkout',
  product: 'webapp',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { image: 'ghcr.io/acme/checkout', version: '1.0.0' },
  dependsOn: ['orders-db', 'sessions'],
};

const CREATE_STEPS = [
  'validate',
  'schedule',
  'apply_claim',
  'wait_ready',
  'configure_networking',
  'register_dns',
  'notify',
];

describe.each(databases.eachSupportedId())(
  'orchestration on %s',
  databaseId => {
    let cp: ControlPlaneTest;
    afterEach(() => cp?.cleanup());

    it('provisions a webapp after the mysql and redis it depends on, which go in parallel', async () => {
      cp = await start(databaseId);
      const a = api(cp);
      // One commit (idp apply -f): the reconciler starts what it can at once.
      const manifest = (spec: Record<string, unknown>) => {
        const { name, ...rest } = spec;
        return JSON.stringify({
          apiVersion: 'idp.multicloud/v1',
          kind: 'Resource',
          metadata: { name },
          spec: rest,
        });
      };
      await request(cp.server)
        .post('/api/control-plane/manifests/apply')
        .set('authorization', authAs(users.ana))
        .send({ yaml: [mysql, redis, webapp].map(manifest).join('\n---\n') })
        .expect(200);

      for (const name of ['orders-db', 'sessions', 'checkout']) {
        await untilState(cp, name, 'READY');
      }
      const [db, cache, web] = await Promise.all(
        ['orders-db', 'sessions', 'checkout'].map(async name => {
          const [op] = (await a.operations(`default/${name}`)).body.items;
          return (await a.operation(op.id)).body;
        }),
      );
      for (const op of [db, cache, web]) {
        expect(op).toMatchObject({ type: 'create', state: 'succeeded' });
        expect(op.steps.map((s: any) => [s.name, s.state])).toEqual(
          CREATE_STEPS.map(s => [s, 'succeeded']),
        );
        const started = op.timeline
          .filter((e: any) => e.type === 'step.started')
          .map((e: any) => e.step);
        const finished = op.timeline
          .filter((e: any) => e.type === 'step.succeeded')
          .map((e: any) => e.step);
        expect(started).toEqual(CREATE_STEPS);
        expect(finished).toEqual(CREATE_STEPS);
        // in order, with the resource's moves it caused, from acceptance to success
        const types = op.timeline.map((e: any) => e.type);
        expect(types[0]).toBe('operation.accepted');
        expect(types.at(-1)).toBe('operation.succeeded');
        expect(
          op.timeline
            .filter((e: any) => e.type === 'state.changed')
            .map((e: any) => e.message.split(':')[0]),
        ).toEqual(['PENDING → PROVISIONING', 'PROVISIONING → READY']);
        expect(types.indexOf('state.changed')).toBeLessThan(
          types.indexOf('step.started'),
        );
      }
      const startOf = (op: any) => Date.parse(op.steps[0].startedAt);
      const endOf = (op: any) =>
        Date.parse(op.steps[op.steps.length - 1].finishedAt);
      // mysql and redis overlapped; the webapp started after both were done
      expect(startOf(db)).toBeLessThan(endOf(cache));
      expect(startOf(cache)).toBeLessThan(endOf(db));
      expect(startOf(web)).toBeGreaterThanOrEqual(
        Math.max(endOf(db), endOf(cache)),
      );

      const resource = (await a.get('default/checkout')).body;
      expect(resource.status).toMatchObject({
        state: 'READY',
        observedGeneration: 1,
        placement: {
          cell: 'cell-us',
          provider: expect.any(String),
          cluster: expect.any(String),
        },
        version: '1.0.0',
      });
      const placement = await request(cp.server)
        .get('/api/control-plane/resources/default/checkout/history')
        .set('authorization', authAs(users.ana));
      expect(placement.body.transitions.map((t: any) => t.to)).toEqual([
        'PENDING',
        'PROVISIONING',
        'READY',
      ]);
    });

    it.each(
      // every step of the provisioning saga, with the steps that completed before it
      CREATE_STEPS.map((step, k) => [step, CREATE_STEPS.slice(0, k)] as const),
    )(
      'a fault at %s compensates the completed steps in reverse, each once; the resource ends FAILED',
      async (step, completed: readonly string[]) => {
        cp = await start(databaseId, {
          ...simulatorConfig,
          faults: { stepFailures: [{ step, times: 1 }] },
        } as any);
        const a = api(cp);
        await a.create(mysql).expect(201);
        await until(
          async () => (await stateOf(cp, 'default/orders-db')) === 'FAILED',
          'FAILED',
        );

        const [summary] = (await a.operations('default/orders-db')).body.items;
        const op = (await a.operation(summary.id)).body;
        expect(op.state).toBe('compensated');
        const byName = Object.fromEntries(
          op.steps.map((s: any) => [s.name, s]),
        );
        expect(byName[step].state).toBe('compensated'); // the failed step itself is undone too
        for (const name of completed)
          expect(byName[name].state).toBe('compensated');
        expect(op.steps).toHaveLength(completed.length + 1);

        // Steps with a side effect to undo are compensated, last first.
        const undoable = [
          'schedule',
          'apply_claim',
          'configure_networking',
          'register_dns',
        ];
        const compensations = op.timeline
          .filter((e: any) => e.type === 'step.compensated')
          .map((e: any) => e.step);
        expect(compensations).toEqual(
          [...completed, step].filter(s => undoable.includes(s)).reverse(),
        );
        const resource = (await a.get('default/orders-db')).body;
        expect(resource.status.reason).toContain(`${step}:`);

        // Nothing is left behind in the cloud, and no side effect was applied twice.
        const state = (await a.sim('get', '/state')).body;
        expect(state.claims).toEqual([]);
        expect(state.networking).toEqual([]);
        expect(state.dnsRecords).toEqual([]);
        // Each side effect was performed once (the simulator counts every time it performs
        // one, whatever the token), and each step that ran was undone (the failed one too).
        const effects = (
          await a.sim('get', `/side-effects?operationId=${op.id}`)
        ).body;
        for (const effect of effects.tokens) expect(effect.applied).toBe(1);
        const performed = Object.fromEntries(
          effects.performed.map((e: any) => [e.action, e.applied]),
        );
        const did = (s: string) => completed.includes(s);
        const ran = (s: string) => did(s) || s === step;
        expect(performed).toEqual({
          ...(did('apply_claim') ? { apply: 1 } : {}),
          ...(ran('apply_claim') ? { delete: 1 } : {}),
          ...(did('configure_networking') ? { configureNetworking: 1 } : {}),
          ...(ran('configure_networking') ? { removeNetworking: 1 } : {}),
          ...(did('register_dns') ? { registerDns: 1 } : {}),
          ...(ran('register_dns') ? { deregisterDns: 1 } : {}),
        });
      },
    );

    it('parks an operation whose compensation keeps failing, with an alert; a retry finishes it', async () => {
      cp = await start(databaseId, {
        ...simulatorConfig,
        faults: {
          stepFailures: [
            { step: 'register_dns', times: 1 },
            { step: 'apply_claim:compensate' },
          ],
        },
      } as any);
      const a = api(cp);
      await a.create(mysql).expect(201);
      const op = await until(
        async () => {
          const [o] = (await a.operations('default/orders-db')).body.items;
          return o?.state === 'needs-attention' ? o : undefined;
        },
        'needs-attention',
        60_000,
      );
      const details = (await a.operation(op.id)).body;
      expect(details.error).toContain('compensation of apply_claim failed');
      expect(details.timeline).toContainEqual(
        expect.objectContaining({
          type: 'operation.needs-attention',
          data: expect.objectContaining({ alert: true }),
        }),
      );
      expect(
        details.steps.find((s: any) => s.name === 'apply_claim')
          .compensationAttempts,
      ).toBe(5);

      await a.sim('delete', '/faults').expect(200);
      await request(cp.server)
        .post(`/api/control-plane/operations/${op.id}/retry`)
        .set('authorization', authAs(users.ana))
        .expect(202);
      await until(
        async () => (await a.operation(op.id)).body.state === 'compensated',
        'compensated',
      );
      expect((await a.sim('get', '/state')).body.claims).toEqual([]);
      expect(await stateOf(cp, 'default/orders-db')).toBe('FAILED');
    });

    it('retries a lost answer with the same token, applying the side effect once', async () => {
      cp = await start(databaseId, {
        ...simulatorConfig,
        faults: { lostResponseRate: { aws: 1, gcp: 1, azure: 1, oci: 1 } },
      } as any);
      const a = api(cp);
      await a.create({ ...redis, tier: 'low' }).expect(201);
      // every side effect's answer is lost once... then lift the fault so retries can answer
      await until(async () => {
        const [o] = (await a.operations('default/sessions')).body.items;
        return (
          o &&
          (await a.operation(o.id)).body.timeline.some(
            (e: any) => e.type === 'step.retried',
          )
        );
      }, 'a retry');
      await a.sim('delete', '/faults').expect(200);
      await until(
        async () => (await stateOf(cp, 'default/sessions')) === 'READY',
        'READY',
      );
      const effects = (await a.sim('get', '/side-effects')).body;
      for (const effect of effects.tokens) expect(effect.applied).toBe(1);
      expect(effects.tokens.some((e: any) => e.calls > 1)).toBe(true);
    });

    /** Declares the built-in redis again in the state repo, with retry limits of its own. */
    async function redisWithRetries(retries: Record<string, number>) {
      const { id, source, ...spec } = (
        await request(cp.server)
          .get('/api/control-plane/products/redis')
          .set('authorization', authAs(users.ana))
          .expect(200)
      ).body;
      expect([id, source]).toEqual(['redis', 'builtin']);
      await request(cp.server)
        .post('/api/control-plane/manifests/apply')
        .set('authorization', authAs(users.ana))
        .send({
          yaml: JSON.stringify({
            apiVersion: 'idp.multicloud/v1',
            kind: 'Product',
            metadata: { name: 'redis' },
            spec: { ...spec, retries },
          }),
        })
        .expect(200);
    }

    const failedOperation = async (ref: string) => {
      await until(
        async () => (await stateOf(cp, ref)) === 'FAILED',
        `${ref} FAILED`,
      );
      const [summary] = (await api(cp).operations(ref)).body.items;
      return (await api(cp).operation(summary.id)).body;
    };

    it("times a step out after the product's step timeout, retries it up to the product's attempts (over the tier's), then compensates", async () => {
      cp = await start(databaseId, {
        ...simulatorConfig,
        faults: { slowSteps: [{ step: 'apply_claim', delay: 2500 }] },
      } as any);
      // tier medium allows 6 attempts of 600 s each
      await redisWithRetries({ maxAttempts: 2, stepTimeoutSeconds: 1 });
      await api(cp).create(redis).expect(201);
      const op = await failedOperation('default/sessions');
      expect(op.state).toBe('compensated');
      expect(op.error).toBe('apply_claim: apply_claim timed out after 1000 ms');
      const step = op.steps.find((s: any) => s.name === 'apply_claim');
      expect(step).toMatchObject({ state: 'compensated', attempts: 2 });
      expect(
        op.timeline
          .filter((e: any) => e.type === 'step.retried')
          .map((e: any) => [e.step, e.data.attempt]),
      ).toEqual([['apply_claim', 1]]);
      // the slow calls were cut off: nothing of them was applied in the cloud
      const effects = (
        await api(cp).sim('get', `/side-effects?operationId=${op.id}`)
      ).body;
      expect(effects.performed.map((e: any) => e.action)).toEqual(['delete']);
      expect((await api(cp).sim('get', '/state')).body.claims).toEqual([]);
    });

    it('a failed update of a running database keeps it: its claim is not deleted by the compensation', async () => {
      cp = await start(databaseId);
      const a = api(cp);
      await a.create(mysql).expect(201);
      await untilState(cp, 'orders-db', 'READY');
      await a
        .sim('post', '/faults', {
          kind: 'step-failure',
          step: 'wait_ready',
          times: 1,
        })
        .expect(201);
      await request(cp.server)
        .patch('/api/control-plane/resources/default/orders-db')
        .set('authorization', authAs(users.ana))
        .send({ params: { size: 'large' } })
        .expect(res => expect(res.status).toBeLessThan(300));
      const update = await until(async () => {
        const o = (await a.operations('default/orders-db')).body.items.find(
          (x: any) => x.type === 'update',
        );
        return o?.state === 'compensated' ? o : undefined;
      }, 'update compensated');
      expect((await a.operation(update.id)).body.error).toContain('wait_ready');
      // the database still runs where it ran, and nothing deleted it
      expect((await a.sim('get', '/state')).body.claims).toHaveLength(1);
      const effects = (
        await a.sim('get', `/side-effects?operationId=${update.id}`)
      ).body;
      expect(effects.performed.map((e: any) => e.action)).toEqual(['apply']);
    });

    it("tells the resource's owner it is ready, through Backstage's notifications", async () => {
      const sent: NotificationSendOptions[] = [];
      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [
          simulatorModule,
          createServiceFactory({
            service: notificationService,
            deps: {},
            factory: () => ({
              send: async (options: NotificationSendOptions) => {
                sent.push(options);
              },
            }),
          }),
        ],
        controlPlane: { simulator: simulatorConfig },
      });
      await api(cp).create(mysql).expect(201);
      await untilState(cp, 'orders-db', 'READY');
      await until(async () => sent.length > 0, 'a notification');
      expect(sent).toEqual([
        {
          recipients: { type: 'entity', entityRef: 'group:default/payments' },
          payload: expect.objectContaining({
            title: expect.stringMatching(
              /^resource:default\/orders-db is ready at orders-db\.default\./,
            ),
            link: '/catalog/default/resource/orders-db',
            topic: 'control-plane.resource-ready',
          }),
        },
      ]);
    });

    it('cancelling an operation compensates it', async () => {
      cp = await start(databaseId, {
        ...simulatorConfig,
        faults: { slowSteps: [{ step: 'wait_ready', delay: 1500 }] },
      } as any);
      const a = api(cp);
      await a.create(mysql).expect(201);
      const op = await until(async () => {
        const [o] = (await a.operations('default/orders-db')).body.items;
        return o &&
          (await a.operation(o.id)).body.steps.some(
            (s: any) => s.name === 'wait_ready',
          )
          ? o
          : undefined;
      }, 'wait_ready started');
      await request(cp.server)
        .post(`/api/control-plane/operations/${op.id}/cancel`)
        .set('authorization', authAs(users.ana))
        .expect(202);
      await until(
        async () => (await a.operation(op.id)).body.state === 'cancelled',
        'cancelled',
      );
      expect(await stateOf(cp, 'default/orders-db')).toBe('FAILED');
      expect((await a.sim('get', '/state')).body.claims).toEqual([]);
    });

    it('finds drift in the next pass and corrects it, or only reports it under warn', async () => {
      cp = await start(databaseId);
      const a = api(cp);
      await a.create(mysql).expect(201);
      await a.create({ ...redis, driftPolicy: 'warn' }).expect(201);
      for (const name of ['orders-db', 'sessions']) {
        await untilState(cp, name, 'READY');
      }
      await a
        .sim('post', '/drift', {
          ref: 'resource:default/orders-db',
          params: { size: 'small' },
        })
        .expect(200);
      await a
        .sim('post', '/drift', {
          ref: 'resource:default/sessions',
          params: { persistence: 'none' },
        })
        .expect(200);

      const pass = await request(cp.server)
        .post('/api/control-plane/reconciler/run')
        .set('authorization', authAs(users.ana))
        .send({ drift: true });
      expect(pass.status).toBe(200);
      expect(pass.body.drift.drifted).toEqual(
        expect.arrayContaining([
          {
            ref: 'resource:default/orders-db',
            fields: ['size'],
            corrected: true,
          },
          {
            ref: 'resource:default/sessions',
            fields: ['persistence'],
            corrected: false,
          },
        ]),
      );

      // corrected: an update re-applies the desired size
      await until(async () => {
        const claim = (
          await a.sim('get', '/state?ref=resource:default/orders-db')
        ).body.claims[0];
        return claim?.params.size === 'medium';
      }, 'size corrected');
      // warn: reported, not changed
      const sessions = (await a.get('default/sessions')).body;
      expect(sessions.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Drifted',
          status: 'True',
          reason: 'Reported',
        }),
      );
      const claim = (await a.sim('get', '/state?ref=resource:default/sessions'))
        .body.claims[0];
      expect(claim.params.persistence).toBe('none');
      const audit = await request(cp.server)
        .get('/api/control-plane/audit?action=resource.drift')
        .set('authorization', authAs(users.ana));
      expect(audit.body.items.map((e: any) => e.target).sort()).toEqual([
        'resource:default/orders-db',
        'resource:default/sessions',
      ]);
    });

    it('deletes in reverse dependency order and forgets the resources', async () => {
      cp = await start(databaseId);
      const a = api(cp);
      await a.create(mysql).expect(201);
      await a.create({ ...webapp, dependsOn: ['orders-db'] }).expect(201);
      await until(
        async () => (await stateOf(cp, 'default/checkout')) === 'READY',
        'READY',
      );
      await request(cp.server)
        .delete('/api/control-plane/resources/default/orders-db?cascade=true')
        .set('authorization', authAs(users.ana))
        .expect(202);
      await until(
        async () => (await a.get('default/orders-db')).status === 404,
        'orders-db gone',
      );
      const history = async (name: string) =>
        (
          await cp
            .knex('resource_transitions')
            .join(
              'resources',
              'resources.uid',
              'resource_transitions.resource_uid',
            )
            .where('resources.name', name)
            .andWhere('to_state', 'DELETED')
            .first('resource_transitions.created_at')
        ).created_at;
      expect(Date.parse(await history('checkout'))).toBeLessThanOrEqual(
        Date.parse(await history('orders-db')),
      );
      expect((await a.sim('get', '/state')).body.claims).toEqual([]);
    });
  },
);
