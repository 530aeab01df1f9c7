import { InputError } from '@backstage/errors';
import { AuditEvent } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { chunked, cursors, isPostgres, sha256 } from '../database/util';
import { RequestSource } from '../context';
import { AuditKeyring } from './AuditKeys';

/** Events per insert statement of {@link AuditLog.appendMany} (18 parameters each on SQLite). */
const APPEND_CHUNK = 50;

/** The hash that precedes the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Where the chain stood at a commit the control plane made: the commit's own event must
 * exist, and so must the event its `Audit-Head` trailer names, with that hash. Git holds the
 * anchors, so deleting or rewriting events with SQL (which the chain alone cannot show when
 * it is done at the chain's end) is found. Only the control plane's own (signed) commits are
 * anchors: a hand-pushed commit can name any event.
 */
export interface AuditAnchor {
  commit: string;
  head?: { id: number; hash: string };
}

/** The result of {@link AuditLog.verify}. */
export interface AuditVerdict {
  valid: boolean;
  checked: number;
  firstBroken?: { id: number; reason: string };
}

const LONE_SURROGATE_OR_NUL =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\0/g;

/**
 * A string as both databases store it: well-formed UTF-16 (a lone surrogate becomes U+FFFD,
 * as the drivers would make it), no NUL (PostgreSQL refuses it in text), and at most `max`
 * code points (what a PostgreSQL varchar counts), never splitting a surrogate pair. What is
 * hashed is what is stored, so the stored row verifies.
 */
export function storable<T extends string | null>(value: T, max = Infinity): T {
  if (value === null) return value;
  const clean = value.replace(LONE_SURROGATE_OR_NUL, '\uFFFD');
  if (clean.length <= max) return clean as T;
  let end = 0;
  let count = 0;
  while (end < clean.length && count < max) {
    const code = clean.charCodeAt(end);
    end += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
    count += 1;
  }
  return clean.slice(0, end) as T;
}

/** What a caller records; the log adds id, time and the chain. */
export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  outcome: AuditEvent['outcome'];
  reason?: string;
  source?: RequestSource;
  requestId?: string;
  approvers?: string[];
  commit?: string;
  beforeDigest?: string;
  afterDigest?: string;
  /**
   * Whether the actor is proven: true for an authenticated request and a commit the control
   * plane signed; false for a commit pushed by hand, whose author is only what it claims.
   * Default: false for a `git:` actor (only a hand push is one, e.g. the transitions its
   * commit causes), true otherwise.
   */
  verified?: boolean;
}

type Row = {
  id: string | number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  approvers: string;
  commit_sha: string | null;
  before_digest: string | null;
  after_digest: string | null;
  prev_hash: string;
  /** The key the hash was made with; null for an event hashed before keys (sha256 only). */
  key_id: string | null;
  verified: boolean | number | null;
  hash: string;
};

/**
 * The fields an event's hash covers, in a fixed canonical form (unkeyed events): the
 * canonical JSON of these fields (keys sorted, as {@link canonicalJson} writes it), built
 * with its keys already in order, since every event is hashed this way when the chain is
 * verified.
 */
function legacyForm(row: Omit<Row, 'hash'>): string {
  return JSON.stringify({
    action: row.action,
    actor: row.actor,
    afterDigest: row.after_digest,
    approvers: row.approvers,
    at: row.at,
    beforeDigest: row.before_digest,
    commit: row.commit_sha,
    id: Number(row.id),
    outcome: row.outcome,
    prevHash: row.prev_hash,
    reason: row.reason,
    requestId: row.request_id,
    sourceIp: row.source_ip,
    target: row.target,
    userAgent: row.user_agent,
  });
}

/**
 * The hash of an event made before the log was keyed: sha256, which anyone can recompute.
 * Only a prefix of the chain may be hashed this way (exported for tests that forge rows).
 */
export function legacyHashAuditRow(row: Omit<Row, 'hash'>): string {
  return sha256(`${row.prev_hash}\n${legacyForm(row)}`);
}

/** The fields a keyed hash covers: the legacy ones, the key id and whether the actor is proven. */
function keyedForm(row: Omit<Row, 'hash'>): string {
  return `${row.prev_hash}\n${JSON.stringify({
    form: legacyForm(row),
    keyId: row.key_id,
    verified: Boolean(row.verified),
  })}`;
}

/**
 * The hash of a stored event row: HMAC-SHA256 under the key its `key_id` names (undefined
 * when that key is unknown), or the legacy sha256 for an event without a key id. Exported for
 * tests that forge rows.
 */
