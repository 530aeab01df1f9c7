// @ts-check

/**
 * Indexes for the reconciler, so that the work of a pass follows what changed rather than how
 * many resources there are: a partial index over the resources whose desired generation is
 * ahead of the one running (SQLite and PostgreSQL both index a WHERE clause comparing two
 * columns), and the audit events of a commit (to tell a change an operation request made).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(
    'CREATE INDEX resources_changed_idx ON resources (state) WHERE generation > observed_generation',
  );
  await knex.schema.alterTable('audit_events', table => {
    table.index(['commit_sha'], 'audit_events_commit_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('audit_events', table => {
    table.dropIndex(['commit_sha'], 'audit_events_commit_idx');
  });
  await knex.raw('DROP INDEX resources_changed_idx');
};
