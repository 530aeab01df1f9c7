// @ts-check

/**
 * PostgreSQL: `audit_events_head_is(id, hash)`, so that the audit log appends in one
 * statement, `insert into audit_events select * from jsonb_populate_record(null::audit_events,
 * event) where audit_events_head_is(id, hash)` (the event as JSON, built by the backend after
 * the head it expects). The function takes the audit lock (the advisory lock appends have
 * always taken), then reads the chain's head, in a snapshot of its own taken after the lock
 * (the true head: a statement's own snapshot predates the locks it waits for), and says
 * whether it is the event with that id and hash (id 0 and the genesis hash: no event yet).
 * A function, so that PostgreSQL plans that read once per connection rather than once per
 * event. SQLite needs none: it has a single writer.
 *
 * A column added to audit_events later must be written by the backend: a row built from
 * JSON gets null, not the column's default, for a key it lacks.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw(`
    create function audit_events_head_is(after_id bigint, after_hash text)
    returns boolean
    language plpgsql volatile
    as $$
    declare
      head_id bigint;
      head_hash text;
    begin
      perform pg_advisory_xact_lock(74123001);
      select id, hash into head_id, head_hash
        from audit_events order by id desc limit 1;
      return coalesce(head_id, 0) = after_id
        and coalesce(head_hash, repeat('0', 64)) = after_hash;
    end
    $$
  `);
  await knex.raw(
    `comment on function audit_events_head_is(bigint, text) is 'Takes the audit lock, then whether the newest audit event has this id and hash'`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('drop function audit_events_head_is(bigint, text)');
};
