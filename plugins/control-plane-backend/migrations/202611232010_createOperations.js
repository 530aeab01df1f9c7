// @ts-check

/**
 * Operations on resources (create, update, delete and the unified contract) and their
 * timelines.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('operations', table => {
    table.comment('Durable runs acting on a resource');
    table.string('id', 36).primary();
    table.string('resource_uid', 36).notNullable();
    table.string('resource_ref', 140).notNullable();
    table.string('type', 32).notNullable();
    table.string('state', 24).notNullable();
    table.text('params').notNullable();
    table.string('actor', 255).notNullable();
    table.text('reason');
    table.string('trace_id', 32);
    table
      .bigInteger('target_generation')
      .comment(
        'The desired generation this operation brings about, when it changes the spec',
      );
    table.boolean('cancel_requested').notNullable().defaultTo(false);
    table.text('error').comment('Why the operation failed or was parked');
    table
      .string('lease_owner', 64)
      .comment('The worker running it; null when nobody holds it');
    table.timestamp('lease_until', { useTz: true });
    table
      .bigInteger('fencing_token')
      .notNullable()
      .defaultTo(0)
      .comment('Bumped on every claim; every write of a worker checks it');
    table
      .timestamp('next_run_at', { useTz: true })
      .notNullable()
      .comment('Not before: backoff of a retried step');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.index(['resource_uid'], 'operations_resource_idx');
    table.index(['state', 'next_run_at'], 'operations_runnable_idx');
  });
  // At most one operation in flight per resource.
  await knex.raw(
    `CREATE UNIQUE INDEX operations_one_active_uniq ON operations (resource_uid) WHERE state IN ('pending', 'running', 'compensating')`,
  );

  await knex.schema.createTable('operation_steps', table => {
    table.comment(
      'The steps of each operation: recorded before and after their side effect',
    );
    table
      .string('operation_id', 36)
      .notNullable()
      .references('id')
      .inTable('operations')
      .onDelete('CASCADE');
    table.integer('position').notNullable();
    table.string('name', 64).notNullable();
    table
      .string('state', 24)
      .notNullable()
      .comment(
        'running, succeeded, failed, compensating, compensated, compensation-failed',
      );
    table.integer('attempts').notNullable().defaultTo(0);
    table.integer('compensation_attempts').notNullable().defaultTo(0);
    table
      .text('result')
      .comment('JSON the step returned, for later steps and compensation');
    table.text('error');
    table.timestamp('started_at', { useTz: true });
    table.timestamp('finished_at', { useTz: true });
    table.primary(['operation_id', 'position']);
  });

  await knex.schema.createTable('operation_events', table => {
    table.comment('The timeline of each operation');
    table.bigIncrements('id').primary();
    table
      .string('operation_id', 36)
      .notNullable()
      .references('id')
      .inTable('operations')
      .onDelete('CASCADE');
    table.string('type', 64).notNullable();
    table.string('step', 64);
    table.text('message').notNullable();
    table.text('data');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index(['operation_id', 'id'], 'operation_events_operation_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('operation_steps');
  await knex.schema.dropTable('operation_events');
  await knex.schema.dropTable('operations');
};
