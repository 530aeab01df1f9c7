import {
  ResourceEvent,
  ResourceState,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { EventEmitter } from 'node:events';
import { chunked, readJson } from '../database/util';
import { now, readTimestamp } from '../database/time';

export interface NewResourceEvent {
  ref: string;
  uid?: string;
  type: string;
  message: string;
  state?: ResourceState;
  operationId?: string;
  data?: Record<string, unknown>;
}

type Row = {
  id: string | number;
  resource_ref: string;
  type: string;
  message: string;
  state: string | null;
  operation_id: string | null;
  step: string | null;
  data: string | null;
  created_at: Date | string;
};

/** An event as stored: what an operation's timeline is made of. */
export type StoredResourceEvent = Row;

function toEvent(row: Row): ResourceEvent {
  return {
    id: Number(row.id),
    ref: row.resource_ref,
    type: row.type,
    message: row.message,
    ...(row.state ? { state: row.state as ResourceState } : {}),
    ...(row.operation_id ? { operationId: row.operation_id } : {}),
    ...(row.data ? { data: readJson(row.data, {}) } : {}),
    at: readTimestamp(row.created_at),
  };
}

const ANY = Symbol('any resource');

/**
 * The event stream of each resource: persisted (so a client can resume from the last id it
 * saw, on any replica), and announced in-process so local subscribers hear it at once.
 */
export class ResourceEventStore {
  private readonly emitter = new EventEmitter();

  constructor(private readonly db: Knex) {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Records an event in the caller's transaction. Subscribers are told after the commit
   * (call {@link announce}); an event is never announced for a rolled-back change.
   */
  async append(
    event: NewResourceEvent,
    trx: Knex | Knex.Transaction = this.db,
  ): Promise<void> {
    await this.appendMany([event], trx);
  }

  /** Records events in the caller's transaction, a hundred per statement (see {@link append}). */
  async appendMany(
    events: NewResourceEvent[],
    trx: Knex | Knex.Transaction = this.db,
  ): Promise<void> {
    const at = now();
    for (const part of chunked(events, 100)) {
      await trx('resource_events').insert(
        part.map(event => ({
          resource_ref: event.ref,
          resource_uid: event.uid ?? null,
          type: event.type,
          message: event.message,
          state: event.state ?? null,
          operation_id: event.operationId ?? null,
          data: event.data ? JSON.stringify(event.data) : null,
          created_at: at,
        })),
      );
    }
  }

  /** Wakes the subscribers of these refs (after the events were committed). */
  announce(refs: Iterable<string>): void {
    const unique = [...new Set(refs)];
    for (const ref of unique) {
      this.emitter.emit(ref);
    }
    if (unique.length > 0) {
      this.emitter.emit(ANY, unique);
    }
  }

  /** Calls `listener` with the refs of every announcement. */
  onAnnounce(listener: (refs: string[]) => void): () => void {
    this.emitter.on(ANY, listener);
    return () => this.emitter.off(ANY, listener);
  }

  /** Events of a resource after `afterId`, oldest first. */
  async since(
    ref: string,
    afterId: number,
    limit = 500,
  ): Promise<ResourceEvent[]> {
    const rows = await this.db<Row>('resource_events')
      .where('resource_ref', ref)
      .andWhere('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit);
    return rows.map(toEvent);
  }

  /** The events that carry an operation's id (its timeline), oldest first, as stored. */
  async ofOperation(operationId: string): Promise<StoredResourceEvent[]> {
    return this.db<Row>('resource_events')
      .where({ operation_id: operationId })
      .orderBy('id', 'asc');
  }

  /** The newest event id of a resource, 0 when it has none. */
  async lastId(ref: string): Promise<number> {
    const row = await this.db('resource_events')
      .where('resource_ref', ref)
      .max({ id: 'id' })
      .first();
    return Number(row?.id ?? 0);
  }

  /** Calls `listener` whenever events of `ref` are announced here; returns an unsubscribe. */
  subscribe(ref: string, listener: () => void): () => void {
    this.emitter.on(ref, listener);
    return () => this.emitter.off(ref, listener);
  }
}
