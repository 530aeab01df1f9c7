import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory from 'knex';
import { migrateUp } from '../database/migrations';
import { AuditKeyring } from './AuditKeys';
import { canonicalJson, isPostgres, sha256 } from '../database/util';
import {
  AuditEntry,
  AuditLog,
  GENESIS_HASH,
  hashAuditRow,
  legacyHashAuditRow,
} from './AuditLog';

const databases = TestDatabases.create();

const entry = (i: number): AuditEntry => ({
  actor: i % 2 ? 'user:default/ana' : 'user:default/bruno',
  action: 'resource.create',
  target: `resource:default/db-${i}`,
  outcome: i % 3 === 0 ? 'rejected' : 'accepted',
  reason: i % 3 === 0 ? 'spec.params.size: invalid' : undefined,
  source: { ip: '10.0.0.1', userAgent: 'idp-cli/0.1.0' },
  requestId: `req-${i}`,
});

/** The row of entry `i`, stored as is (what a writer other than this version's log inserts). */
const bareRow = (i: number) => {
  const e = entry(i);
  return {
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
    verified: true,
  };
};

describe.each(databases.eachSupportedId())('AuditLog on %s', databaseId => {
  async function setup() {
    const knex = await databases.init(databaseId);
    await migrateUp(knex);
    const keys = AuditKeyring.random();
    return { knex, keys, log: new AuditLog(knex, keys) };
  }

  it('chains each event to the previous one', async () => {
    const { log } = await setup();
    const first = await log.append(entry(1));
    const second = await log.append(entry(2));
    expect(first.id).toBe(1);
    expect(second).toMatchObject({ id: 2, prevHash: first.hash });
    expect(await log.verify()).toEqual({ valid: true, checked: 2 });
  });

  it('keeps one unbroken chain under 40 concurrent appends', async () => {
    const { log } = await setup();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => log.append(entry(i))),
    );
    expect(await log.verify()).toEqual({ valid: true, checked: 40 });
    const page = await log.list({ limit: 500 });
    expect(page.items.map(e => e.id)).toEqual(
      Array.from({ length: 40 }, (_, i) => 40 - i),
    );
  });

  it('keeps one unbroken chain when several replicas append, concurrently and in turn', async () => {
    const { knex, keys } = await setup();
    // Each replica has its own log (its own idea of the chain's head) and, on PostgreSQL,
    // its own connections.
    const pools = isPostgres(knex)
      ? [knex, knexFactory(knex.client.config), knexFactory(knex.client.config)]
      : [knex, knex, knex];
    const replicas = pools.map(db => new AuditLog(db, keys));
    let appended = 0;
    const entries = (count: number) =>
      Array.from({ length: count }, () => entry(appended++));
    try {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          replicas.flatMap(log => entries(5).map(e => log.append(e))),
        );
        // In turn: each appends after the others moved the head.
        for (const log of replicas) {
          const before = await log.head();
          expect(await log.append(entries(1)[0])).toMatchObject({
            id: before!.id + 1,
            prevHash: before!.hash,
          });
        }
      }
      expect(await replicas[0].verify()).toEqual({
        valid: true,
        checked: appended,
      });
    } finally {
      await Promise.all(pools.slice(1).map(db => db !== knex && db.destroy()));
    }
  });

  it('appends many events as one run of the chain, in order, while other replicas append', async () => {
    const { knex, keys } = await setup();
    const pools = isPostgres(knex)
      ? [knex, knexFactory(knex.client.config)]
      : [knex, knex];
    const [a, b] = pools.map(db => new AuditLog(db, keys));
    try {
      // more than one statement's worth (50) in one call, beside single appends of another
      const [many] = await Promise.all([
        a.appendMany(Array.from({ length: 120 }, (_, i) => entry(i))),
        ...Array.from({ length: 10 }, (_, i) => b.append(entry(200 + i))),
      ]);
      expect(many.map(e => e.target)).toEqual(
        Array.from({ length: 120 }, (_, i) => `resource:default/db-${i}`),
      );
      for (let i = 1; i < many.length; i++) {
        expect(many[i]).toMatchObject({
          id: many[i - 1].id + 1,
          prevHash: many[i - 1].hash,
        });
      }
      // and the next single append follows whatever was appended last
      const head = await a.head();
      expect(await a.append(entry(999))).toMatchObject({
        id: head!.id + 1,
        prevHash: head!.hash,
      });
      expect(await a.verify()).toEqual({ valid: true, checked: 131 });
      expect(await a.appendMany([])).toEqual([]);
    } finally {
      if (pools[1] !== knex) await pools[1].destroy();
    }
  });

  it('chains the next event to the head, not to an event whose transaction rolled back', async () => {
    const { knex, log } = await setup();
    const first = await log.append(entry(1));
    await expect(
      knex.transaction(async trx => {
        await log.append(entry(2), trx);
        throw new Error('the change this event records failed');
      }),
    ).rejects.toThrow('failed');
    expect(await log.append(entry(3))).toMatchObject({
      id: 2,
      prevHash: first.hash,
    });
    expect(await log.verify()).toEqual({ valid: true, checked: 2 });
  });

  it('keeps one chain beside a replica of the version before, which locks, reads and inserts', async () => {
    const { knex, keys, log } = await setup();
    // The append of the previous version, as a replica not yet upgraded runs it.
    const previousAppend = (i: number) =>
      knex.transaction(async trx => {
        if (isPostgres(knex)) {
          await trx.raw('select pg_advisory_xact_lock(?)', [74_123_001]);
        }
        const last = await trx('audit_events')
          .orderBy('id', 'desc')
          .first('id', 'hash');
        const base = {
          ...bareRow(i),
          id: last ? Number(last.id) + 1 : 1,
          prev_hash: last?.hash ?? GENESIS_HASH,
          key_id: keys.currentId,
        };
        await trx('audit_events').insert({
          ...base,
          hash: hashAuditRow(base, keys),
        });
      });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 ? log.append(entry(i)) : previousAppend(i),
      ),
    );
    expect(await log.verify()).toEqual({ valid: true, checked: 30 });
  });

  it('names the first event whose content was changed with SQL', async () => {
    const { knex, log } = await setup();
    for (let i = 1; i <= 5; i++) await log.append(entry(i));
    await knex('audit_events')
      .where({ id: 3 })
      .update({ outcome: 'accepted', reason: null });
    expect(await log.verify()).toEqual({
      valid: false,
      checked: 2,
      firstBroken: { id: 3, reason: 'its content does not match its hash' },
    });
  });

  it('names the broken link after an event whose hash was forged to match', async () => {
    const { knex, keys, log } = await setup();
    for (let i = 1; i <= 5; i++) await log.append(entry(i));
    // An attacker who rewrites event 2 and recomputes its hash (even with the key) still
    // breaks event 3's link.
    const row = await knex('audit_events').where({ id: 2 }).first();
    const { hash: _old, ...forged } = { ...row, actor: 'user:default/mallory' };
    await knex('audit_events')
      .where({ id: 2 })
      .update({ actor: forged.actor, hash: hashAuditRow(forged, keys) });
    expect(await log.verify()).toEqual({
      valid: false,
      checked: 2,
      firstBroken: {
        id: 3,
        reason: 'its link to the previous event does not match',
      },
    });
  });

  it('names a deleted event as missing', async () => {
    const { knex, log } = await setup();
    for (let i = 1; i <= 4; i++) await log.append(entry(i));
    await knex('audit_events').where({ id: 2 }).delete();
    expect(await log.verify()).toEqual({
      valid: false,
      checked: 1,
      firstBroken: { id: 2, reason: 'event 2 is missing' },
    });
  });

  it('filters and pages newest first', async () => {
    const { log } = await setup();
    for (let i = 1; i <= 7; i++) await log.append(entry(i));
    const ana = await log.list({ actor: 'user:default/ana', limit: 2 });
    expect(ana.items.map(e => e.id)).toEqual([7, 5]);
    const next = await log.list({
      actor: 'user:default/ana',
      limit: 2,
      cursor: ana.nextCursor,
    });
    expect(next.items.map(e => e.id)).toEqual([3, 1]);
    expect(next.nextCursor).toBeUndefined();
    const rejected = await log.list({ outcome: 'rejected', limit: 10 });
    expect(rejected.items.map(e => e.reason)).toEqual([
      'spec.params.size: invalid',
      'spec.params.size: invalid',
    ]);
  });
});

