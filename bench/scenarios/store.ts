/**
 * store: one durable state transition of the resource store (compare-and-set update of the
 * resource + insert of its transition record and its event, in one transaction) against a bare insert of
 * the same transition row, on SQLite and PostgreSQL.
 */
import { migrateUp } from '../../plugins/control-plane-backend/src/database/migrations';
import { ResourceStore } from '../../plugins/control-plane-backend/src/resources/ResourceStore';
import { ResourceEventStore } from '../../plugins/control-plane-backend/src/events/ResourceEventStore';
import { AuditLog } from '../../plugins/control-plane-backend/src/audit/AuditLog';
import { now } from '../../plugins/control-plane-backend/src/database/time';
import { allDatabases } from '../databases';
import { Benchmark, Comparison } from '../harness';

const cause = { actor: 'user:default/bench', reason: 'bench' };

const benchmark: Benchmark = {
  description:
    'resource state transition (update + insert in a transaction) vs a bare insert',
  async *comparisons(): AsyncIterable<Comparison> {
    for (const open of allDatabases) {
      const db = await open();
      await migrateUp(db.knex);
      const store = new ResourceStore(
        db.knex,
        new ResourceEventStore(db.knex),
        new AuditLog(db.knex),
      );
      const uid = await db.knex.transaction(trx =>
        store.insert(
          trx,
          {
            apiVersion: 'idp.multicloud/v1',
            kind: 'Resource',
            metadata: { namespace: 'bench', name: 'flapping', labels: {} },
            spec: {
              product: 'redis',
              owner: 'group:default/bench',
              tier: 'low',
              cell: 'cell-us',
              params: {},
              dependsOn: [],
            },
          },
          { generation: 1, commit: '0'.repeat(40) },
          cause,
        ),
      );
      await store.transition(uid, 'PENDING', 'PROVISIONING', cause);
      await store.transition(uid, 'PROVISIONING', 'READY', cause);
      let state: 'READY' | 'DEGRADED' = 'READY';

      yield {
        name: db.name,
        batch: 200,
        scenario: {
          label: 'transition',
          async run(n) {
            for (let i = 0; i < n; i++) {
              const next = state === 'READY' ? 'DEGRADED' : 'READY';
              await store.transition(uid, state, next, cause);
              state = next;
            }
          },
        },
        baseline: {
          label: 'bare insert',
          async run(n) {
            for (let i = 0; i < n; i++) {
              await db.knex('resource_transitions').insert({
                resource_uid: uid,
                from_state: 'READY',
                to_state: 'DEGRADED',
                actor: cause.actor,
                reason: cause.reason,
                created_at: now(),
              });
            }
          },
        },
        close: () => db.close(),
      };
    }
  },
};

export default benchmark;
