// @ts-check

/**
 * Deployments: one row per rollout of a resource to a new version (its plan, the step in
 * progress, the routing in force, who started and approved it, its outcome), and the
 * measurements of its analyses. The deploy saga that runs it is an ordinary operation.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('deployments', table => {
    table.string('id', 36).primary();
    table.string('resource_uid', 36).notNullable();
    table.string('resource_ref', 512).notNullable();
    table.string('operation_id', 36).notNullable().unique();
    table.string('from_version', 128).notNullable();
    table.string('to_version', 128).notNullable();
    table.bigInteger('generation').notNullable();
    table.string('strategy', 16).notNullable();
    table.string('phase', 16).notNullable();
    table.text('message').nullable();
    table.integer('current_step').notNullable().defaultTo(0);
    table.text('plan').notNullable().comment('the steps, as JSON');
    table.text('steps').notNullable().comment('each step’s state and times');
    table.text('weights').notNullable().comment('the routing in force');
    table
      .text('control')
      .notNullable()
      .comment('what people asked: promote, pause, approvals');
    table.string('actor', 512).notNullable();
    table.string('started_at', 32).notNullable();
    table.string('ended_at', 32).nullable();
    table.string('updated_at', 32).notNullable();
    table.index(['resource_uid', 'started_at'], 'deployments_by_resource');
    table.index(['phase'], 'deployments_by_phase');
  });
  await knex.schema.createTable('deployment_measurements', table => {
    table.string('deployment_id', 36).notNullable();
    table.integer('step').notNullable();
    table.string('cell', 128).notNullable().defaultTo('');
    table.integer('idx').notNullable();
    table.string('verdict', 16).notNullable();
    table.text('metrics').notNullable();
    table.string('started_at', 32).notNullable();
    table.string('ended_at', 32).notNullable();
    table.primary(['deployment_id', 'step', 'cell', 'idx']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('deployment_measurements');
  await knex.schema.dropTable('deployments');
};
