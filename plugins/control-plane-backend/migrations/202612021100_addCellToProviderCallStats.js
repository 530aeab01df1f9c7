// @ts-check

/**
 * Provider health per cell: driver calls are counted per provider, cell and minute, so that
 * placement scores the latency of a provider's clusters in the requested cell rather than
 * its mean over every cell. Replaces provider_call_stats (a five-minute window: nothing worth
 * keeping is lost).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('provider_cell_call_stats', table => {
    table.comment(
      'Driver calls per provider, cell and minute: the sliding window of provider health',
    );
    table.string('provider', 63).notNullable();
    table
      .string('cell', 63)
      .notNullable()
      .comment("The target's cell; '' when a call had none");
    table
      .timestamp('bucket', { useTz: true })
      .notNullable()
      .comment('Start of the minute');
    table.integer('calls').notNullable().defaultTo(0);
    table.integer('failures').notNullable().defaultTo(0);
    table.float('latency_ms_sum').notNullable().defaultTo(0);
    table.float('latency_ms_max').notNullable().defaultTo(0);
    table.primary(['provider', 'cell', 'bucket']);
    table.index(['bucket'], 'provider_cell_call_stats_bucket_idx');
  });
  await knex.schema.dropTable('provider_call_stats');
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
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
  await knex.schema.dropTable('provider_cell_call_stats');
};
