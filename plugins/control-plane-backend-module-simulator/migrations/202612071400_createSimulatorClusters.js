// @ts-check

/**
 * The clusters the simulator's cluster driver fakes: one row per cluster, its simulated
 * state (versions, pools, changes under way, injected faults) as JSON.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('simulator_clusters', table => {
    table.comment('Clusters of the simulated cluster driver');
    table.string('name', 255).notNullable().primary();
    table.text('state').notNullable().comment('the SimulatedCluster, JSON');
    table.bigInteger('updated_at').notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('simulator_clusters');
};
