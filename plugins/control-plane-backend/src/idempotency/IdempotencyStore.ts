import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../database/util';
import { UnprocessableEntityError } from '../errors';

/** What to do with a request that carries an idempotency key. */
export type IdempotencyDecision =
  /** Run the request; `lease` identifies this claim to {@link IdempotencyStore.complete}. */
  | { kind: 'proceed'; lease: string }
  | { kind: 'replay'; status: number; body: unknown };

/** A stored first response. */
export type IdempotentReplay = Extract<IdempotencyDecision, { kind: 'replay' }>;

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
  lease_token: string | null;
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
   * The stored answer for `key` when it was already given to this request, without claiming
   * the key: lets a caller replay before checking a request against a state that has moved
   * on since (a deleted resource, a changed spec). Throws 422 when the key was used for
   * another request; returns undefined when the request must run (unknown, expired or in
   * flight; {@link begin} decides then).
   */
  async peek(
    principal: string,
    key: string,
    fingerprint: string,
  ): Promise<IdempotentReplay | undefined> {
    const row = await this.db<Row>('idempotency_keys')
      .where({ principal, key })
      .first();
    if (!row || asInstant(row.expires_at) <= DateTime.utc()) {
      return undefined;
    }
    return this.answerFor(row, fingerprint);
  }

  private answerFor(
    row: Row,
    fingerprint: string,
  ): IdempotentReplay | undefined {
    if (row.fingerprint !== fingerprint) {
      throw new UnprocessableEntityError(
        'Idempotency-Key was already used for a different request; use a new key for a new request',
      );
    }
    if (row.state !== 'completed') {
      return undefined;
    }
    return {
      kind: 'replay',
      status: row.response_status!,
      body: row.response_body ? JSON.parse(row.response_body) : undefined,
    };
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
    const lease = randomUUID();
    const fresh = {
      principal,
      key,
      fingerprint,
      state: 'in_flight',
      lease_token: lease,
      response_status: null,
      response_body: null,
      lease_until: now.plus(this.lease).toISO(),
      created_at: now.toISO(),
      expires_at: now.plus(this.retention).toISO(),
    };
    try {
      await this.db('idempotency_keys').insert(fresh);
      return { kind: 'proceed', lease };
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
        ? { kind: 'proceed', lease }
        : this.begin(principal, key, fingerprint);
    }
    const replay = this.answerFor(row, fingerprint);
    if (replay) {
      return replay;
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
      .update({
        lease_until: now.plus(this.lease).toISO(),
        lease_token: lease,
      });
    if (takenOver === 1) {
      return { kind: 'proceed', lease };
    }
    throw new ConflictError(
      'A request with this Idempotency-Key is still in progress; retry later',
    );
  }

  /**
   * Records the response, to replay for every later request with the key. Only the claim
   * that holds the key may: a request whose lease lapsed and was taken over by a retry
   * records nothing (returns false), so it never overwrites the answer of the retry.
   */
  async complete(
    principal: string,
    key: string,
    lease: string,
    status: number,
    body: unknown,
  ): Promise<boolean> {
    const updated = await this.db('idempotency_keys')
      .where({ principal, key, state: 'in_flight', lease_token: lease })
      .update({
        state: 'completed',
        lease_token: null,
        response_status: status,
        response_body: body === undefined ? null : JSON.stringify(body),
      });
    return updated === 1;
  }

  /** Frees the key after a failed request, so that a retry runs anew (its own claim only). */
  async release(principal: string, key: string, lease: string): Promise<void> {
    await this.db('idempotency_keys')
      .where({ principal, key, state: 'in_flight', lease_token: lease })
      .delete();
  }

  /** The earliest first use of a key still remembered: older uses are forgotten. */
  rememberedSince(): DateTime {
    return DateTime.utc().minus(this.retention);
  }

  /** The operation a request with this key created, while the key is remembered. */
  async operationFor(
    principal: string,
    key: string,
  ): Promise<string | undefined> {
    const row = await this.db('operation_requests')
      .where({ principal, key })
      .andWhere('created_at', '>', this.rememberedSince().toISO()!)
      .first('operation_id');
    return row?.operation_id;
  }

  /**
   * Records, in the transaction that creates it, the operation a request with this key
   * created. A second operation for the key fails on the primary key (the transaction rolls
   * back); an expired record is replaced.
   */
  async recordOperation(
    trx: Knex.Transaction,
    principal: string,
    key: string,
    operationId: string,
  ): Promise<void> {
    await trx('operation_requests')
      .where({ principal, key })
      .andWhere('created_at', '<=', this.rememberedSince().toISO()!)
      .delete();
    await trx('operation_requests').insert({
      principal,
      key,
      operation_id: operationId,
      created_at: DateTime.utc().toISO(),
    });
  }

  /** Forgets keys (and the operations they created) past their retention; returns how many keys. */
  async purgeExpired(): Promise<number> {
    await this.db('operation_requests')
      .where('created_at', '<=', this.rememberedSince().toISO()!)
      .delete();
    return this.db('idempotency_keys')
      .where('expires_at', '<=', DateTime.utc().toISO())
      .delete();
  }
}
