// @ts-check

/** Event types that only the timeline had. */
const TIMELINE_ONLY = ['operation.cancel-requested', 'operation.retried'];

/**
 * One event table: an operation's timeline is the events of its resource's stream that
 * carry its id, so the saga engine writes each event once (it wrote every one to both
 * `operation_events` and `resource_events`). The stream gains a `step` column and an index
 * by operation; the two kinds of event only the timeline had (a cancel request, a resumed
 * compensation) move to the stream; `operation_events` goes.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('resource_events', table => {
    table
      .string('step', 64)
      .comment('The saga step an operation event is about, if any');
    table.index(['operation_id', 'id'], 'resource_events_operation_idx');
  });
  const step =
    knex.client.config.client === 'pg'
      ? knex.raw(`data::json ->> 'step'`)
      : knex.raw(`json_extract(data, '$.step')`);
  // The engine's events: the stream's data held the step, and `{}` when there was none,
  // where the timeline had nothing.
  await knex('resource_events')
    .whereNotNull('operation_id')
    .whereNotNull('data')
    .update({ step });
  await knex('resource_events')
    .whereNotNull('operation_id')
    .whereNull('step')
    .where({ data: '{}' })
    .update({ data: null });
  // An operation's acceptance: the timeline held its params, the stream nothing.
  await knex('resource_events')
    .where({ type: 'operation.accepted' })
    .whereNotNull('operation_id')
    .update({
      data: knex('operation_events')
        .select('data')
        .where('operation_events.type', 'operation.accepted')
        .where(
          'operation_events.operation_id',
          knex.ref('resource_events.operation_id'),
        )
        .limit(1),
    });
  // What only the timeline had moves to the stream, read there like the engine's events.
  // Its ids come after the stream's: an old timeline lists these last.
  const timelineOnly = await knex('operation_events as e')
    .join('operations as o', 'o.id', 'e.operation_id')
    .whereIn('e.type', TIMELINE_ONLY)
    .orderBy('e.id')
    .select(
      'o.type as operation_type',
      'o.resource_ref',
      'o.resource_uid',
      'e.operation_id',
      'e.type',
      'e.step',
      'e.message',
      'e.data',
      'e.created_at',
    );
  const moved = timelineOnly.map(({ operation_type, ...row }) => ({
    ...row,
    message: `${operation_type}: ${row.message}`,
  }));
  for (let i = 0; i < moved.length; i += 100) {
    await knex('resource_events').insert(moved.slice(i, i + 100));
  }
  await knex.schema.dropTable('operation_events');
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
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
  const rows = await knex('resource_events as e')
    .join('operations as o', 'o.id', 'e.operation_id')
    .whereNot('e.type', 'state.changed') // the stream's own
    .orderBy('e.id')
    .select('e.*', 'o.type as operation_type');
  const timeline = rows.map(row => ({
    operation_id: row.operation_id,
    type: row.type,
    step: row.step,
    message: withoutPrefix(row.operation_type, row.message, row.step),
    data: withoutStep(row.data),
    created_at: row.created_at,
  }));
  for (let i = 0; i < timeline.length; i += 100) {
    await knex('operation_events').insert(timeline.slice(i, i + 100));
  }
  await knex('resource_events').whereIn('type', TIMELINE_ONLY).delete();
  await knex('resource_events')
    .where({ type: 'operation.accepted' })
    .update({ data: null });
  await knex('resource_events')
    .whereNotNull('operation_id')
    .whereNull('step')
    .whereNull('data')
    .whereNotIn('type', ['state.changed', 'operation.accepted'])
    .update({ data: '{}' });
  await knex.schema.alterTable('resource_events', table => {
    table.dropIndex(['operation_id', 'id'], 'resource_events_operation_idx');
    table.dropColumn('step');
  });
};

/**
 * The timeline's message of a stream event (see operations/timeline.ts, which this copies:
 * a migration does not import code that changes after it).
 *
 * @param {string} operationType
 * @param {string} message
 * @param {string | null} step
 */
function withoutPrefix(operationType, message, step) {
  const prefix = step ? `${operationType} · ${step}: ` : `${operationType}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** @param {string | null} data */
function withoutStep(data) {
  if (!data) return null;
  const { step, ...rest } = JSON.parse(data);
  return Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
}
