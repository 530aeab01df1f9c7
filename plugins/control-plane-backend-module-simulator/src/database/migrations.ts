import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationConfig: Knex.MigratorConfig = {
  directory: resolvePackagePath(
    '@idp-multicloud/plugin-control-plane-backend-module-simulator',
    'migrations',
  ),
  loadExtensions: ['.js'],
  // The control plane's own migrations live in the same database under knex's default
  // table; the simulator keeps a separate list so neither sees the other's files.
  tableName: 'simulator_knex_migrations',
};

/** Brings the simulator's tables up to date. */
export async function migrateUp(knex: Knex): Promise<void> {
  await knex.migrate.latest(migrationConfig);
}

const migrating = new WeakMap<Knex, Promise<void>>();

/**
 * Brings the simulator's tables up to date once per database client: the simulator's modules
 * start side by side, and two knex migrators racing on one database fail.
 */
export function migrateUpOnce(knex: Knex): Promise<void> {
  let done = migrating.get(knex);
  if (!done) {
    done = migrateUp(knex);
    migrating.set(knex, done);
    done.catch(() => migrating.delete(knex));
  }
  return done;
}

/** Undoes every migration of the simulator, newest first (used by the migration tests). */
export async function migrateDownAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback(migrationConfig, true);
}

/** Names of the simulator's migrations applied so far. */
export async function appliedMigrations(knex: Knex): Promise<string[]> {
  const [completed] = await knex.migrate.list(migrationConfig);
  return (completed as unknown[]).map(m =>
    typeof m === 'string' ? m : (m as { name: string }).name,
  );
}

/** Whether the knex instance talks to PostgreSQL. */
export function isPostgres(knex: Knex): boolean {
  const client = knex.client.config.client;
  return client === 'pg' || client === 'postgres' || client === 'postgresql';
}
