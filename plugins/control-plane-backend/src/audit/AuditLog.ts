import { InputError } from '@backstage/errors';
import { AuditEvent } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { canonicalJson, cursors, isPostgres, sha256 } from '../database/util';
import { RequestSource } from '../context';

/** The hash that precedes the first event. */
export const GENESIS_HASH = '0'.repeat(64);

// Any constant: the key of the PostgreSQL advisory lock that serializes appends.
const AUDIT_LOCK_KEY = 74_123_001;

/**
 * Where the chain stood at a commit of the state repository: the commit's own event must
 * exist, and so must the event its `Audit-Head` trailer names, with that hash. Git holds the
 * anchor, so deleting the newest events with SQL (which the chain alone cannot show) is found.
 */
export interface AuditAnchor {
  commit: string;
  head?: { id: number; hash: string };
}

/** At most `max` characters (the column's size). */
function clip<T extends string | null>(value: T, max: number): T {
  return (value === null ? null : value.slice(0, max)) as T;
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
  hash: string;
};

/** The fields an event's hash covers, in a fixed canonical form. */
function hashedForm(row: Omit<Row, 'hash'>): string {
  return canonicalJson({
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    reason: row.reason,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    approvers: row.approvers,
    commit: row.commit_sha,
    beforeDigest: row.before_digest,
    afterDigest: row.after_digest,
    prevHash: row.prev_hash,
  });
}

/** The hash of a stored event row (exported for tests that forge rows). */
export function hashAuditRow(row: Omit<Row, 'hash'>): string {
  return sha256(`${row.prev_hash}\n${hashedForm(row)}`);
}

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
  constructor(private readonly db: Knex) {}

  /**
   * Appends an event, in the caller's transaction when given one (so an event and the change
   * it records commit together). Appends are serialized: on PostgreSQL by an advisory lock
   * held to the end of the transaction, on SQLite by its single writer.
   */
  async append(entry: AuditEntry, trx?: Knex.Transaction): Promise<AuditEvent> {
    if (!trx) {
      return this.db.transaction(tx => this.append(entry, tx));
    }
    if (isPostgres(this.db)) {
      await trx.raw('select pg_advisory_xact_lock(?)', [AUDIT_LOCK_KEY]);
    }
    const last = await trx<Row>('audit_events')
      .orderBy('id', 'desc')
      .first('id', 'hash');
    // Values are clipped to their columns: an over-long one (from a hand-pushed commit's
    // trailers, say) is recorded in part rather than failing the transaction it is part of.
    const base: Omit<Row, 'hash'> = {
      id: last ? Number(last.id) + 1 : 1,
      at: DateTime.utc().toISO(),
      actor: clip(entry.actor, 255),
      action: clip(entry.action, 64),
      target: clip(entry.target, 255),
      outcome: entry.outcome,
      reason: entry.reason ?? null,
      source_ip: clip(entry.source?.ip ?? null, 64),
      user_agent: entry.source?.userAgent ?? null,
      request_id: clip(entry.requestId ?? null, 64),
      approvers: JSON.stringify(entry.approvers ?? []),
      commit_sha: clip(entry.commit ?? null, 40),
      before_digest: clip(entry.beforeDigest ?? null, 64),
      after_digest: clip(entry.afterDigest ?? null, 64),
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    const row: Row = { ...base, hash: hashAuditRow(base) };
    await trx('audit_events').insert(row);
    return toEvent(row);
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
   * Walks the chain from the first event and names the first one whose stored hash does not
   * match its content, whose link to its predecessor is broken, or that is missing. With an
   * anchor (see {@link AuditAnchor}), also names an anchored event that was deleted or
   * changed: a chain cut short at its end is otherwise still a valid chain.
   */
  async verify(anchor?: AuditAnchor): Promise<{
    valid: boolean;
    checked: number;
    firstBroken?: { id: number; reason: string };
  }> {
    const chain = await this.walk();
    if (!chain.valid || !anchor) {
      return chain;
    }
    const broken = (id: number, reason: string) => ({
      valid: false,
      checked: chain.checked,
      firstBroken: { id, reason },
    });
    const short = anchor.commit.slice(0, 12);
    if (anchor.head) {
      const { id, hash } = anchor.head;
      const row = await this.db<Row>('audit_events').where({ id }).first();
      if (!row) {
        return broken(
          id,
          `event ${id} is missing: commit ${short} of the state repository anchors the chain there; the newest events were deleted`,
        );
      }
      if (row.hash !== hash) {
        return broken(
          id,
          `its hash is not the one commit ${short} of the state repository anchored`,
        );
      }
    }
    const own = await this.db<Row>('audit_events')
      .where({ commit_sha: anchor.commit })
      .first('id');
    if (!own) {
      return broken(
        chain.checked + 1,
        `the event of commit ${short}, the state repository's indexed head, is missing: the newest events were deleted`,
      );
    }
    return chain;
  }

  private async walk(): Promise<{
    valid: boolean;
    checked: number;
    firstBroken?: { id: number; reason: string };
  }> {
    const pageSize = 1000;
    let prevHash = GENESIS_HASH;
    let expectedId = 1;
    let checked = 0;
    for (;;) {
      const rows = await this.db<Row>('audit_events')
        .where('id', '>=', expectedId)
        .orderBy('id', 'asc')
        .limit(pageSize);
      for (const row of rows) {
        const id = Number(row.id);
        if (id !== expectedId) {
          return {
            valid: false,
            checked,
            firstBroken: {
              id: expectedId,
              reason: `event ${expectedId} is missing`,
            },
          };
        }
        if (row.prev_hash !== prevHash) {
          return {
            valid: false,
            checked,
            firstBroken: {
              id,
              reason: 'its link to the previous event does not match',
            },
          };
        }
        const { hash, ...rest } = row;
        if (hashAuditRow(rest) !== hash) {
          return {
            valid: false,
            checked,
            firstBroken: { id, reason: 'its content does not match its hash' },
          };
        }
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
