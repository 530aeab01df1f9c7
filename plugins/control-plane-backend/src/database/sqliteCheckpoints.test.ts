import knexFactory, { Knex } from 'knex';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuneSqlite } from './util';

const sqlite = (filename: string) =>
  knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });

/** Tunes the database as the control plane does; the log size its commits checkpoint at. */
async function tunedAutocheckpoint(db: Knex): Promise<number> {
  await tuneSqlite(db);
  const [{ wal_autocheckpoint: pages }] = await db.raw(
    'pragma wal_autocheckpoint',
  );
  return pages;
}

describe('SQLite write-ahead log checkpoints', () => {
  it('are made off the request path: the log reaches the database file without a commit checkpointing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-checkpoints-'));
    const filename = join(dir, 'db.sqlite');
    const db = sqlite(filename);
    try {
      const inline = await tunedAutocheckpoint(db);
      // the committing connection leaves checkpoints to the thread (up to 64 MB of log)
      expect(inline).toBeGreaterThan(1000);
      await db.schema.createTable('t', t => t.text('v'));
      const row = 'x'.repeat(4000);
      for (let i = 0; i < 10; i++) {
        await db('t').insert(Array.from({ length: 50 }, () => ({ v: row })));
      }
      // about 2 MB committed to the log: none of it is in the database file yet unless
      // something checkpointed it
      const deadline = Date.now() + 5000;
      while (statSync(filename).size < 2_000_000 && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50));
      }
      expect(statSync(filename).size).toBeGreaterThanOrEqual(2_000_000);
      expect(await db('t').count({ n: '*' })).toEqual([{ n: 500 }]);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are SQLite’s own on an in-memory database', async () => {
    const db = sqlite(':memory:');
    try {
      expect(await tunedAutocheckpoint(db)).toBe(1000);
    } finally {
      await db.destroy();
    }
  });
});
