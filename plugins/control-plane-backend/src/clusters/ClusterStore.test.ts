import { TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { migrateUp } from '../database/migrations';
import { ClusterStore, LeaseLostError } from './ClusterStore';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

describe.each(databases.eachSupportedId())('ClusterStore on %s', databaseId => {
  let db: Knex;
  let clock: number;
  let store: ClusterStore;
  beforeEach(async () => {
    db = await databases.init(databaseId);
    await migrateUp(db);
    clock = 1_000_000;
    store = new ClusterStore(db, () => clock);
  });

  const upgrade = () =>
    store.createOperation(
      {
        cluster: 'c1',
        type: 'upgrade',
        params: { from: '1.30', to: '1.31' },
        actor: 'user:default/ana',
        steps: ['preflight', 'upgrade_control_plane'],
      },
      trx => store.transition('c1', 'Ready', 'Upgrading', trx),
    );

  it('moves phases by compare-and-set, naming both phases when it lost', async () => {
    await store.insert('c1', 'Ready', undefined);
    await store.transition('c1', 'Ready', 'Draining');
    await expect(store.transition('c1', 'Ready', 'Upgrading')).rejects.toThrow(
      'cluster c1 is Draining, not Ready: it cannot move to Upgrading',
    );
    await expect(
      store.transition('c1', 'Draining', 'Upgrading'),
    ).rejects.toThrow('cluster c1 cannot move from Draining to Upgrading');
    expect((await store.observed('c1'))?.phase).toBe('Draining');
  });

  it('holds one operation in flight per cluster, and writes nothing of a refused one', async () => {
    await store.insert('c1', 'Ready', undefined);
    const first = await upgrade();
    expect(first.state).toBe('pending');
    await expect(upgrade()).rejects.toThrow(
      `cluster c1 has an operation in flight: upgrade ${first.id}`,
    );
    expect(await store.operationsOf('c1')).toHaveLength(1);
    expect((await store.observed('c1'))?.phase).toBe('Upgrading');
  });

  it('lets one worker hold an operation; a dead worker loses it when its lease runs out', async () => {
    await store.insert('c1', 'Ready', undefined);
    const op = await upgrade();
    const [a] = await store.claim('worker-a', 5, 1000, []);
    expect(a.id).toBe(op.id);
    // held: nobody else gets it
    expect(await store.claim('worker-b', 5, 1000, [])).toEqual([]);
    await store.save(a, {
      steps: a.steps.map((s, i) =>
        i === 0 ? { ...s, state: 'succeeded', attempts: 1 } : s,
      ),
    });
    // worker-a dies: its lease runs out, worker-b claims and sees what a recorded
    clock += 1001;
    const [b] = await store.claim('worker-b', 5, 1000, []);
    expect(b.steps.map(s => s.state)).toEqual(['succeeded', 'pending']);
    expect(b.fence).toBe(a.fence + 1);
    // worker-a, back, can write nothing more
    await expect(store.save(a, { state: 'succeeded' })).rejects.toThrow(
      LeaseLostError,
    );
    expect(await store.heartbeat(a, 1000)).toBe(false);
    expect(await store.heartbeat(b, 1000)).toBe(true);
    expect((await store.operation(op.id))?.state).toBe('running');
  });
});
