/**
 * The saga engine's hot statements, private to SagaStore (its only importer), run on the driver's own connection rather than through
 * the query builder: a step is a few small writes, and building, compiling and dispatching
 * them through knex cost more than running them. On PostgreSQL they are named statements
 * (the server parses and plans each once per connection); on SQLite, better-sqlite3
 * statements prepared once per connection, run synchronously.
 *
 * Each function takes a knex or a knex transaction: given a transaction, it runs on that
 * transaction's connection, inside it (a better-sqlite3 transaction nested there is a
 * savepoint).
 */
import { Knex } from 'knex';
import { now } from '../database/time';
import { isPostgres } from '../database/util';
import { streamData, streamMessage } from './timeline';
import type { ClaimedOperation } from './records';

/**
 * An event of an operation, as its timeline reads: it is written once, to the resource's
 * stream, with the operation's id (see ../operations/timeline.ts).
 */
export interface EngineEvent {
  type: string;
  step?: string;
  message: string;
  data?: Record<string, unknown>;
}

/** A step that succeeded: its position and what it returned. */
export interface FinishedStep {
  position: number;
  result: unknown;
}

/** A step to record as started (or as a new attempt of it). */
export interface NextStep {
  position: number;
  name: string;
}

const json = (data?: Record<string, unknown>) =>
  data ? JSON.stringify(data) : null;

