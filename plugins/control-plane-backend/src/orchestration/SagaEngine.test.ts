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
import { LeaseLostError, SagaStore } from './SagaStore';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

/**
 * The simulator, with a gate: while `hold` is set, the next `apply` waits for it (a worker
 * frozen in the middle of a step, as a GC pause or SIGSTOP would leave it).
 */
class GatedDriver {
  hold?: Promise<void>;
  entered?: () => void;

  constructor(readonly inner: SimulatedDriver) {}

  asDriver(): ControlPlaneDriver {
    const inner = this.inner;
    return Object.assign(Object.create(inner) as ControlPlaneDriver, {
      apply: async (
        resource: DriverResource,
        target: DriverTarget,
        ctx: DriverCallContext,
      ) => {
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

/**
 * Counts commits at the database driver: each transaction that committed a write, and each
 * write outside a transaction (it commits alone); a savepoint is part of its transaction.
 * It wraps the raw connections the knex pool hands out, so it sees the engine's statements
 * whether they go through the query builder or straight to the driver (the engine's hot
 * path: a named PostgreSQL statement, a native better-sqlite3 transaction). Transactions
 * that write only the simulated cloud's own tables are the driver's, not the engine's.
 */
function commitCounter(knex: Knex) {
  let commits = 0;
  let counting = false;
  const wrapped = new WeakSet<object>();
  const engineWrite = (tables: Set<string>) =>
    [...tables].some(name => !name.startsWith('simulator_'));

  /** The statements of one connection, in order; `native` inside a driver transaction. */
  function tracker() {
    let tables: Set<string> | undefined; // set while a transaction is open
    return {
      statement(sql: string) {
        const text = sql.trim();
        if (/^begin/i.test(text)) tables = new Set();
        else if (/^commit/i.test(text)) this.end(true);
        else if (/^rollback(?!\s+to)/i.test(text)) this.end(false);
        else if (/^(insert|update|delete|with)/i.test(text)) {
          const table = /(?:into|update|from)\s+[`"]?(\w+)/i.exec(text)?.[1];
          const touched = new Set(table ? [table] : []);
          if (tables) touched.forEach(t => tables!.add(t));
          else if (counting && engineWrite(touched)) commits += 1;
        }
      },
      begin() {
        tables = new Set();
      },
      end(committed: boolean) {
        if (committed && counting && tables && engineWrite(tables)) {
          commits += 1;
        }
        tables = undefined;
      },
    };
  }

  function wrapPostgres(client: any) {
    const track = tracker();
    const query = client.query;
    client.query = function counted(config: any, ...rest: unknown[]) {
      track.statement(typeof config === 'string' ? config : config.text);
      return query.call(client, config, ...rest);
    };
  }

  function wrapSqlite(db: any) {
    const track = tracker();
    const prepare = db.prepare;
    db.prepare = function counted(sql: string, ...rest: unknown[]) {
      const statement = prepare.call(db, sql, ...rest);
      for (const method of ['run', 'all', 'get']) {
        const original = statement[method];
        statement[method] = (...args: unknown[]) => {
          track.statement(sql);
          return original.apply(statement, args);
        };
      }
      return statement;
    };
    const transaction = db.transaction;
    db.transaction = function counted(fn: (...args: any[]) => unknown) {
      const tx = transaction.call(db, fn);
      const variant =
        (run: (...args: any[]) => unknown) =>
        (...args: any[]) => {
          if (db.inTransaction) return run(...args); // a savepoint
          track.begin();
          try {
            const result = run(...args);
            track.end(true);
            return result;
          } catch (error) {
            track.end(false);
            throw error;
          }
        };
      return Object.assign(variant(tx), {
        default: variant(tx.default),
        deferred: variant(tx.deferred),
        immediate: variant(tx.immediate),
        exclusive: variant(tx.exclusive),
      });
    };
  }

  const onAcquire = (_eventId: unknown, connection: any) => {
    if (wrapped.has(connection)) return;
    wrapped.add(connection);
    if (typeof connection.prepare === 'function') wrapSqlite(connection);
    else wrapPostgres(connection);
  };
  const pool = (knex.client as any).pool;
  pool.on('acquireSuccess', onAcquire);
  return {
    start() {
      counting = true;
    },
    stop() {
      counting = false;
      pool.removeListener('acquireSuccess', onAcquire);
      return commits;
    },
  };
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

  it('commits K+2 times for a K-step saga, claim included; K+1 on SQLite', async () => {
    const counter = commitCounter(knex);
    counter.start();
    const [op] = await cp.engine.claim(1);
    const sqlite = !databaseId.startsWith('POSTGRES');
    expect(op).toMatchObject({ type: 'create' });
    expect(Boolean(op.begun)).toBe(sqlite);
    await cp.engine.execute(op);
    const commits = counter.stop();

    const details = await cp.operations.get(op.id);
    expect(details.state).toBe('succeeded');
    const K = details.steps.length;
    expect(K).toBe(7);
    // the claim, the start of the first step (on SQLite in the claim's commit), and one
    // per step: its end and the next start, the last one's end with the operation's
    expect(commits).toBe(sqlite ? K + 1 : K + 2);
    expect(
      details.timeline.filter(e => e.type === 'step.started').map(e => e.step),
    ).toEqual(details.steps.map(s => s.name));
    expect(details.timeline.map(e => e.type)).not.toContain('step.resumed');
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
    await expect(
      stale.options.store.fenced(opA, { state: 'running' }, async trx => {
        await trx('resource_events').insert({
          resource_ref: opA.resourceRef,
          operation_id: opA.id,
          type: 'stale.write',
          message: 'must not land',
          created_at: new Date().toISOString(),
        });
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
