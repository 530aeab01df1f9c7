import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@idp-multicloud/plugin-control-plane-backend',
  'migrations',
);

const migrationConfig = { directory: migrationsDir, loadExtensions: ['.js'] };

/** Brings the schema up to date. */
export async function migrateUp(knex: Knex): Promise<void> {
  await knex.migrate.latest(migrationConfig);
}

/** Undoes one migration, by its file name (used by the migration tests). */
export async function migrateDownOne(knex: Knex, name: string): Promise<void> {
  await knex.migrate.down({ ...migrationConfig, name });
}

/** Undoes every migration, newest first (used by the migration tests). */
export async function migrateDownAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback(migrationConfig, true);
}

/** Names of the migrations applied and still pending. */
export async function migrationStatus(
  knex: Knex,
): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = await knex.migrate.list(migrationConfig);
  const nameOf = (m: unknown) =>
    typeof m === 'string'
      ? m
      : (m as { name?: string; file?: string }).name ??
        (m as { file: string }).file;
  return {
    applied: (completed as unknown[]).map(nameOf),
    pending: (pending as unknown[]).map(nameOf),
  };
}

/** The knex client name (`better-sqlite3`, `pg`, ...). */
export function databaseClient(knex: Knex): string {
  const client = knex.client.config.client;
  return typeof client === 'string' ? client : knex.client.dialect;
}