/** Runs `fn` on the raw connection of `db`: a transaction's own, or one from the pool. */
async function onConnection<T>(
  db: Knex | Knex.Transaction,
  fn: (connection: any) => T | Promise<T>,
): Promise<T> {
  const { client } = db;
  const connection = await client.acquireConnection();
  try {
    return await fn(connection);
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * The start (or a new attempt, on a step recorded before) of a step, from the operation id,
 * position, name and time: values, or the columns of a select `from` a CTE.
 */
function startStepSql(
  [id, position, name, at]: [string, string, string, string],
  from?: string,
): string {
  const row = `${id}, ${position}, ${name}, 'running', 1, ${at}`;
  return `INSERT INTO operation_steps (operation_id, position, name, state, attempts, started_at)
    ${from ? `SELECT ${row} FROM ${from}` : `VALUES (${row})`}
    ON CONFLICT (operation_id, position) DO UPDATE
    SET state = 'running', attempts = operation_steps.attempts + 1,
        started_at = excluded.started_at, error = NULL`;
}

/**
 * What a claim returns (see toClaimed), by name: a named statement's result columns are
 * fixed when it is prepared, so `*` would break it on a connection that outlived a migration
 * adding a column.
 */
const CLAIMED_COLUMNS = [
  'id',
  'type',
  'resource_uid',
  'resource_ref',
  'state',
  'params',
  'actor',
  'trace_id',
  'span_id',
  'target_generation',
  'cancel_requested',
  'fencing_token',
].join(', ');

/**
 * Leases up to `limit` runnable operations (but those running here) to a worker, giving an
 * operation without a trace id one (`traceId`: a SQL expression of 32 random hex digits).
 */
function claimSql(p: {
  owner: string;
  until: string;
  at: string;
  notRunning: string;
  limit: string;
  lock: string;
  traceId: string;
}): string {
  return `UPDATE operations
    SET lease_owner = ${p.owner}, lease_until = ${p.until}, updated_at = ${p.at},
        fencing_token = fencing_token + 1,
        state = CASE WHEN state = 'pending' THEN 'running' ELSE state END,
        trace_id = COALESCE(trace_id, ${p.traceId})
    WHERE id IN (
      SELECT id FROM operations
      WHERE state IN ('pending', 'running', 'compensating') AND next_run_at <= ${p.at}
      AND (lease_until IS NULL OR lease_until < ${p.at}) AND ${p.notRunning}
      ORDER BY next_run_at ASC LIMIT ${p.limit} ${p.lock}
    )
    RETURNING ${CLAIMED_COLUMNS}`;
}

// ---------------------------------------------------------------------------------------
// SQLite

const SQLITE = {
  fence:
    'UPDATE operations SET updated_at = ? WHERE id = ? AND fencing_token = ?',
  // A step's end is fenced by its own row (no write to the operation): the update matches
  // only while the worker holds the fencing token.
  finish: `UPDATE operation_steps SET state = 'succeeded', result = ?, error = NULL, finished_at = ?
    WHERE operation_id = ? AND position = ?
    AND EXISTS (SELECT 1 FROM operations WHERE id = ? AND fencing_token = ?)`,
  start: startStepSql(['?', '?', '?', '?']),
  event: `INSERT INTO resource_events (resource_ref, resource_uid, type, step, message, operation_id, data, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  claim: claimSql({
    owner: '?',
    until: '?',
    at: '?',
    notRunning: 'id NOT IN (SELECT value FROM json_each(?))',
    limit: '?',
    lock: '',
    traceId: 'lower(hex(randomblob(16)))',
  }),
  savepoint: 'SAVEPOINT idp_saga',
  release: 'RELEASE idp_saga',
  rollback: 'ROLLBACK TO idp_saga',
};

type SqliteStatements = { [K in keyof typeof SQLITE]: any } & {
  /** {@link advance} as one immediate transaction (a savepoint inside another). */
  advance: { immediate(args: SqliteAdvance): boolean };
};

interface SqliteAdvance {
  at: string;
  op: ClaimedOperation;
  finished?: FinishedStep;
  next: NextStep;
  events: EngineEvent[];
}

/** better-sqlite3 statements belong to their connection: prepared once for each. */
const sqliteStatements = new WeakMap<object, SqliteStatements>();

function sqlite(connection: any): SqliteStatements {
  const known = sqliteStatements.get(connection);
  if (known) return known;
  const statements = Object.fromEntries(
    Object.entries(SQLITE).map(([name, sql]) => [
      name,
      connection.prepare(sql),
    ]),
  ) as SqliteStatements;
  statements.advance = connection.transaction(
    ({ at, op, finished, next, events }: SqliteAdvance): boolean => {
      const held = finished
        ? statements.finish.run(
            JSON.stringify(finished.result ?? null),
            at,
            op.id,
            finished.position,
            op.id,
            op.fencingToken,
          ).changes === 1
        : statements.fence.run(at, op.id, op.fencingToken).changes === 1;
      if (!held) return false;
      statements.start.run(op.id, next.position, next.name, at);
      sqliteEvents(statements, at, op, events);
      return true;
    },
  );
  sqliteStatements.set(connection, statements);
  return statements;
}

/** An event's columns: the resource's, its own, the operation's id, its data, the time. */
function eventColumns(op: ClaimedOperation, e: EngineEvent) {
  return [
    e.type,
    e.step ?? null,
    streamMessage(op.type, e.message, e.step),
    json(streamData(e.data, e.step)),
  ];
}

function sqliteEvents(
  statements: SqliteStatements,
  at: string,
  op: ClaimedOperation,
  events: EngineEvent[],
) {
  for (const e of events) {
    const [type, step, message, data] = eventColumns(op, e);
    statements.event.run(
      op.resourceRef,
      op.resourceUid,
      type,
      step,
      message,
      op.id,
      data,
      at,
    );
  }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/** Positional parameters of a PostgreSQL statement, and rows of typed placeholders. */
class Parameters {
  readonly values: unknown[] = [];

  /** `$n` for a value, appended. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** `($n::text, …), …`: one row of text placeholders per item. */
  rows(items: unknown[][]): string {
    return items
      .map(item => `(${item.map(v => `${this.add(v)}::text`).join(', ')})`)
      .join(', ');
  }
}

/**
 * The CTE inserting the events (none without events), each row conditional on `source` (a
 * CTE yielding the operation id when the write is fenced, or a one-row select of it).
 */
function postgresEvents(
  p: Parameters,
  op: ClaimedOperation,
  events: EngineEvent[],
  at: string,
  source: string,
): string[] {
  if (events.length === 0) return [];
  const ref = p.add(op.resourceRef);
  const uid = p.add(op.resourceUid);
  const rows = p.rows(events.map(e => eventColumns(op, e)));
  return [
    `events AS (
      INSERT INTO resource_events (resource_ref, resource_uid, type, step, message, operation_id, data, created_at)
      SELECT ${ref}::text, ${uid}::text, e.type, e.step, e.message, ${source}.id, e.data, ${at}::timestamptz
      FROM ${source}, (VALUES ${rows}) AS e(type, step, message, data)
      RETURNING 1
    )`,
  ];
}

/**
 * Runs a named statement on the connection of `db` (a transaction's own, or one from the
 * pool). A name stands for one text: where the text depends on how many events there are,
 * so does the name.
 */
async function pgQuery(
  db: Knex | Knex.Transaction,
  name: string,
  text: string,
  values: unknown[],
): Promise<Array<Record<string, any>>> {
  const result = await onConnection(db, c => c.query({ name, text, values }));
  return result.rows;
}

// ---------------------------------------------------------------------------------------

/**
 * Records a step's success (or, without `finished`, nothing before), the start of the next
 * step and the events, atomically and fenced: true when the worker held the fencing token;
 * otherwise nothing was written. PostgreSQL: one statement (data-modifying CTEs, atomic on
 * its own); SQLite: one immediate transaction, which takes the write lock at BEGIN, so the
 * fence checked first holds to the commit.
 */
export async function advance(
  db: Knex,
  op: ClaimedOperation,
  finished: FinishedStep | undefined,
  next: NextStep,
  events: EngineEvent[],
): Promise<boolean> {
  const at = now();
  if (!isPostgres(db)) {
    return onConnection(db, c =>
      sqlite(c).advance.immediate({ at, op, finished, next, events }),
    );
  }
  const p = new Parameters();
  const when = p.add(at);
  const [id, token] = [p.add(op.id), p.add(op.fencingToken)];
  const result = p.add(JSON.stringify(finished?.result ?? null));
  const position = p.add(finished?.position ?? -1); // none: the update matches no step
  const start = startStepSql(
    [
      'id',
      `${p.add(next.position)}::integer`,
      `${p.add(next.name)}::text`,
      `${when}::timestamptz`,
    ],
    'fence',
  );
  const ctes = [
    `fence AS (
      UPDATE operations SET updated_at = ${when}::timestamptz
      WHERE id = ${id} AND fencing_token = ${token}
      RETURNING id
    )`,
    `finished AS (
      UPDATE operation_steps
      SET state = 'succeeded', result = ${result}, error = NULL,
          finished_at = ${when}::timestamptz
      WHERE operation_id = (SELECT id FROM fence) AND position = ${position}::integer
      RETURNING 1
    )`,
    `started AS (${start} RETURNING 1)`,
    ...postgresEvents(p, op, events, when, 'fence'),
  ];
  const text = `WITH ${ctes.join(', ')}
    SELECT (SELECT count(*) FROM fence) AS fenced`;
  const rows = await pgQuery(
    db,
    `idp_saga_advance_${events.length}`,
    text,
    p.values,
  );
  return Number(rows[0].fenced) === 1;
}

/** Appends the engine's events, in `trx` (fenced by it). */
export async function appendEvents(
  trx: Knex.Transaction,
  op: ClaimedOperation,
  events: EngineEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const at = now();
  if (!isPostgres(trx)) {
    await onConnection(trx, c => sqliteEvents(sqlite(c), at, op, events));
    return;
  }
  const p = new Parameters();
  const when = p.add(at);
  const text = `WITH ${[
    `source AS (SELECT ${p.add(op.id)}::text AS id)`,
    ...postgresEvents(p, op, events, when, 'source'),
  ].join(', ')} SELECT 1`;
  await pgQuery(trx, `idp_saga_events_${events.length}`, text, p.values);
}

/**
 * Leases up to `limit` runnable operations to `worker` until `until`, leaving out those it
 * runs already (`running`): one statement, which on PostgreSQL skips the rows another
 * worker is claiming. Returns the claimed rows.
 */
export async function claim(
  db: Knex | Knex.Transaction,
  worker: string,
  until: string,
  limit: number,
  running: string[],
): Promise<any[]> {
  const at = now();
  if (!isPostgres(db)) {
    return onConnection(db, c =>
      sqlite(c).claim.all(
        worker,
        until,
        at,
        at,
        at,
        JSON.stringify(running),
        limit,
      ),
    );
  }
  const text = claimSql({
    owner: '$1',
    until: '$2::timestamptz',
    at: '$3::timestamptz',
    notRunning: 'NOT (id = ANY($4::text[]))',
    limit: '$5',
    lock: 'FOR UPDATE SKIP LOCKED',
    traceId: "replace(gen_random_uuid()::text, '-', '')",
  });
  return pgQuery(db, 'idp_saga_claim', text, [
    worker,
    until,
    at,
    running,
    limit,
  ]);
}

/**
 * SQLite: runs `fn` in `trx` under a savepoint: what it wrote is undone when it throws, and
 * the transaction goes on. (A savepoint statement rather than a nested knex transaction,
 * which costs more than the statements it wraps.)
 */
export async function underSqliteSavepoint<T>(
  trx: Knex.Transaction,
  fn: () => Promise<T>,
): Promise<T> {
  const statements = await onConnection(trx, sqlite);
  statements.savepoint.run();
  try {
    const value = await fn();
    statements.release.run();
    return value;
  } catch (error) {
    statements.rollback.run();
    statements.release.run();
    throw error;
  }
}

/** Records the start (or a new attempt) of a step, in `trx`. */
export async function startStep(
  trx: Knex.Transaction,
  operationId: string,
  next: NextStep,
): Promise<void> {
  const at = now();
  if (!isPostgres(trx)) {
    await onConnection(trx, c =>
      sqlite(c).start.run(operationId, next.position, next.name, at),
    );
    return;
  }
  await pgQuery(
    trx,
    'idp_saga_start',
    startStepSql(['$1', '$2', '$3', '$4::timestamptz']),
    [operationId, next.position, next.name, at],
  );
}
