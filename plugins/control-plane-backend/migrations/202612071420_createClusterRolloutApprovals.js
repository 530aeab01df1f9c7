// @ts-check

/**
 * Approvals of channel rollouts that need one: a platform engineer lets a channel's clusters
 * move to a new minor.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('cluster_rollout_approvals', table => {
    table.comment('Approved channel rollouts to a new Kubernetes minor');
    table.string('channel', 16).notNullable();
    table.string('minor', 16).notNullable().comment('e.g. 1.32');
    table.string('approved_by', 255).notNullable();
    table.bigInteger('approved_at').notNullable();
    table.primary(['channel', 'minor']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('cluster_rollout_approvals');
};
