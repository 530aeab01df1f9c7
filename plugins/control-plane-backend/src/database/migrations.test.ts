import { TestDatabases } from '@backstage/backend-test-utils';
import { migrateDownAll, migrateUp, migrationStatus } from './migrations';

const databases = TestDatabases.create();

describe.each(databases.eachSupportedId())('migrations on %s', databaseId => {
  it('go all the way up, all the way down, and up again', async () => {
    const knex = await databases.init(databaseId);

    await migrateUp(knex);
    const up = await migrationStatus(knex);
    expect(up.pending).toEqual([]);
    expect(up.applied).toContain('202611231930_createResources.js');
    expect(await knex.schema.hasTable('resources')).toBe(true);

    await migrateDownAll(knex);
    expect((await migrationStatus(knex)).applied).toEqual([]);
    expect(await knex.schema.hasTable('resources')).toBe(false);
    expect(await knex.schema.hasTable('resource_transitions')).toBe(false);

    await migrateUp(knex);
    expect((await migrationStatus(knex)).applied).toEqual(up.applied);
  });
});
