/**
 * Databases for benchmarks: a SQLite file (durable, like the example app's) and a fresh
 * database on the PostgreSQL that scripts/bench found or started.
 */
import knexFactory, { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchDatabase {
  name: string;
  knex: Knex;
  /** A connection string to the same database (PostgreSQL only). */
  url?: string;
  close(): Promise<void>;
}

export async function sqliteFile(): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: join(dir, 'bench.sqlite') },
    useNullAsDefault: true,
  });
  return {
    name: 'sqlite',
    knex,
    async close() {
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function postgres(): Promise<BenchDatabase> {
  const url = process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!url) {
    throw new Error(
      'no PostgreSQL for benchmarks: run them through `yarn bench`, which provides one',
    );
  }
  const database = `idp_bench_${process.pid}_${Date.now()}`;
  const admin = knexFactory({ client: 'pg', connection: url });
  await admin.raw(`CREATE DATABASE ${database}`);
  // The database goes into the URL: node-postgres lets a connection string's (absent)
  // database override a `database` given beside it, which would bench in `postgres`.
  const target = new URL(url);
  target.pathname = `/${database}`;
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: target.toString() },
    pool: { min: 1, max: 10 },
  });
  return {
    name: 'postgres',
    knex,
    url: target.toString(),
    async close() {
      await knex.destroy();
      await admin.raw(`DROP DATABASE IF EXISTS ${database}`);
      await admin.destroy();
    },
  };
}

export const allDatabases = [sqliteFile, postgres];

/** The databases a run asks for: all, or the one named (`sqlite`, `postgres`). */
export function databasesFor(name?: string) {
  if (name === undefined) return allDatabases;
  return name === 'sqlite' ? [sqliteFile] : [postgres];
}
