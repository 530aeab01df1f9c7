import { TestDatabases } from '@backstage/backend-test-utils';
import { SimulatedDriver } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  ControlPlaneDriver,
  DriverCallContext,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { Duration } from 'luxon';
import { createTestControlPlane } from '../__testUtils__/controlPlane';
import { ControlPlane } from '../controlPlane';
import { SagaEngine } from './SagaEngine';
import { LeaseLostError, SagaStore } from '../operations/SagaStore';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

/**
 * The simulator, with a gate: while `hold` is set, the next `apply` waits for it (a worker
 * frozen in the middle of a step, as a GC pause or SIGSTOP would leave it).
 */
class GatedDriver {
  hold?: Promise<void>;
  entered?: () => void;
  /** The trace id of each `apply` call. */
  readonly applyTraces: Array<string | undefined> = [];

  constructor(readonly inner: SimulatedDriver) {}

  asDriver(): ControlPlaneDriver {
    const inner = this.inner;
    return Object.assign(Object.create(inner) as ControlPlaneDriver, {
      apply: async (
        resource: DriverResource,
        target: DriverTarget,
        ctx: DriverCallContext,
      ) => {
        this.applyTraces.push(ctx.traceId);
        const hold = this.hold;
        this.hold = undefined;
        if (hold) {
          this.entered?.();
          await hold;
        }
        return inner.apply(resource, target, ctx);
      },
    });
  }
}

describe.each(databases.eachSupportedId())('SagaEngine on %s', databaseId => {
  let knex: Knex;
  let cp: ControlPlane;
  let gated: GatedDriver;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const t = await createTestControlPlane(databases, databaseId, {
      wrap: simulator => {
        gated = new GatedDriver(simulator);
        return gated.asDriver();
      },
    });
    ({ knex, cp, cleanup } = t);
    // The engine's loops are not started: each test claims and runs by hand.
    await t.request({ name: 'orders-db', product: 'mysql' });
    await cp.reconciler.pass();
  });

  afterEach(() => cleanup());

  it('records each step started once, from the claim to the end', async () => {
    const [op] = await cp.engine.claim(1);
    expect(op).toMatchObject({ type: 'create' });
    await cp.engine.execute(op);

    const details = await cp.operations.get(op.id);
    expect(details.state).toBe('succeeded');
    expect(details.steps).toHaveLength(7);
    expect(
      details.timeline.filter(e => e.type === 'step.started').map(e => e.step),
    ).toEqual(details.steps.map(s => s.name));
    expect(details.timeline.map(e => e.type)).not.toContain('step.resumed');
  });

  it('gives an operation accepted without a trace id one, which its record and driver calls carry', async () => {
    await knex('operations').update({ trace_id: null });
    const [op] = await cp.engine.claim(1);
    expect(op.traceId).toMatch(/^[0-9a-f]{32}$/);
    await cp.engine.execute(op);

    const details = await cp.operations.get(op.id);
    expect(details).toMatchObject({ state: 'succeeded', traceId: op.traceId });
    expect(gated.applyTraces).toEqual([op.traceId]);
  });

  it('claims an operation whose start the claim cannot record, and starts it in the run', async () => {
    // (on PostgreSQL the claim never records it: there this is the ordinary path)
    let failures = 1;
    const resources = Object.create(cp.resources) as typeof cp.resources;
    resources.getByUid = async (uid, trx) => {
      if (trx && failures-- > 0) throw new Error('the database hiccuped');
      return cp.resources.getByUid(uid, trx);
    };
    const engine = new SagaEngine({ ...cp.engine.options, resources });
    const [op] = await engine.claim(1);
    failures = 0; // a hiccup of the claim only
    expect(op).toMatchObject({ type: 'create' });
    expect(op.begun).toBeFalsy();
    // the claim stood without the start: nobody else can take the operation
    expect(await cp.engine.claim(1)).toEqual([]);
    await engine.execute(op);
    const details = await cp.operations.get(op.id);
    expect(details.state).toBe('succeeded');
    expect(details.steps.every(s => s.attempts === 1)).toBe(true);
  });

  it('refuses every write of a paused worker whose lease was taken over; nothing it did lands', async () => {
    // Worker A claims with a short lease, and its heartbeat would come only in an hour:
    // frozen inside apply_claim, it outlives its lease.
    const stale = new SagaEngine({
      ...cp.engine.options,
      store: new SagaStore(knex, Duration.fromMillis(200)),
      lease: Duration.fromObject({ hours: 3 }),
    });
    let release!: () => void;
    gated.hold = new Promise<void>(r => {
      release = r;
    });
    const entered = new Promise<void>(r => {
      gated.entered = r;
    });
    const [opA] = await stale.options.store.claim(stale.workerId, 1);
    const runA = stale.execute(opA);
    await entered;
    await new Promise(r => setTimeout(r, 300));

    // Worker B takes the run over (a new fencing token) and finishes it.
    const [opB] = await cp.engine.options.store.claim(cp.engine.workerId, 1);
    expect(opB).toMatchObject({ id: opA.id });
    expect(opB.fencingToken).toBeGreaterThan(opA.fencingToken);
    await cp.engine.execute(opB);
    const done = await cp.operations.get(opA.id);
    expect(done.state).toBe('succeeded');
    const steps = await knex('operation_steps')
      .where({ operation_id: opA.id })
      .orderBy('position');
    const events = await knex('resource_events').where({
      operation_id: opA.id,
    });
    const resource = await knex('resources')
      .where({ uid: opA.resourceUid })
      .first();

    // A wakes up and carries on: its apply answers (a replay of B's), its record is refused.
    release();
    await runA;
    // and so is any other write it tries: a step's failure, or the next step's start
    const apply = done.steps.findIndex(s => s.name === 'apply_claim');
    await expect(
      stale.options.store.failStep(
        opA,
        { position: apply, name: 'apply_claim' },
        { error: 'must not land', attempts: 1 },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      stale.options.store.startStep(opA, {
        position: apply + 1,
        name: done.steps[apply + 1].name,
        attempt: 1,
        after: { position: apply, name: 'apply_claim', result: null },
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);

    expect(
      await knex('operation_steps')
        .where({ operation_id: opA.id })
        .orderBy('position'),
    ).toEqual(steps);
    expect(
      await knex('resource_events').where({ operation_id: opA.id }),
    ).toEqual(events);
    expect(
      await knex('resources').where({ uid: opA.resourceUid }).first(),
    ).toEqual(resource);
    expect((await cp.operations.get(opA.id)).state).toBe('succeeded');
    // one step.succeeded per step: B's
    expect(
      done.timeline.filter(e => e.type === 'step.succeeded').map(e => e.step),
    ).toEqual(done.steps.map(s => s.name));
    // and the cloud saw the claim applied once
    const effects = await gated.inner.sideEffects();
    expect(
      effects.performed.filter(e => e.action === 'apply').map(e => e.applied),
    ).toEqual([1]);
  });
});
