// @ts-check

/**
 * SQLite only: operation_steps becomes a WITHOUT ROWID table, clustered on its primary key
 * (operation_id, position). A rowid table keeps that key in a second b-tree, so every step
 * the saga engine starts wrote two pages where one does; the engine writes a step record in
 * each of its commits. PostgreSQL has no such distinction: nothing changes there.
 *
 * SQLite cannot alter a table into WITHOUT ROWID, so the table is rebuilt from its own
 * definition, rows included.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await rebuild(knex, sql => `${sql} WITHOUT ROWID`);
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await rebuild(knex, sql => sql.replace(/\s+WITHOUT ROWID\s*$/i, ''));
};

/**
 * @param {import('knex').Knex} knex
 * @param {(sql: string) => string} change the table's CREATE statement, rewritten
 */
async function rebuild(knex, change) {
  if (knex.client.config.client === 'pg') return;
  const row = await knex('sqlite_master')
    .where({ type: 'table', name: 'operation_steps' })
    .first('sql');
  const definition = change(
    String(row.sql).replace(
      /^CREATE TABLE\s+[`"]?operation_steps[`"]?/i,
      'CREATE TABLE `operation_steps_rebuilt`',
    ),
  );
  await knex.raw(definition);
  await knex.raw(
    'INSERT INTO operation_steps_rebuilt SELECT * FROM operation_steps',
  );
  await knex.raw('DROP TABLE operation_steps');
  await knex.raw(
    'ALTER TABLE operation_steps_rebuilt RENAME TO operation_steps',
  );
}