export function hashAuditRow(
  row: Omit<Row, 'hash'>,
  keys: AuditKeyring,
): string | undefined {
  if (row.key_id === null) return legacyHashAuditRow(row);
  return keys.mac('audit-chain', keyedForm(row), row.key_id);
}

/** The newest event of the chain: its id and hash ({@link GENESIS} before the first). */
interface ChainHead {
  id: number;
  hash: string;
}

const GENESIS: ChainHead = { id: 0, hash: GENESIS_HASH };

/** The chain's newest event, as the transaction sees it. */
async function readHead(trx: Knex.Transaction): Promise<ChainHead> {
  const last = await trx<Row>('audit_events')
    .orderBy('id', 'desc')
    .first('id', 'hash');
  return last ? { id: Number(last.id), hash: last.hash } : GENESIS;
}

/** The keyring of AuditLogs built without one (tests): random, for this process only. */
let processKeyring: AuditKeyring | undefined;

function toEvent(row: Row): AuditEvent {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditEvent['outcome'],
    ...(row.reason ? { reason: row.reason } : {}),
    source: {
      ...(row.source_ip ? { ip: row.source_ip } : {}),
      ...(row.user_agent ? { userAgent: row.user_agent } : {}),
    },
    ...(row.request_id ? { requestId: row.request_id } : {}),
    approvers: JSON.parse(row.approvers),
    ...(row.commit_sha ? { commit: row.commit_sha } : {}),
    ...(row.before_digest ? { beforeDigest: row.before_digest } : {}),
    ...(row.after_digest ? { afterDigest: row.after_digest } : {}),
    // An event from before actors were verified: only one the API wrote itself (no commit)
    // is known to name an authenticated caller.
    verified: row.verified === null ? !row.commit_sha : Boolean(row.verified),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

/**
 * The append-only, hash-chained audit log. Each event's hash covers the previous event's hash
 * and the event's own canonical form, so changing, removing or reordering any stored event
 * breaks the chain from there on. This class never updates or deletes a row.
 */
export class AuditLog {
  private readonly keys: AuditKeyring;
  /**
   * The last event this log appended on PostgreSQL: a guess at the chain's head, checked
   * when the next event is inserted (see {@link AuditLog.appendOnPostgres}).
   */
  private lastWritten: ChainHead | undefined;

  /**
   * @param keys - the audit keys (see loadAuditKeyring); without them, a random key of this
   * process (tests): its events verify only in this process.
   */
  constructor(private readonly db: Knex, keys?: AuditKeyring) {
    this.keys = keys ?? (processKeyring ??= AuditKeyring.random());
  }

  /**
   * Appends an event, in the caller's transaction when given one (so an event and the change
   * it records commit together). Appends are serialized: on PostgreSQL by an advisory lock
   * held to the end of the transaction (see {@link AuditLog.appendOnPostgres}), on SQLite by
   * its single writer.
   */
  async append(entry: AuditEntry, trx?: Knex.Transaction): Promise<AuditEvent> {
    const [event] = await this.appendMany([entry], trx);
    return event;
  }

  /**
   * Appends events in this order, chained one after another, as {@link append} would one by
   * one, in one statement (a few hundred events at a time).
   */
  async appendMany(
    entries: AuditEntry[],
    trx?: Knex.Transaction,
  ): Promise<AuditEvent[]> {
    if (entries.length === 0) return [];
    if (!trx) {
      return this.db.transaction(tx => this.appendMany(entries, tx));
    }
    const events: AuditEvent[] = [];
    for (const part of chunked(entries, APPEND_CHUNK)) {
      if (isPostgres(this.db)) {
        events.push(...(await this.appendOnPostgres(part, trx)));
      } else {
        const rows = this.chainAfter(part, await readHead(trx));
        await trx('audit_events').insert(rows);
        events.push(...rows.map(toEvent));
      }
    }
    return events;
  }

  /** The rows of `entries`, chained one after another after `head`. */
  private chainAfter(entries: AuditEntry[], head: ChainHead): Row[] {
    const rows: Row[] = [];
    let previous = head;
    for (const entry of entries) {
      const row = this.eventAfter(entry, previous);
      rows.push(row);
      previous = { id: Number(row.id), hash: row.hash };
    }
    return rows;
  }

  /**
   * The append on PostgreSQL, in one statement when this log wrote the chain's head (the
   * usual case: one writer, or several in turn). The events are built after the head this
   * log last wrote, and inserted only where `audit_events_head_is` (see its migration) says
   * that head is still the chain's, which it checks once, under the audit lock (the one
   * earlier versions take too, so they and this one exclude each other). A guess that no
   * longer holds (another process appended, or the transaction of this log's last event
   * rolled back) inserts nothing: the head is then read, under the lock now held, and the
   * events built again.
   */
  private async appendOnPostgres(
    entries: AuditEntry[],
    trx: Knex.Transaction,
  ): Promise<AuditEvent[]> {
    let head = this.lastWritten ?? GENESIS;
    for (let attempt = 1; ; attempt++) {
      const rows = this.chainAfter(entries, head);
      // The rows go as JSON (one parameter, not one per column: cheaper to plan); a JSON
      // string is exactly the text it encodes, so what is stored is what was hashed. The
      // check is a subquery of its own, so it runs once, before any row is inserted.
      const { rows: inserted } = await trx.raw(
        `insert into audit_events
         select r.* from jsonb_populate_recordset(null::audit_events, ?) r
          where (select audit_events_head_is(?, ?))
         returning id`,
        [JSON.stringify(rows), head.id, head.hash],
      );
      if (inserted.length === rows.length) {
        const last = rows[rows.length - 1];
        this.lastWritten = { id: Number(last.id), hash: last.hash };
        return rows.map(toEvent);
      }
      if (attempt === 2) {
        // The head was read under the lock: only a writer that does not take it moves it.
        throw new Error(
          'the audit chain moved while this append held its lock: something writes audit_events without taking the lock',
        );
      }
      head = await readHead(trx);
    }
  }

  /** The event an entry is stored as, chained after `head`. */
  private eventAfter(entry: AuditEntry, head: ChainHead): Row {
    // Values are clipped to their columns, by code point: an over-long one (a request's
    // path, say) is recorded in part rather than failing the transaction it is part of, and
    // what is hashed is exactly what the database stores.
    const base: Omit<Row, 'hash'> = {
      id: head.id + 1,
      at: DateTime.utc().toISO(),
      actor: storable(entry.actor, 255),
      action: storable(entry.action, 64),
      target: storable(entry.target, 255),
      outcome: entry.outcome,
      reason: storable(entry.reason ?? null),
      source_ip: storable(entry.source?.ip ?? null, 64),
      user_agent: storable(entry.source?.userAgent ?? null),
      request_id: storable(entry.requestId ?? null, 64),
      approvers: JSON.stringify((entry.approvers ?? []).map(a => storable(a))),
      commit_sha: storable(entry.commit ?? null, 40),
      before_digest: storable(entry.beforeDigest ?? null, 64),
      after_digest: storable(entry.afterDigest ?? null, 64),
      prev_hash: head.hash,
      key_id: this.keys.currentId,
      verified: entry.verified ?? !entry.actor.startsWith('git:'),
    };
    return { ...base, hash: hashAuditRow(base, this.keys)! };
  }

  /** The newest event's id and hash, if any: what a commit anchors the chain at. */
  async head(): Promise<{ id: number; hash: string } | undefined> {
    const last = await this.db<Row>('audit_events')
      .orderBy('id', 'desc')
      .first('id', 'hash');
    return last ? { id: Number(last.id), hash: last.hash } : undefined;
  }

  /** Events matching the filters, newest first, in pages. */
  async list(
    query: AuditQuery,
  ): Promise<{ items: AuditEvent[]; nextCursor?: string }> {
    let q = this.db<Row>('audit_events')
      .orderBy('id', 'desc')
      .limit(query.limit + 1);
    if (query.actor) q = q.where('actor', query.actor);
    if (query.action) q = q.where('action', query.action);
    if (query.target) q = q.where('target', query.target);
    if (query.outcome) q = q.where('outcome', query.outcome);
    if (query.since)
      q = q.where('at', '>=', DateTime.fromISO(query.since).toUTC().toISO()!);
    if (query.until)
      q = q.where('at', '<', DateTime.fromISO(query.until).toUTC().toISO()!);
    if (query.cursor) {
      const [before] = cursors.decode(query.cursor) ?? [];
      if (typeof before !== 'number') {
        throw new InputError('cursor: not a cursor this API returned');
      }
      q = q.where('id', '<', before);
    }
    const rows = await q;
    const items = rows.slice(0, query.limit).map(toEvent);
    return {
      items,
      ...(rows.length > query.limit
        ? { nextCursor: cursors.encode([items[items.length - 1].id]) }
        : {}),
    };
  }

  /**
   * Walks the chain from the first event, a page at a time, and names the first one whose
   * stored hash does not match its content (under the key it names), whose link to its
   * predecessor is broken, that is missing, or that is unkeyed after keyed ones (rewritten
   * without the key). Then checks every anchor (see {@link AuditAnchor}): an anchored event
   * deleted or changed, or a commit's own event missing, is found even at the chain's end,
   * which the chain alone cannot show. Names the lowest event that does not fit.
   */
  async verify(
    anchors: Iterable<AuditAnchor> | AsyncIterable<AuditAnchor> = [],
  ): Promise<AuditVerdict> {
    const chain = await this.walk();
    let broken = chain.firstBroken;
    const note = (id: number, reason: string) => {
      if (!broken || id < broken.id) broken = { id, reason };
    };
    let batch: AuditAnchor[] = [];
    let newest: AuditAnchor | undefined;
    const ownMissing: AuditAnchor[] = [];
    const end = chain.checked; // the last event of the chain as it is
    const check = async () => {
      const anchored = batch.flatMap(a => (a.head ? [a.head.id] : []));
      const hashes = new Map(
        anchored.length === 0
          ? []
          : (
              await this.db<Row>('audit_events')
                .whereIn('id', anchored)
                .select('id', 'hash')
            ).map(r => [Number(r.id), r.hash]),
      );
      const own = new Set(
        (
          await this.db<Row>('audit_events')
            .whereIn(
              'commit_sha',
              batch.map(a => a.commit),
            )
            .select('commit_sha')
        ).map(r => r.commit_sha),
      );
      for (const { commit, head } of batch) {
        const short = commit.slice(0, 12);
        if (head && !hashes.has(head.id)) {
          note(
            head.id,
            `event ${
              head.id
            } is missing: commit ${short} of the state repository anchors the chain there${
              head.id > end ? '; the newest events were deleted' : ''
            }`,
          );
        } else if (head && hashes.get(head.id) !== head.hash) {
          note(
            head.id,
            `its hash is not the one commit ${short} of the state repository anchored`,
          );
        }
        if (!own.has(commit)) ownMissing.push({ commit, head });
      }
      batch = [];
    };
    for await (const anchor of anchors) {
      batch.push(anchor);
      newest = anchor;
      if (batch.length >= 500) await check();
    }
    if (batch.length > 0) await check();
    for (const { commit, head } of ownMissing) {
      // The newest commit's event was at the chain's end; an older one's, after its anchor.
      const atEnd = commit === newest?.commit || !head;
      note(
        atEnd ? end + 1 : head.id + 1,
        `the event of commit ${commit.slice(
          0,
          12,
        )} of the state repository is missing: ${
          atEnd ? 'the newest events were deleted' : 'events were deleted'
        }`,
      );
    }
    return broken
      ? { valid: false, checked: chain.checked, firstBroken: broken }
      : chain;
  }

  private async walk(): Promise<AuditVerdict> {
    const pageSize = 1000;
    let prevHash = GENESIS_HASH;
    let expectedId = 1;
    let checked = 0;
    let keyed = false;
    const broken = (id: number, reason: string): AuditVerdict => ({
      valid: false,
      checked,
      firstBroken: { id, reason },
    });
    const page = (from: number) =>
      this.db<Row>('audit_events')
        .where('id', '>=', from)
        .orderBy('id', 'asc')
        .limit(pageSize)
        .then(rows => rows);
    // The next page is read while this one is hashed.
    let next: Promise<Row[]> | undefined = page(expectedId);
    for (;;) {
      const rows: Row[] = await next!;
      next =
        rows.length === pageSize
          ? page(Number(rows[rows.length - 1].id) + 1)
          : undefined;
      // a page read ahead and not needed (the chain broke here) must not fail unheard
      next?.catch(() => undefined);
      for (const row of rows) {
        const id = Number(row.id);
        if (id !== expectedId) {
          return broken(expectedId, `event ${expectedId} is missing`);
        }
        if (row.prev_hash !== prevHash) {
          return broken(id, 'its link to the previous event does not match');
        }
        const { hash, ...rest } = row;
        if (row.key_id === null && keyed) {
          return broken(
            id,
            'it has no key id, after keyed events: it was rewritten without the key',
          );
        }
        if (row.key_id !== null && !this.keys.has(row.key_id)) {
          return broken(
            id,
            `it was hashed with key ${row.key_id}, which this backend does not have: add that key to controlPlane.audit.previousKeys`,
          );
        }
        if (hashAuditRow(rest, this.keys) !== hash) {
          return broken(id, 'its content does not match its hash');
        }
        keyed ||= row.key_id !== null;
        prevHash = hash;
        expectedId += 1;
        checked += 1;
      }
      if (rows.length < pageSize) {
        return { valid: true, checked };
      }
    }
  }
}
