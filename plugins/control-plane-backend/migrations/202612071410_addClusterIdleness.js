// @ts-check

/**
 * Idle clusters: since when a managed cluster has had nothing placed on it, and the change
 * proposed to decommission it (so it is proposed once).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('clusters', table => {
    table
      .bigInteger('empty_since')
      .nullable()
      .comment('ms since epoch; null while resources are placed on it');
    table
      .string('decommission_proposal', 255)
      .nullable()
      .comment('the change proposed to decommission it, once idle');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('clusters', table => {
    table.dropColumn('empty_since');
    table.dropColumn('decommission_proposal');
  });
};
