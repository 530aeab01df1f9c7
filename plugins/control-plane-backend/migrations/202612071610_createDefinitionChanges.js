// @ts-check

/**
 * Breaking changes of product definitions, as they were applied: the findings, the resources
 * they reach and the migration guide, written in the transaction that indexes the commit;
 * `notified_at` is set once the affected owners were notified (an outbox).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('definition_changes', table => {
    table.string('id', 36).primary();
    table.string('product', 255).notNullable();
    table.string('commit_sha', 40).notNullable();
    table.string('actor', 512).notNullable();
    table.text('findings').notNullable().comment('JSON');
    table.text('affected').notNullable().comment('JSON');
    table.text('guide').notNullable().comment('the migration guide, Markdown');
    table.string('created_at', 32).notNullable();
    table.string('notified_at', 32).nullable();
    table.unique(['commit_sha', 'product'], {
      indexName: 'definition_changes_commit_product',
    });
    table.index(['product'], 'definition_changes_by_product');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('definition_changes');
};
