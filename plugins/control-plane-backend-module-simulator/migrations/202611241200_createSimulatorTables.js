// @ts-check

/**
 * The simulated multicloud: what "exists" on each simulated cluster, the log of side effects
 * keyed by idempotency token, and the faults in force. Times are epoch milliseconds, so the
 * time arithmetic of the simulation is the same on SQLite and PostgreSQL.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('simulator_claims', table => {
    table.comment(
      'Simulated resources (claims), one per cluster and resource incarnation',
    );
    table.string('cluster', 255).notNullable();
    table.string('uid', 255).notNullable().comment('the resource incarnation');
    table.string('ref', 255).notNullable();
    table.string('namespace', 255).notNullable();
    table.string('name', 255).notNullable();
    table.string('product', 64).notNullable();
    table.string('tier', 64).notNullable();
    table.string('owner', 255).notNullable();
    table.string('provider', 64).notNullable();
    table.string('cell', 64).notNullable();
    table.string('region', 64).notNullable();
    table.text('zones').notNullable().comment('JSON array of the target zones');
    table.text('params').notNullable().comment('JSON: parameters as applied');
    table.integer('generation').notNullable();
    table.string('version', 128).notNullable();
    table.string('primary_zone', 64);
    table.integer('secret_version').notNullable().defaultTo(1);
    table
      .string('health', 16)
      .notNullable()
      .defaultTo('healthy')
      .comment('healthy, degraded or failed (set through the admin API)');
    table.text('health_message');
    table.bigInteger('health_changed_at');
    table
      .integer('revision')
      .notNullable()
      .comment('how many changes were applied to this claim');
    table.bigInteger('drifted_at');
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table
      .bigInteger('ready_at')
      .notNullable()
      .comment('provisioning ends at this instant');
    table.bigInteger('deleting_at');
    table
      .bigInteger('absent_at')
      .comment('deprovisioning ends at this instant');
    table.primary(['cluster', 'uid']);
    table.index(['ref'], 'simulator_claims_ref_idx');
  });

  await knex.schema.createTable('simulator_networking', table => {
    table.comment('Simulated endpoints opened to consumers');
    table.string('cluster', 255).notNullable();
    table.string('uid', 255).notNullable();
    table.string('ref', 255).notNullable();
    table.string('host', 255).notNullable();
    table.integer('port').notNullable();
    table.bigInteger('created_at').notNullable();
    table.primary(['cluster', 'uid']);
    table.index(['ref'], 'simulator_networking_ref_idx');
  });

  await knex.schema.createTable('simulator_dns_records', table => {
    table.comment('Simulated DNS records: a hostname pointing at one cluster');
    table.string('hostname', 255).notNullable().primary();
    table.string('ref', 255).notNullable();
    table.string('uid', 255).notNullable();
    table.string('cluster', 255).notNullable();
    table.string('target', 255).notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.index(['ref'], 'simulator_dns_records_ref_idx');
  });

  await knex.schema.createTable('simulator_backups', table => {
    table.comment('Simulated backups taken by the backup operation');
    table.string('id', 64).notNullable().primary();
    table.string('ref', 255).notNullable();
    table.string('uid', 255).notNullable();
    table.string('cluster', 255).notNullable();
    table.string('operation_id', 255).notNullable();
    table.string('label', 63);
    table.integer('size_gi').notNullable();
    table.bigInteger('created_at').notNullable();
    table.index(['ref'], 'simulator_backups_ref_idx');
  });

  await knex.schema.createTable('simulator_side_effects', table => {
    table.comment(
      'Every side effect applied, once per idempotency token and action',
    );
    table.string('token', 512).notNullable();
    table
      .string('action', 32)
      .notNullable()
      .comment('the driver method: apply, delete, registerDns, ...');
    table.string('detail', 128).comment('operation type and step');
    table.string('cluster', 255).notNullable();
    table.string('ref', 255).notNullable();
    table
      .text('result')
      .comment('JSON: what the first call returned, replayed to later calls');
    table
      .integer('calls')
      .notNullable()
      .comment('calls that carried this token, the first included');
    table.bigInteger('applied_at').notNullable();
    table.bigInteger('last_call_at').notNullable();
    table.primary(['token', 'action']);
    table.index(['action'], 'simulator_side_effects_action_idx');
  });

  await knex.schema.createTable('simulator_faults', table => {
    table.comment('Injected faults, shared by every replica');
    table.string('id', 64).notNullable().primary();
    table
      .string('kind', 32)
      .notNullable()
      .comment(
        'error-rate, lost-response, provider-outage, cluster-outage, slow-step or step-failure',
      );
    table.string('source', 16).notNullable().comment('config or api');
    table.string('provider', 64);
    table.string('cluster', 255);
    table.string('step', 255);
    table.string('action', 32);
    table.string('ref', 255);
    table.double('rate');
    table.integer('delay_ms');
    table
      .integer('remaining')
      .comment('calls left to fail; NULL fails until lifted');
    table.text('message');
    table.bigInteger('created_at').notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('simulator_faults');
  await knex.schema.dropTable('simulator_side_effects');
  await knex.schema.dropTable('simulator_backups');
  await knex.schema.dropTable('simulator_dns_records');
  await knex.schema.dropTable('simulator_networking');
  await knex.schema.dropTable('simulator_claims');
};
