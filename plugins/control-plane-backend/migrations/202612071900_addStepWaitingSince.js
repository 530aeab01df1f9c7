// @ts-check

/**
 * When a step first waited (a pause, a poll of a GitOps tool): kept across its runs, so a
 * step that waits can bound its wait durably, whatever restarts or replicas ran it between.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('operation_steps', table => {
    table.timestamp('waiting_since', { useTz: true }).nullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('operation_steps', table => {
    table.dropColumn('waiting_since');
  });
};
