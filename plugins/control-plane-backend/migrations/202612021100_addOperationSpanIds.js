// @ts-check

/**
 * The span that accepted an operation (its parent in the operation's trace, next to the
 * trace id already stored): every step span of the operation, on whichever replica runs it,
 * is a child of it. Null when tracing was off or did not sample the request.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('operations', table => {
    table
      .string('span_id', 16)
      .comment(
        'W3C span id of the span that accepted the operation (sampled); parent of its step spans',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  // Native DROP COLUMN (SQLite ≥ 3.35 and PostgreSQL) rather than knex's SQLite emulation,
  // which rebuilds the table (with its partial unique index and the foreign keys to it).
  await knex.raw('ALTER TABLE operations DROP COLUMN span_id');
};
