// @ts-check

/**
 * Faults of kind `misbehaving-version`: a version of a resource whose simulated workload fails
 * more requests, answers more slowly or leaks. They reuse `ref`, `rate` (error rate) and
 * `delay_ms` (added latency), and need the version and the leak. Also the traffic routing of
 * each resource, which the simulator's traffic router keeps (a restart keeps the weights).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('simulator_faults', table => {
    table
      .string('version', 255)
      .comment('the version a misbehaving-version fault affects');
    table
      .double('leak_ms_per_minute')
      .comment(
        'latency a misbehaving-version fault adds per minute since created_at',
      );
  });
  await knex.schema.createTable('simulator_traffic_routes', table => {
    table.comment(
      'The traffic router of the simulator: how the requests of each resource are split',
    );
    table.string('ref', 255).notNullable().primary();
    table.text('target').notNullable().comment('the TrafficTarget, JSON');
    table.text('routing').notNullable().comment('the TrafficRouting, JSON');
    table.string('token', 512).comment('idempotency token of the last change');
    table.bigInteger('updated_at').notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('simulator_traffic_routes');
  await knex.schema.alterTable('simulator_faults', table => {
    table.dropColumn('leak_ms_per_minute');
    table.dropColumn('version');
  });
};
