// @ts-check

/**
 * Which request holds an Idempotency-Key (a token per claim, so a request whose lease was
 * taken over cannot overwrite the answer of the one that took it), and the operation each
 * key created (so a request retried after a crash finds its operation instead of starting
 * a second one).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('idempotency_keys', table => {
    table
      .string('lease_token', 36)
      .comment('Random token of the request holding the key while in flight');
  });
  await knex.schema.createTable('operation_requests', table => {
    table.comment(
      'The operation each Idempotency-Key created, per caller (kept as long as the key)',
    );
    table.string('principal', 255).notNullable();
    table.string('key', 255).notNullable();
    table.uuid('operation_id').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.primary(['principal', 'key']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('operation_requests');
  await knex.schema.alterTable('idempotency_keys', table => {
    table.dropColumn('lease_token');
  });
};
