import { TestDatabases } from '@backstage/backend-test-utils';
import {
  migrateDownAll,
  migrateDownOne,
  migrateUp,
  migrationStatus,
} from './migrations';

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

  it('keeps the steps of operations through the rebuild of operation_steps, both ways', async () => {
    const knex = await databases.init(databaseId);
    await migrateUp(knex);
    const sqlite = databaseId.startsWith('SQLITE');
    const definition = async () =>
      sqlite
        ? String(
            (
              await knex('sqlite_master')
                .where({ name: 'operation_steps' })
                .first('sql')
            ).sql,
          )
        : '';
    expect((await migrationStatus(knex)).applied.at(-1)).toBe(
      '202612021200_operationStepsWithoutRowid.js',
    );
    // (PostgreSQL has no such thing: its definition reads empty here)
    expect(await definition()).toMatch(sqlite ? /WITHOUT ROWID$/ : /^$/);

    await migrateDownOne(knex);
    expect(await definition()).not.toMatch(/WITHOUT ROWID/);
    const at = new Date().toISOString();
    await knex('operations').insert({
      id: 'op-1',
      resource_uid: 'uid-1',
      resource_ref: 'resource:default/db',
      type: 'create',
      state: 'running',
      params: '{}',
      actor: 'user:default/jane',
      next_run_at: at,
      created_at: at,
      updated_at: at,
    });
    const steps = [0, 1].map(position => ({
      operation_id: 'op-1',
      position,
      name: `step_${position}`,
      state: position === 0 ? 'succeeded' : 'running',
      attempts: 1,
      compensation_attempts: 0,
      result: position === 0 ? '{"ok":true}' : null,
      error: null,
    }));
    await knex('operation_steps').insert(steps);
    const read = () =>
      knex('operation_steps').orderBy('position').select(Object.keys(steps[0]));

    await migrateUp(knex);
    expect(await read()).toEqual(steps);
    // the primary key still holds
    await expect(
      knex('operation_steps').insert({ ...steps[0], name: 'again' }),
    ).rejects.toThrow();
    await migrateDownOne(knex);
    expect(await read()).toEqual(steps);
  });
});
