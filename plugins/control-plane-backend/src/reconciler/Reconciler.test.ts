import { TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { Settings } from 'luxon';
import { until } from '../__testUtils__/backend';
import { createTestControlPlane } from '../__testUtils__/controlPlane';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

type TestControlPlane = Awaited<ReturnType<typeof createTestControlPlane>>;

/** Counts the statements that write, while `fn` runs. */
async function writesDuring(knex: Knex, fn: () => Promise<unknown>) {
  const writes: string[] = [];
  const listener = (q: { sql: string }) => {
    if (/^\s*(insert|update|delete|replace)/i.test(q.sql)) writes.push(q.sql);
  };
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.removeListener('query', listener);
  }
  return writes;
}

describe.each(databases.eachSupportedId())('Reconciler on %s', databaseId => {
  let t: TestControlPlane;
  afterEach(() => t?.cleanup());

  const stateOf = async (name: string) =>
    (await t.cp.resources.getLive('default', name))?.status.state;
  const driftEvents = async (ref: string) =>
    (
      await t.knex('resource_events').where({
        resource_ref: ref,
        type: 'drift.detected',
      })
    ).length;
  const driftAudits = async (ref: string) =>
    (
      await t.knex('audit_events').where({
        action: 'resource.drift',
        target: ref,
      })
    ).length;

  /** Three resources READY; the engine then stops, so that passes run alone. */
  async function converged(policy?: 'warn') {
    t = await createTestControlPlane(databases, databaseId);
    const own = policy ? { driftPolicy: policy } : {};
    await t.request({ name: 'a-db', product: 'mysql', ...own });
    await t.request({ name: 'b-cache', product: 'redis', ...own });
    await t.request({ name: 'c-cache', product: 'redis', driftPolicy: 'warn' });
    t.cp.start();
    for (const name of ['a-db', 'b-cache', 'c-cache']) {
      await until(async () => (await stateOf(name)) === 'READY', name);
    }
    await t.cp.stop();
  }

  it('writes nothing in a pass, or a drift check, that finds everything converged', async () => {
    await converged();
    expect(await writesDuring(t.knex, () => t.cp.reconciler.pass())).toEqual(
      [],
    );
    expect(
      await writesDuring(t.knex, async () => {
        const result = await t.cp.reconciler.detectDrift();
        expect(result).toEqual({ checked: 3, drifted: [] });
      }),
    ).toEqual([]);
  });

  it('checks every resource in turn, however small the batch', async () => {
    await converged('warn');
    const checked: string[] = [];
    for (const ref of [
      'resource:default/a-db',
      'resource:default/b-cache',
      'resource:default/c-cache',
    ]) {
      await t.simulator.drift({ ref }, { size: 'xlarge' });
    }
    // one at a time: three passes cover the three, the fourth starts over
    for (let i = 0; i < 4; i++) {
      const { drifted } = await t.cp.reconciler.detectDrift(1);
      checked.push(...drifted.map(d => d.ref));
    }
    expect(checked.slice(0, 3).sort()).toEqual([
      'resource:default/a-db',
      'resource:default/b-cache',
      'resource:default/c-cache',
    ]);
    expect(checked[3]).toBe(checked[0]);
  });

  it('reports a drift under warn once, until it changes', async () => {
    await converged();
    const ref = 'resource:default/c-cache';
    await t.simulator.drift({ ref }, { persistence: 'none' });
    for (let i = 0; i < 3; i++) {
      const { drifted } = await t.cp.reconciler.detectDrift();
      expect(drifted).toEqual([
        { ref, fields: ['persistence'], corrected: false },
      ]);
    }
    expect([await driftEvents(ref), await driftAudits(ref)]).toEqual([1, 1]);
    // the same drift again writes nothing at all
    expect(
      await writesDuring(t.knex, () => t.cp.reconciler.detectDrift()),
    ).toEqual([]);

    await t.simulator.drift(
      { ref },
      { persistence: 'aof', maxMemoryPolicy: 'noeviction' },
    );
    await t.cp.reconciler.detectDrift();
    expect([await driftEvents(ref), await driftAudits(ref)]).toEqual([2, 2]);
    // it never corrected anything
    expect(
      Number(
        (
          await t.knex('operations').where({ type: 'update' }).count({ n: '*' })
        )[0].n,
      ),
    ).toBe(0);
  });

  it("follows the cell's drift policy, and a resource's own policy over it", async () => {
    await converged();
    const cell = (await t.cp.indexer.current()).cell('cell-us')!;
    await t.apply({
      apiVersion: 'idp.multicloud/v1',
      kind: 'Cell',
      metadata: { name: 'cell-us' },
      spec: { ...cell, driftPolicy: 'warn' },
    });
    await t.cp.indexer.sync();
    // a-db sets no policy: the cell's warn; c-cache says warn itself; b-cache is set to
    // correct, over the cell
    const current = (await t.cp.indexer.current()).resource(
      'resource:default/b-cache',
    )!;
    await t.apply({
      ...current,
      spec: { ...current.spec, driftPolicy: 'correct' },
    });
    await t.cp.indexer.sync();
    for (const name of ['a-db', 'b-cache']) {
      await t.simulator.drift(
        { ref: `resource:default/${name}` },
        { size: 'xlarge' },
      );
    }
    const { drifted } = await t.cp.reconciler.detectDrift();
    expect(drifted.sort((x, y) => x.ref.localeCompare(y.ref))).toEqual([
      { ref: 'resource:default/a-db', fields: ['size'], corrected: false },
      { ref: 'resource:default/b-cache', fields: ['size'], corrected: true },
    ]);
    const updates = await t
      .knex('operations')
      .where({ type: 'update' })
      .select('resource_ref');
    expect(updates.map(u => u.resource_ref)).toEqual([
      'resource:default/b-cache',
    ]);
  });

  it('leaves a generation an operation request committed to its operation, for a grace period', async () => {
    await converged();
    /** Commits a new size, as a request with this action would (and records no operation). */
    const commit = (name: string, action: string) => {
      const ref = `resource:default/${name}`;
      return t.cp.changes.apply({
        actor: 'user:default/ana',
        action,
        target: ref,
        message: `${action} ${ref}`,
        requestId: 'test',
        compute: state => {
          const manifest = state.resource(ref)!;
          const params = { ...manifest.spec.params, size: 'large' };
          return {
            put: [{ ...manifest, spec: { ...manifest.spec, params } }],
            remove: [],
          };
        },
      });
    };
    // a scale commits the spec it brings about, then records its operation: here it never
    // does (a crash in between); an ordinary change has no operation of its own coming
    await commit('b-cache', 'resource.scale');
    await commit('c-cache', 'resource.update');
    const started = async () =>
      (await t.cp.reconciler.pass()).started.map(s => [s.ref, s.type]);
    expect(await started()).toEqual([['resource:default/c-cache', 'update']]);
    expect(await started()).toEqual([]);

    const clock = Settings.now;
    try {
      Settings.now = () => Date.now() + 29_000;
      expect(await started()).toEqual([]);
      // the grace period over and still no operation: the pass updates it
      Settings.now = () => Date.now() + 31_000;
      expect(await started()).toEqual([['resource:default/b-cache', 'update']]);
    } finally {
      Settings.now = clock;
    }
  });
});
