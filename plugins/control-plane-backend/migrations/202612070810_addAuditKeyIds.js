// @ts-check

/**
 * Keyed audit hashes: each event names the key its HMAC-SHA256 was made with, and whether its
 * actor is proven (an authenticated request or a commit the control plane signed) or only
 * claimed (a commit pushed by hand). Events written before have neither: they keep their
 * sha256 hash and still verify, as the chain's unkeyed prefix.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('audit_events', table => {
    table
      .string('key_id', 32)
      .nullable()
      .comment('Id of the key the hash was made with; null: sha256, unkeyed');
    table
      .boolean('verified')
      .nullable()
      .comment(
        'Whether the actor is proven, not only claimed by a pushed commit',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('audit_events', table => {
    table.dropColumn('key_id');
    table.dropColumn('verified');
  });
};
