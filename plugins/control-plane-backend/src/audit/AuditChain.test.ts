import { TestDatabases } from '@backstage/backend-test-utils';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateUp } from '../database/migrations';
import { AuditKeyring, loadAuditKeyring } from './AuditKeys';
import {
  AuditEntry,
  AuditLog,
  GENESIS_HASH,
  legacyHashAuditRow,
  storable,
} from './AuditLog';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  actor: 'user:default/ana',
  action: 'resource.create',
  target: `resource:default/db-${i}`,
  outcome: 'accepted',
  requestId: `req-${i}`,
  ...extra,
});

describe('storable', () => {
  it.each([
    [
      'clips by code point, never splitting a surrogate pair',
      '😀'.repeat(200),
      255,
      '😀'.repeat(200),
    ],
    [
      'clips 300 emoji to 255 whole ones',
      '😀'.repeat(300),
      255,
      '😀'.repeat(255),
    ],
    ['clips ASCII to the column', 'a'.repeat(70), 64, 'a'.repeat(64)],
    [
      'makes a lone surrogate U+FFFD, as the drivers store it',
      'a\uD83Db',
      10,
      'a\uFFFDb',
    ],
    [
      'makes NUL U+FFFD: PostgreSQL refuses it in text',
      'a\u0000b',
      10,
      'a\uFFFDb',
    ],
  ])('%s', (_name, input, max, expected) => {
    expect(storable(input, max)).toBe(expected);
  });
});

