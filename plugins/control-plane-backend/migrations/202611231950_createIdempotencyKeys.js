// @ts-check

/**
 * Idempotency keys of mutating requests (IETF draft semantics): the first response of each
 * key, per caller, kept for at least a day.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('idempotency_keys', table => {
    table.comment('The first response to each Idempotency-Key, per caller');
    table.string('principal', 255).notNullable();
    table.string('key', 255).notNullable();
    table
      .string('fingerprint', 64)
      .notNullable()
      .comment('sha256 of method, path and body');
    table.string('state', 16).notNullable().comment('in_flight or completed');
    table.integer('response_status');
    table.text('response_body');
    table.timestamp('lease_until', { useTz: true }).notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('expires_at', { useTz: true }).notNullable();
    table.primary(['principal', 'key']);
    table.index(['expires_at'], 'idempotency_keys_expiry_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('idempotency_keys');
};
