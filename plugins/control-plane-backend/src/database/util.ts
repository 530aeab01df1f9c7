import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import { checkpointInBackground } from './sqliteCheckpoints';

/** The database clients the control plane runs on (its hot path talks to their drivers). */
const SUPPORTED_CLIENTS = ['pg', 'better-sqlite3'];

/** Throws, naming the client, unless the database is PostgreSQL (pg) or SQLite (better-sqlite3). */
export function assertSupportedDatabase(db: Knex): void {
  const client = db.client.config.client;
  if (!SUPPORTED_CLIENTS.includes(client)) {
    throw new Error(
      `the control plane runs on PostgreSQL (client pg) or SQLite (client better-sqlite3), not ${
        typeof client === 'string' ? client : 'a custom knex client'
      }: set backend.database.client accordingly`,
    );
  }
}

/** Whether the knex instance talks to PostgreSQL. */
/**
 * On a SQLite file, the write-ahead log with `synchronous = NORMAL`: a commit is a write to
 * the log, not a sync of the database file and its journal. A crashed process loses no
 * committed transaction; a power loss may lose the last ones but never leaves the file
 * inconsistent (and the state repository, not the database, is the desired state). On a
 * file, the log is checkpointed on a thread of its own (see {@link checkpointInBackground}).
 * Costs nothing on PostgreSQL or an in-memory SQLite.
 */
export async function tuneSqlite(db: Knex): Promise<void> {
  if (db.client.config.client !== 'better-sqlite3') return;
  const [mode] = await db.raw('pragma journal_mode = wal');
  if (mode?.journal_mode === 'wal') {
    await db.raw('pragma synchronous = normal');
    const filename = sqliteFilename(db);
    if (filename) await checkpointInBackground(db, filename);
  }
}

/** The file of a SQLite database, or undefined when it is in memory. */
function sqliteFilename(db: Knex): string | undefined {
  const connection = db.client.config.connection as
    | string
    | { filename?: string }
    | undefined;
  const filename =
    typeof connection === 'string' ? connection : connection?.filename;
  if (
    !filename ||
    filename === ':memory:' ||
    filename.includes('mode=memory')
  ) {
    return undefined;
  }
  return filename;
}

/**
 * `items` in parts of at most `size`: for statements whose bound parameters grow with the
 * number of items (SQLite and PostgreSQL both cap how many a statement may bind).
 */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    parts.push(items.slice(i, i + size));
  }
  return parts;
}

export function isPostgres(db: Knex): boolean {
  return db.client.config.client === 'pg';
}

/**
 * JSON with object keys sorted, so equal values always serialize (and hash) the same.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .filter(key => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map(key => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** sha256 hex of a string. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The digest of a value: sha256 of its canonical JSON. */
export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Parses a JSON text column, tolerating NULL. */
export function readJson<T>(value: string | null | undefined, fallback: T): T {
  return value ? (JSON.parse(value) as T) : fallback;
}

/**
 * Whether an error is a unique constraint violation, on SQLite or PostgreSQL.
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(e?.message ?? '')
  );
}

/** Opaque cursors for keyset pagination. */
export const cursors = {
  encode(values: unknown[]): string {
    return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
  },
  decode(cursor: string): unknown[] | undefined {
    try {
      const parsed = JSON.parse(
        Buffer.from(cursor, 'base64url').toString('utf8'),
      );
      return Array.isArray(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  },
};