describe('loadAuditKeyring', () => {
  it('generates a key once on a fresh install, readable by the backend only, and keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-keys-'));
    try {
      const keyFile = join(dir, 'control-plane', 'audit.key');
      const first = await loadAuditKeyring({ keyFile });
      const second = await loadAuditKeyring({ keyFile });
      expect(second.currentId).toBe(first.currentId);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
      // A configured key wins over the file.
      const configured = await loadAuditKeyring({
        key: 'a configured key of some length',
        keyFile,
      });
      expect(configured.currentId).not.toBe(first.currentId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(databases.eachSupportedId())(
  'the keyed audit chain on %s',
  databaseId => {
    async function setup(keys = AuditKeyring.random()) {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      return { knex, keys, log: new AuditLog(knex, keys) };
    }

    it('a reason of 200 emoji clipped at the column keeps the chain valid, and is stored as hashed', async () => {
      const { knex, log } = await setup();
      const target = `resource:default/${'😀'.repeat(300)}`;
      const event = await log.append(
        entry(1, { target, reason: '😀'.repeat(200) }),
      );
      const [row] = await knex('audit_events').where({ id: event.id });
      expect(row.target).toBe(event.target);
      expect([...row.target]).toHaveLength(255);
      expect(row.target).not.toContain('\uFFFD');
      expect(await log.verify()).toEqual({ valid: true, checked: 1 });
    });

    it('finds an event edited and re-hashed without the key, with or without its key id', async () => {
      for (const keyId of ['keep', null] as const) {
        const { knex, log } = await setup();
        for (let i = 1; i <= 5; i++) await log.append(entry(i));
        // The attacker rewrites event 3 and re-hashes it and every later event with sha256,
        // the only hash they can compute: every link still matches.
        const rows = await knex('audit_events').orderBy('id');
        let prev = rows[1].hash;
        for (const row of rows.slice(2)) {
          const { hash: _hash, ...rest } = row;
          const forged = {
            ...rest,
            actor: row.id === 3 ? 'user:default/mallory' : row.actor,
            prev_hash: prev,
            key_id: keyId === null ? null : row.key_id,
          };
          const hash = legacyHashAuditRow(forged);
          await knex('audit_events')
            .where({ id: row.id })
            .update({ ...forged, hash });
          prev = hash;
        }
        expect(await log.verify()).toEqual({
          valid: false,
          checked: 2,
          firstBroken: {
            id: 3,
            reason:
              keyId === null
                ? 'it has no key id, after keyed events: it was rewritten without the key'
                : 'its content does not match its hash',
          },
        });
      }
    });

    it('keeps verifying the events recorded before the log was keyed, as the prefix of the chain', async () => {
      const { knex, log } = await setup();
      // Two events as the log wrote them before the migration: sha256, no key id.
      let prev = GENESIS_HASH;
      for (const id of [1, 2]) {
        const row = {
          id,
          at: `2026-12-01T10:00:0${id}.000Z`,
          actor: 'git:carla@example.com',
          action: 'state-repo.push',
          target: 'state-repo',
          outcome: 'accepted',
          reason: 'add the sessions cache',
          source_ip: null,
          user_agent: null,
          request_id: null,
          approvers: '[]',
          commit_sha: 'c'.repeat(40),
          before_digest: null,
          after_digest: null,
          prev_hash: prev,
          key_id: null,
          verified: null,
        };
        const hash = legacyHashAuditRow(row);
        await knex('audit_events').insert({ ...row, hash });
        prev = hash;
      }
      await log.append(entry(3));
      expect(await log.verify()).toEqual({ valid: true, checked: 3 });
      const page = await log.list({ limit: 10 });
      expect(page.items.map(e => e.verified)).toEqual([true, false, false]);
    });

    it('verifies events of a key rotated out when it is kept as a previous key, and names the key otherwise', async () => {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      const oldSecret = 'the old audit key, rotated out';
      const newSecret = 'the new audit key, rotated in';
      await new AuditLog(knex, new AuditKeyring(oldSecret)).append(entry(1));
      const rotated = new AuditLog(
        knex,
        new AuditKeyring(newSecret, [oldSecret]),
      );
      await rotated.append(entry(2));
      expect(await rotated.verify()).toEqual({ valid: true, checked: 2 });
      const forgotten = new AuditLog(knex, new AuditKeyring(newSecret));
      expect(await forgotten.verify()).toEqual({
        valid: false,
        checked: 0,
        firstBroken: {
          id: 1,
          reason: expect.stringContaining(
            `it was hashed with key ${
              new AuditKeyring(oldSecret).currentId
            }, which this backend does not have`,
          ),
        },
      });
    });

    it('checks every anchor given, and names the lowest event that does not fit', async () => {
      const { knex, log } = await setup();
      for (let i = 1; i <= 6; i++)
        await log.append(entry(i, { commit: `${i}`.repeat(40) }));
      const rows = await knex('audit_events').orderBy('id');
      const anchor = (i: number) => ({
        commit: rows[i].commit_sha,
        head: { id: Number(rows[i - 1].id), hash: rows[i - 1].hash },
      });
      expect(await log.verify([anchor(1), anchor(3), anchor(5)])).toEqual({
        valid: true,
        checked: 6,
      });
      // The newest two events deleted: the chain that is left is valid, the anchors say not.
      await knex('audit_events').where('id', '>=', 5).delete();
      expect(
        await log.verify(
          (async function* anchors() {
            yield anchor(1);
            yield anchor(3);
            yield anchor(5);
          })(),
        ),
      ).toEqual({
        valid: false,
        checked: 4,
        firstBroken: {
          id: 5,
          reason: expect.stringContaining('event 5 is missing'),
        },
      });
    });

    it('walks a log larger than a page', async () => {
      const { knex, log } = await setup();
      for (let i = 1; i <= 1100; i++) await log.append(entry(i));
      expect(await log.verify()).toEqual({ valid: true, checked: 1100 });
      await knex('audit_events')
        .where({ id: 1050 })
        .update({ outcome: 'rejected' });
      expect(await log.verify()).toMatchObject({
        valid: false,
        firstBroken: { id: 1050 },
      });
    });

    it('never breaks a valid chain, whatever Unicode the events carry (property)', async () => {
      const { log } = await setup();
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      );
      let appended = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              actor: text,
              action: text,
              target: text,
              reason: fc.option(text, { nil: undefined }),
              requestId: fc.option(text, { nil: undefined }),
              ip: fc.option(text, { nil: undefined }),
              userAgent: fc.option(text, { nil: undefined }),
              approvers: fc.array(text, { maxLength: 3 }),
              verified: fc.boolean(),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          async entries => {
            for (const e of entries) {
              await log.append({
                actor: e.actor,
                action: e.action,
                target: e.target,
                outcome: 'accepted',
                reason: e.reason,
                requestId: e.requestId,
                source: { ip: e.ip, userAgent: e.userAgent },
                approvers: e.approvers,
                verified: e.verified,
              });
              appended += 1;
            }
            const verdict = await log.verify();
            expect(verdict).toEqual({ valid: true, checked: appended });
          },
        ),
        { numRuns: 40 },
      );
    });
  },
);
