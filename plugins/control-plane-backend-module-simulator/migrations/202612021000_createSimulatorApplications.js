// @ts-check

/**
 * Every time the simulator actually performs a side effect, one row: unlike
 * `simulator_side_effects` (one row per idempotency token, whose calls after the first are
 * replays), this log is append-only and keyed by nothing the deduplication relies on, so a
 * side effect performed twice — under one token or under two — shows as two rows.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('simulator_applications', table => {
    table.comment('Every side effect the simulator performed (not replayed)');
    table.bigIncrements('id').primary();
    table.string('token', 512).notNullable();
    table.string('action', 32).notNullable();
    table.string('detail', 128).comment('operation type and step');
    table.string('cluster', 255).notNullable();
    table.string('ref', 255).notNullable();
    table.bigInteger('applied_at').notNullable();
    table.index(['token', 'action'], 'simulator_applications_token_idx');
    table.index(['ref'], 'simulator_applications_ref_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('simulator_applications');
};
