// @ts-check

/**
 * The approvals projects' own policies ask of a proposed change (their Project manifests'
 * `approvals`), kept so the pull request's check asks for them each time it is updated.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('change_proposals', table => {
    table
      .text('required_approvals')
      .nullable()
      .comment('JSON: [{ kind, project, groups }]');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('change_proposals', table => {
    table.dropColumn('required_approvals');
  });
};
