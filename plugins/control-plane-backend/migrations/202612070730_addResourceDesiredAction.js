// @ts-check

/**
 * What made a resource's desired generation, next to the commit it came from: the request
 * the commit carried (its Action trailer, e.g. resource.scale) and when the index took it
 * in. An operation request (scale, upgrade-version, migrate) commits the spec it brings
 * about and then records its operation; the reconciler reads these to leave such a
 * generation to that operation for a grace period rather than race it with an update.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('resources', table => {
    table
      .string('desired_action', 64)
      .comment(
        'Action trailer of the commit of the desired generation (e.g. resource.scale)',
      );
    table
      .timestamp('desired_indexed_at', { useTz: true })
      .comment('When the index took in the desired generation');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  // Native DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL) rather than knex's SQLite emulation,
  // which rebuilds the table (with its partial indexes).
  await knex.raw('ALTER TABLE resources DROP COLUMN desired_indexed_at');
  await knex.raw('ALTER TABLE resources DROP COLUMN desired_action');
};
