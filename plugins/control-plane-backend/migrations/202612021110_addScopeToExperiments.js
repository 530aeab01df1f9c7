// @ts-check

/**
 * The placements an experiment takes part in (tiers, cells), and when it stopped.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('experiments', table => {
    table
      .text('scope')
      .notNullable()
      .defaultTo('{}')
      .comment('JSON: { tiers?, cells? }; every placement when empty');
    table.timestamp('stopped_at', { useTz: true });
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('experiments', table => {
    table.dropColumn('stopped_at');
    table.dropColumn('scope');
  });
};
