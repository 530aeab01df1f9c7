import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { ManifestOf } from '@idp-multicloud/plugin-control-plane-common';
import { AuditLog } from '../audit/AuditLog';
import { migrateUp } from '../database/migrations';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { ResourceStore } from './ResourceStore';

const databases = TestDatabases.create();

const manifest = (
  name: string,
  extra: Partial<ManifestOf<'Resource'>['spec']> = {},
): ManifestOf<'Resource'> => ({
  apiVersion: 'idp.multicloud/v1',
  kind: 'Resource',
  metadata: { name, namespace: 'default', labels: {} },
  spec: {
    product: 'mysql',
    owner: 'group:default/payments',
    tier: 'critical',
    cell: 'cell-us',
    params: {},
    dependsOn: [],
    ...extra,
  },
});
const cause = { actor: 'user:default/ana', reason: 'test' };

describe.each(databases.eachSupportedId())(
  'ResourceStore on %s',
  databaseId => {
    async function setup() {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      const events = new ResourceEventStore(knex);
      const audit = new AuditLog(knex);
      const store = new ResourceStore(knex, events, audit);
      const create = (name: string, extra = {}) =>
        knex.transaction(trx =>
          store.insert(
            trx,
            manifest(name, extra),
            { generation: 1, commit: 'c'.repeat(40) },
            cause,
          ),
        );
      return { knex, store, events, audit, create };
    }

    it('records a new resource as PENDING, with its first transition and event', async () => {
      const { store, events, create } = await setup();
      const uid = await create('orders-db');
      const created = await store.getByUid(uid);
      expect(created).toMatchObject({
        ref: 'resource:default/orders-db',
        spec: { product: 'mysql', tier: 'critical' },
        status: { state: 'PENDING', generation: 1, observedGeneration: 0 },
      });
      expect(await store.history(uid)).toEqual([
        expect.objectContaining({ to: 'PENDING', actor: cause.actor }),
      ]);
      expect(
        (await events.since('resource:default/orders-db', 0)).map(e => e.type),
      ).toEqual(['state.changed']);
    });

    it('moves through the lifecycle and records each cause, also in the audit log', async () => {
      const { store, audit, create } = await setup();
      const uid = await create('orders-db');
      await store.transition(uid, 'PENDING', 'PROVISIONING', {
        ...cause,
        operationId: 'op-1',
      });
      await store.transition(uid, 'PROVISIONING', 'READY', {
        actor: 'control-plane',
        reason: 'claim ready',
        operationId: 'op-1',
      });
      expect((await store.getByUid(uid))?.status.state).toBe('READY');
      const history = await store.history(uid);
      expect(history.map(h => `${h.from ?? '∅'}→${h.to}`)).toEqual([
        '∅→PENDING',
        'PENDING→PROVISIONING',
        'PROVISIONING→READY',
      ]);
      expect(history[2]).toMatchObject({
        operationId: 'op-1',
        reason: 'claim ready',
      });
      const events = await audit.list({
        target: 'resource:default/orders-db',
        limit: 10,
      });
      expect(events.items.map(e => e.reason)).toEqual([
        'PROVISIONING → READY: claim ready',
        'PENDING → PROVISIONING: test',
        '∅ → PENDING: test',
      ]);
    });

    it('refuses a move the state machine forbids, changing nothing', async () => {
      const { store, create } = await setup();
      const uid = await create('orders-db');
      await expect(
        store.transition(uid, 'PENDING', 'READY', cause),
      ).rejects.toThrow(ConflictError);
      expect((await store.getByUid(uid))?.status.state).toBe('PENDING');
      expect(await store.history(uid)).toHaveLength(1);
    });

    it('lets exactly one of two racing moves from the same state win', async () => {
      const { store, create } = await setup();
      const uid = await create('orders-db');
      const results = await Promise.allSettled([
        store.transition(uid, 'PENDING', 'PROVISIONING', cause),
        store.transition(uid, 'PENDING', 'DELETING', cause),
      ]);
      const rejected = results.filter(r => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason.message).toMatch(
        /is (PROVISIONING|DELETING), not PENDING/,
      );
      expect(await store.history(uid)).toHaveLength(2);
    });

    it('keeps one live resource per name, but allows reuse after DELETED', async () => {
      const { store, create } = await setup();
      const first = await create('orders-db');
      await expect(create('orders-db')).rejects.toThrow();
      await store.transition(first, 'PENDING', 'DELETING', cause);
      await store.transition(first, 'DELETING', 'DELETED', cause);
      const second = await create('orders-db');
      expect(second).not.toBe(first);
      expect((await store.getLive('default', 'orders-db'))?.uid).toBe(second);
    });

    it('lists with filters and pages through every resource once', async () => {
      const { store, create } = await setup();
      for (let i = 0; i < 7; i++) {
        await create(
          `db-${i}`,
          i % 2 ? { owner: 'group:default/platform' } : {},
        );
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({}, { limit: 3, cursor });
        seen.push(...page.items.map(r => r.metadata.name));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([
        'db-0',
        'db-1',
        'db-2',
        'db-3',
        'db-4',
        'db-5',
        'db-6',
      ]);
      const platform = await store.list(
        { owner: 'group:default/platform' },
        { limit: 10 },
      );
      expect(platform.items.map(r => r.metadata.name)).toEqual([
        'db-1',
        'db-3',
        'db-5',
      ]);
    });
  },
);
