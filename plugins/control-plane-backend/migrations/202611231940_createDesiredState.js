// @ts-check

/**
 * The index of desired state: every object of the state repository at the commit the index
 * follows, the commits it has taken in, and the commits it refused.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('desired_objects', table => {
    table.comment('Every object of the state repository at the indexed commit');
    table.string('kind', 32).notNullable();
    table.string('namespace', 63).notNullable();
    table.string('name', 63).notNullable();
    table.text('manifest').notNullable().comment('The parsed manifest (JSON)');
    table
      .string('digest', 64)
      .notNullable()
      .comment('sha256 of the canonical manifest');
    table
      .bigInteger('generation')
      .notNullable()
      .comment('Bumped on every spec change');
    table
      .string('commit_sha', 40)
      .notNullable()
      .comment('Commit that last changed it');
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.primary(['kind', 'namespace', 'name']);
  });

  await knex.schema.createTable('state_repo_sync', table => {
    table.comment('The commit the index follows (a single row)');
    table.integer('id').primary();
    table.string('indexed_commit', 40);
    table.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('state_repo_rejections', table => {
    table.comment('Heads of the state repository the index refused, and why');
    table.string('commit_sha', 40).primary();
    table.string('author', 255).notNullable();
    table.text('message').notNullable();
    table.text('errors').notNullable().comment('JSON array of strings');
    table.timestamp('detected_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('state_changes', table => {
    table.comment('Every commit the index has taken in, with its trailers');
    table.string('commit_sha', 40).primary();
    table.string('actor', 255).notNullable();
    table.text('message').notNullable();
    table.string('request_id', 64);
    table.string('idempotency_key', 255);
    table.timestamp('committed_at', { useTz: true }).notNullable();
    table.timestamp('indexed_at', { useTz: true }).notNullable();
    table.index(['actor', 'idempotency_key'], 'state_changes_key_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('state_changes');
  await knex.schema.dropTable('state_repo_rejections');
  await knex.schema.dropTable('state_repo_sync');
  await knex.schema.dropTable('desired_objects');
};
