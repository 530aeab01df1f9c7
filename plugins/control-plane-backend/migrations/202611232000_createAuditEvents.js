// @ts-check

/**
 * The audit log: append-only, each event chained to the previous one by a hash.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('audit_events', table => {
    table.comment('Append-only audit log, hash-chained');
    table.bigInteger('id').primary().comment('Position in the chain, from 1');
    table.string('at', 32).notNullable().comment('ISO-8601 UTC, as hashed');
    table.string('actor', 255).notNullable();
    table.string('action', 64).notNullable();
    table.string('target', 255).notNullable();
    table.string('outcome', 16).notNullable();
    table.text('reason');
    table.string('source_ip', 64);
    table.text('user_agent');
    table.string('request_id', 64);
    table.text('approvers').notNullable().comment('JSON array');
    table.string('commit_sha', 40);
    table.string('before_digest', 64);
    table.string('after_digest', 64);
    table.string('prev_hash', 64).notNullable();
    table.string('hash', 64).notNullable();
    table.index(['actor'], 'audit_events_actor_idx');
    table.index(['target'], 'audit_events_target_idx');
    table.index(['action'], 'audit_events_action_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('audit_events');
};
