// @ts-check

/**
 * Observed state of resources: one row per incarnation, its state transitions, and the
 * events shown on its event stream.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('resources', table => {
    table.comment('Observed state of each resource incarnation');
    table.string('uid', 36).primary().comment('Unique id of this incarnation');
    table.string('namespace', 63).notNullable();
    table.string('name', 63).notNullable();
    table.string('product', 63).notNullable();
    table
      .string('owner', 255)
      .notNullable()
      .comment('Owning group or user entity ref');
    table
      .string('component', 255)
      .comment('Component or system entity ref it serves');
    table.string('tier', 16).notNullable();
    table.string('cell', 63).notNullable();
    table.text('spec').notNullable().comment('Last desired spec (JSON)');
    table.text('labels').notNullable().defaultTo('{}');
    table.string('state', 16).notNullable();
    table.text('state_reason');
    table.bigInteger('generation').notNullable().defaultTo(1);
    table.bigInteger('observed_generation').notNullable().defaultTo(0);
    table
      .bigInteger('failed_generation')
      .comment(
        'The last generation whose operation failed: not retried until it changes',
      );
    table
      .string('desired_commit', 40)
      .comment('State repository commit of the spec');
    table.text('placement').comment('JSON: cell, provider, cluster');
    table.string('version', 128);
    table.text('conditions').notNullable().defaultTo('[]');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.timestamp('updated_at', { useTz: true }).notNullable();
    table.index(['state'], 'resources_state_idx');
    table.index(['owner'], 'resources_owner_idx');
    table.index(['component'], 'resources_component_idx');
    table.index(['namespace', 'name'], 'resources_name_idx');
  });
  // One live incarnation per name; a DELETED one keeps its history without blocking reuse.
  await knex.raw(
    `CREATE UNIQUE INDEX resources_live_name_uniq ON resources (namespace, name) WHERE state <> 'DELETED'`,
  );

  await knex.schema.createTable('resource_transitions', table => {
    table.comment(
      'Every persisted state transition of a resource, with its cause',
    );
    table.bigIncrements('id').primary();
    table
      .string('resource_uid', 36)
      .notNullable()
      .references('uid')
      .inTable('resources')
      .onDelete('CASCADE');
    table.string('from_state', 16);
    table.string('to_state', 16).notNullable();
    table.string('operation_id', 36);
    table.string('actor', 255).notNullable();
    table.text('reason').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index(['resource_uid', 'id'], 'resource_transitions_resource_idx');
  });

  await knex.schema.createTable('resource_events', table => {
    table.comment(
      'The event stream of each resource (state changes, steps, drift, ...)',
    );
    table.bigIncrements('id').primary();
    table.string('resource_ref', 140).notNullable();
    table.string('resource_uid', 36);
    table.string('type', 64).notNullable();
    table.text('message').notNullable();
    table.string('state', 16);
    table.string('operation_id', 36);
    table.text('data');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index(['resource_ref', 'id'], 'resource_events_ref_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('resource_events');
  await knex.schema.dropTable('resource_transitions');
  await knex.schema.dropTable('resources');
};
