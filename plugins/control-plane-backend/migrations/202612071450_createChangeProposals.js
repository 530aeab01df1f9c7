// @ts-check

/**
 * Change proposals: changes that need review, written as a commit on a branch of the state
 * repository's remote and opened as a pull request; followed until merged and applied, or
 * closed.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('change_proposals', table => {
    table.string('id', 36).primary();
    table.string('actor', 512).notNullable();
    table.string('title', 512).notNullable();
    table.string('branch', 255).notNullable();
    table.string('base_branch', 255).notNullable();
    table.string('commit', 40).notNullable();
    table.text('objects').notNullable().comment('what it touches, as JSON');
    table.text('plan').notNullable().comment('the plan, as Markdown');
    table.integer('pull_request').nullable();
    table.string('url', 1024).nullable();
    table
      .string('status', 24)
      .notNullable()
      .comment('awaiting-approval, merged, applied or closed');
    table.text('approvers').notNullable().defaultTo('[]');
    table.string('merge_commit', 40).nullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
    table.index(['status'], 'change_proposals_by_status');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('change_proposals');
};
