/**
 * audit: the hash-chained audit log at size, on SQLite and PostgreSQL.
 *
 * - append: one event appended (its own transaction: the keyed hash, and on SQLite the chain's
 *   head read then the insert; on PostgreSQL one insert, made only where
 *   audit_events_head_is finds, under the audit lock, that the head this log last wrote is
 *   still the chain's) against a bare insert of the same row into a table with the same
 *   columns and indexes, without a chain. Goal: ≤ 1.5×.
 * - verify: walking a chain of 100,000 events (every hash recomputed under its key, every
 *   link checked, a page at a time) against reading the same rows page by page. Goal: ≤ 2 s.
 */
import { Knex } from 'knex';
import { AuditKeyring } from '../../plugins/control-plane-backend/src/audit/AuditKeys';
import {
  AuditEntry,
  AuditLog,
  GENESIS_HASH,
  hashAuditRow,
} from '../../plugins/control-plane-backend/src/audit/AuditLog';
import { migrateUp } from '../../plugins/control-plane-backend/src/database/migrations';
import { allDatabases } from '../databases';
import { Benchmark, Comparison, Measured, timeEach } from '../harness';

const APPENDS = 200;
const CHAIN = 100_000;

const entry = (i: number): AuditEntry => ({
  actor: 'user:default/ana',
  action: 'resource.create',
  target: `resource:shop/cache-${i}`,
  outcome: 'accepted',
  reason: 'created by the benchmark',
  source: { ip: '127.0.0.1', userAgent: 'bench' },
  requestId: `req-${i}`,
});

/** The row an event is stored as, without the chain (what the bare insert writes). */
function bareRow(id: number) {
  const e = entry(id);
  return {
    id,
    at: new Date().toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    reason: e.reason ?? null,
    source_ip: e.source?.ip ?? null,
    user_agent: e.source?.userAgent ?? null,
    request_id: e.requestId ?? null,
    approvers: '[]',
    commit_sha: null,
    before_digest: null,
    after_digest: null,
    prev_hash: GENESIS_HASH,
    key_id: 'bench',
    verified: true,
    hash: GENESIS_HASH,
  };
}

/** A table like audit_events (its columns, a unique id, its indexes), for the bare insert. */
async function bareTable(knex: Knex) {
  await knex.raw(
    'create table bench_audit_bare as select * from audit_events where 1 = 0',
  );
  await knex.schema.alterTable('bench_audit_bare', table => {
    table.unique(['id']);
    table.index(['actor']);
    table.index(['target']);
    table.index(['action']);
    table.index(['commit_sha']);
  });
}

/** A valid chain of `count` events, written in batches (not timed). */
async function fillChain(knex: Knex, keys: AuditKeyring, count: number) {
  let prev = GENESIS_HASH;
  for (let start = 1; start <= count; start += 500) {
    const rows = [];
    for (let id = start; id < Math.min(start + 500, count + 1); id++) {
      const { hash: _, ...base } = { ...bareRow(id), prev_hash: prev };
      const hash = hashAuditRow({ ...base, key_id: keys.currentId }, keys)!;
      rows.push({ ...base, key_id: keys.currentId, hash });
      prev = hash;
    }
    await knex('audit_events').insert(rows);
  }
}

const benchmark: Benchmark = {
  description: `the audit log: append against a bare insert, and verifying ${CHAIN.toLocaleString(
    'en',
  )} events against reading them`,
  async *comparisons(): AsyncIterable<Comparison> {
    for (const open of allDatabases) {
      // append
      {
        const db = await open();
        await migrateUp(db.knex);
        await bareTable(db.knex);
        const audit = new AuditLog(db.knex, AuditKeyring.random());
        let appended = 0;
        let inserted = 0;
        const append: Measured = {
          label: 'audit append',
          run: n => timeEach(n, () => audit.append(entry(appended++))),
        };
        const bare: Measured = {
          label: 'bare insert',
          run: n =>
            timeEach(n, () =>
              db.knex.transaction(trx =>
                trx('bench_audit_bare').insert(bareRow(++inserted)),
              ),
            ),
        };
        yield {
          name: `${db.name}, append`,
          batch: APPENDS,
          scenario: append,
          baseline: bare,
          goalRatio: 1.5,
          close: () => db.close(),
        };
      }
      // verify
      {
        const db = await open();
        await migrateUp(db.knex);
        const keys = AuditKeyring.random();
        await fillChain(db.knex, keys, CHAIN);
        const audit = new AuditLog(db.knex, keys);
        let last = 0;
        const verify: Measured = {
          label: `verify of ${CHAIN} events`,
          run: async () => {
            const start = performance.now();
            const verdict = await audit.verify();
            last = performance.now() - start;
            if (!verdict.valid || verdict.checked !== CHAIN) {
              throw new Error(`verify: ${JSON.stringify(verdict)}`);
            }
          },
        };
        const read: Measured = {
          label: `paged read of ${CHAIN} events`,
          run: async () => {
            for (let after = 0; ; after += 1000) {
              const rows = await db
                .knex('audit_events')
                .where('id', '>', after)
                .orderBy('id')
                .limit(1000);
              if (rows.length < 1000) break;
            }
          },
        };
        yield {
          name: `${db.name}, verify`,
          batch: 1,
          scenario: verify,
          baseline: read,
          report: async () => [
            `verify of ${CHAIN} events: ${(last / 1000).toFixed(
              2,
            )} s (the last run); goal ≤ 2 s: ${
              last <= 2000 ? 'met' : 'MISSED'
            }`,
          ],
          close: () => db.close(),
        };
      }
    }
  },
};

export default benchmark;
