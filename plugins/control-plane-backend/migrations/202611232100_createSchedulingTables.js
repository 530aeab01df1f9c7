// @ts-check

/**
 * Scheduling: every placement decision with its explanation (the candidates, why each
 * rejected one was rejected, the score breakdown of the others); provider health from driver
 * calls over a sliding window, and each provider's circuit breaker; placement experiments and
 * feature flags.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('placement_decisions', table => {
    table.comment('Placement decisions of the scheduler, explained');
    table.bigIncrements('id').primary();
    table.string('resource_uid', 36).notNullable();
    table.string('resource_ref', 140).notNullable();
    table.string('operation_id', 36);
    table
      .string('cluster', 63)
      .comment('The selected cluster; null when none qualified');
    table.string('provider', 63);
    table
      .string('experiment', 63)
      .comment('The experiment the decision took part in');
    table
      .string('arm', 63)
      .comment('The experiment arm (scoring policy) it used');
    table
      .text('decision')
      .notNullable()
      .comment('JSON: candidates, verdicts, weights');
    table.text('explanation').notNullable();
    table.float('duration_ms').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index(['resource_uid', 'id'], 'placement_decisions_resource_idx');
    table.index(['experiment', 'arm'], 'placement_decisions_experiment_idx');
  });

  await knex.schema.createTable('provider_call_stats', table => {
    table.comment(
      'Driver calls per provider and minute: the sliding window of provider health',
    );
    table.string('provider', 63).notNullable();
    table
      .timestamp('bucket', { useTz: true })
      .notNullable()
      .comment('Start of the minute');
    table.integer('calls').notNullable().defaultTo(0);
    table.integer('failures').notNullable().defaultTo(0);
    table.float('latency_ms_sum').notNullable().defaultTo(0);
    table.float('latency_ms_max').notNullable().defaultTo(0);
    table.primary(['provider', 'bucket']);
  });

  await knex.schema.createTable('provider_breakers', table => {
    table.comment('The circuit breaker of each provider, kept across restarts');
    table.string('provider', 63).primary();
    table
      .string('state', 16)
      .notNullable()
      .comment('closed, open or half-open');
    table.integer('consecutive_failures').notNullable().defaultTo(0);
    table.integer('probe_successes').notNullable().defaultTo(0);
    table.timestamp('opened_at', { useTz: true });
    table.text('reason');
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('experiments', table => {
    table.comment('A/B experiments on scoring policies');
    table.string('name', 63).primary();
    table.text('description');
    table.string('status', 16).notNullable().comment('running or stopped');
    table
      .text('arms')
      .notNullable()
      .comment('JSON: [{ name, percent, weights }]');
    table.string('created_by', 255).notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('feature_flags', table => {
    table.comment('Feature flags of platform behaviour, global or per cell');
    table.string('name', 63).notNullable();
    table.string('scope', 80).notNullable().comment("'global' or 'cell:<id>'");
    table.text('value').notNullable().comment('JSON');
    table.string('updated_by', 255).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.primary(['name', 'scope']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('feature_flags');
  await knex.schema.dropTable('experiments');
  await knex.schema.dropTable('provider_breakers');
  await knex.schema.dropTable('provider_call_stats');
  await knex.schema.dropTable('placement_decisions');
};
