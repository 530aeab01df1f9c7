import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { isUniqueViolation } from '../database/util';
import { UnprocessableEntityError } from '../errors';

/** What to do with a request that carries an idempotency key. */
export type IdempotencyDecision =
  | { kind: 'proceed' }
  | { kind: 'replay'; status: number; body: unknown };

export interface IdempotencyOptions {
  /** How long a key is remembered after its first use (at least a day). */
  retention?: Duration;
  /** How long a request may hold its key before another may take over (a crashed one). */
  lease?: Duration;
}

type Row = {
  principal: string;
  key: string;
  fingerprint: string;
  state: 'in_flight' | 'completed';
  response_status: number | null;
  response_body: string | null;
  lease_until: Date | string;
  expires_at: Date | string;
};

const asInstant = (v: Date | string) =>
  v instanceof Date ? DateTime.fromJSDate(v) : DateTime.fromISO(v);

/**
 * Idempotency keys with the semantics of Stripe and the IETF Idempotency-Key draft: the same
 * key and request replay the first response; the same key with another request is a 422;
 * while the first is still running, a 409. The primary key (caller, key) makes this hold
 * across backend replicas: the first insert wins, nothing is checked-then-inserted.
 */
export class IdempotencyStore {
  private readonly retention: Duration;
  private readonly lease: Duration;

  constructor(private readonly db: Knex, options: IdempotencyOptions = {}) {
    this.retention = options.retention ?? Duration.fromObject({ hours: 24 });
    this.lease = options.lease ?? Duration.fromObject({ seconds: 60 });
  }

  /**
   * Claims `key` for a request with this fingerprint, or says how to answer instead.
   * After `proceed`, call {@link complete} with the response or {@link release} on failure.
   */
  async begin(
    principal: string,
    key: string,
    fingerprint: string,
  ): Promise<IdempotencyDecision> {
    const now = DateTime.utc();
    const fresh = {
      principal,
      key,
      fingerprint,
      state: 'in_flight',
      response_status: null,
      response_body: null,
      lease_until: now.plus(this.lease).toISO(),
      created_at: now.toISO(),
      expires_at: now.plus(this.retention).toISO(),
    };
    try {
      await this.db('idempotency_keys').insert(fresh);
      return { kind: 'proceed' };
    } catch (error) {
      if (!isUniqueViolation(error)) {
        throw error;
      }
    }

    const row = await this.db<Row>('idempotency_keys')
      .where({ principal, key })
      .first();
    if (!row || asInstant(row.expires_at) <= now) {
      // Forgotten since (expired or purged): the key is free again, for one taker.
      const taken = await this.db('idempotency_keys')
        .where({ principal, key })
        .andWhere('expires_at', '<=', now.toISO())
        .update(fresh);
      return taken === 1
        ? { kind: 'proceed' }
        : this.begin(principal, key, fingerprint);
    }
    if (row.fingerprint !== fingerprint) {
      throw new UnprocessableEntityError(
        'Idempotency-Key was already used for a different request; use a new key for a new request',
      );
    }
    if (row.state === 'completed') {
      return {
        kind: 'replay',
        status: row.response_status!,
        body: row.response_body ? JSON.parse(row.response_body) : undefined,
      };
    }
    if (asInstant(row.lease_until) > now) {
      throw new ConflictError(
        'A request with this Idempotency-Key is still in progress; retry later',
      );
    }
    // The request that held the key stopped without answering (a crash): take it over.
    const takenOver = await this.db('idempotency_keys')
      .where({ principal, key, state: 'in_flight' })
      .andWhere('lease_until', '<=', now.toISO())
      .update({ lease_until: now.plus(this.lease).toISO() });
    if (takenOver === 1) {
      return { kind: 'proceed' };
    }
    throw new ConflictError(
      'A request with this Idempotency-Key is still in progress; retry later',
    );
  }

  /** Records the response, to replay for every later request with the key. */
  async complete(
    principal: string,
    key: string,
    status: number,
    body: unknown,
  ): Promise<void> {
    await this.db('idempotency_keys')
      .where({ principal, key })
      .update({
        state: 'completed',
        response_status: status,
        response_body: body === undefined ? null : JSON.stringify(body),
      });
  }

  /** Frees the key after a failed request, so that a retry runs anew. */
  async release(principal: string, key: string): Promise<void> {
    await this.db('idempotency_keys')
      .where({ principal, key, state: 'in_flight' })
      .delete();
  }

  /** Forgets keys past their retention; returns how many. */
  async purgeExpired(): Promise<number> {
    return this.db('idempotency_keys')
      .where('expires_at', '<=', DateTime.utc().toISO())
      .delete();
  }
}
