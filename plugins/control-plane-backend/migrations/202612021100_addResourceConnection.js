// @ts-check

/**
 * How to reach a READY resource: the endpoint its networking step configured, and the name
 * of the secret its driver wrote the connection details to (never the details themselves).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('resources', table => {
    table
      .text('endpoint')
      .comment(
        'JSON { host, port, hostname? } where clients connect, once READY',
      );
    table
      .string('connection_secret', 253)
      .comment(
        'Name of the secret with the connection details, on its cluster',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('resources', table => {
    table.dropColumn('endpoint');
    table.dropColumn('connection_secret');
  });
};
