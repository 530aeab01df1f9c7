// @ts-check

/**
 * Clusters as managed objects: what the control plane observed of each cluster (its phase,
 * versions, nodes, conditions), its lifecycle operations (sagas whose steps are recorded in
 * the row, claimed with a lease and a fencing token), and its health score over time.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('clusters', table => {
    table.comment('Observed state of clusters (their desired state is in Git)');
    table.string('name', 255).notNullable().primary();
    table.string('phase', 32).notNullable();
    table.string('control_plane_version', 32).nullable();
    table.text('pools').notNullable().comment('observed node pools, JSON');
    table.integer('nodes_ready').notNullable().defaultTo(0);
    table.integer('nodes_total').notNullable().defaultTo(0);
    table.text('conditions').notNullable().comment('conditions, JSON');
    table.string('certificates_expire_at', 64).nullable();
    table.bigInteger('phase_changed_at').notNullable();
    table.bigInteger('observed_at').notNullable();
  });
  await knex.schema.createTable('cluster_operations', table => {
    table.comment('Lifecycle operations of clusters, each a durable saga');
    table.string('id', 64).notNullable().primary();
    table.string('cluster', 255).notNullable();
    table.string('type', 32).notNullable();
    table
      .string('state', 32)
      .notNullable()
      .comment('pending, running, succeeded, compensated, failed');
    table.text('params').notNullable();
    table.string('actor', 255).notNullable();
    table.text('error').nullable();
    table.text('steps').notNullable().comment('the step records, JSON');
    table.string('lease_owner', 64).nullable();
    table.bigInteger('lease_until').notNullable().defaultTo(0);
    table.integer('fence').notNullable().defaultTo(0);
    table.bigInteger('run_after').notNullable().defaultTo(0);
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.index(['state', 'run_after'], 'cluster_operations_runnable_idx');
    table.index(['cluster', 'created_at'], 'cluster_operations_cluster_idx');
  });
  await knex.schema.createTable('cluster_health_samples', table => {
    table.comment('Health score of each cluster over time');
    table.increments('id');
    table.string('cluster', 255).notNullable();
    table.bigInteger('at').notNullable();
    table.integer('score').notNullable();
    table.text('breakdown').notNullable();
    table.index(['cluster', 'at'], 'cluster_health_samples_cluster_at_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('cluster_health_samples');
  await knex.schema.dropTable('cluster_operations');
  await knex.schema.dropTable('clusters');
};