describe('the hashed form of an event', () => {
  it('is the canonical JSON of its fields, so chains hashed before still verify', () => {
    const keys = AuditKeyring.random();
    const row = {
      id: '7',
      at: '2026-12-07T10:00:00.000Z',
      actor: 'user:default/ana',
      action: 'resource.create',
      target: 'resource:shop/cache — ünïcode "quoted"',
      outcome: 'accepted',
      reason: null,
      source_ip: '10.0.0.1',
      user_agent: null,
      request_id: 'req-7',
      approvers: '["user:default/bruno"]',
      commit_sha: 'a'.repeat(40),
      before_digest: null,
      after_digest: 'b'.repeat(64),
      prev_hash: 'c'.repeat(64),
      key_id: keys.currentId,
      verified: 1,
    };
    const form = canonicalJson({
      id: 7,
      at: row.at,
      actor: row.actor,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      reason: row.reason,
      sourceIp: row.source_ip,
      userAgent: row.user_agent,
      requestId: row.request_id,
      approvers: row.approvers,
      commit: row.commit_sha,
      beforeDigest: row.before_digest,
      afterDigest: row.after_digest,
      prevHash: row.prev_hash,
    });
    expect(legacyHashAuditRow({ ...row, key_id: null })).toBe(
      sha256(`${row.prev_hash}\n${form}`),
    );
    expect(hashAuditRow(row, keys)).toBe(
      keys.mac(
        'audit-chain',
        `${row.prev_hash}\n${canonicalJson({
          form,
          keyId: row.key_id,
          verified: true,
        })}`,
      ),
    );
  });
});
