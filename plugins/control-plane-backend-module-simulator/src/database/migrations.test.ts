import { TestDatabases } from '@backstage/backend-test-utils';
import { appliedMigrations, migrateDownAll, migrateUp } from './migrations';

const databases = TestDatabases.create();

const tables = [
  'simulator_claims',
  'simulator_networking',
  'simulator_dns_records',
  'simulator_backups',
  'simulator_side_effects',
  'simulator_faults',
  'simulator_applications',
  'simulator_traffic_routes',
];

describe.each(databases.eachSupportedId())('migrations on %s', databaseId => {
  it('go all the way up, all the way down, and up again, in their own migrations table', async () => {
    const knex = await databases.init(databaseId);

    await migrateUp(knex);
    const applied = await appliedMigrations(knex);
    expect(applied).toContain('202611241200_createSimulatorTables.js');
    for (const table of tables) {
      expect(await knex.schema.hasTable(table)).toBe(true);
    }
    expect(await knex.schema.hasColumn('simulator_faults', 'version')).toBe(
      true,
    );
    // The plugin's own list of migrations (knex's default table) is not ours to touch.
    expect(await knex.schema.hasTable('simulator_knex_migrations')).toBe(true);
    expect(await knex.schema.hasTable('knex_migrations')).toBe(false);

    await migrateDownAll(knex);
    expect(await appliedMigrations(knex)).toEqual([]);
    for (const table of tables) {
      expect(await knex.schema.hasTable(table)).toBe(false);
    }

    await migrateUp(knex);
    expect(await appliedMigrations(knex)).toEqual(applied);
  });
});
