import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { SimulatorAction } from '../config';

/**
 * Side effects applied, per idempotency token: how many times each was applied (always 1)
 * and how many calls carried its token.
 * @public
 */
export interface SimulatorSideEffects {
  /** One entry per idempotency token and action, oldest first. */
  tokens: Array<{
    token: string;
    action: SimulatorAction;
    /** The operation type and step of `runOperation`. */
    detail?: string;
    cluster: string;
    ref: string;
    /** Times the effect was applied: 1, or the simulator has a bug. */
    applied: number;
    /** Calls that carried the token; those after the first were answered from the log. */
    calls: number;
    appliedAt: string;
  }>;
  /** Effects applied, per action. */
  totals: Partial<Record<SimulatorAction, number>>;
  /** Calls answered from the log instead of applying again. */
  replays: number;
}

/** Who a side effect is about. */
export interface SideEffectFacts {
  token: string;
  action: SimulatorAction;
  detail?: string;
  cluster: string;
  ref: string;
}

/** The outcome of {@link SideEffectLog.once}. */
export interface Once<T> {
  result: T;
  /** True when an earlier call applied the effect and this one only read its result. */
  replayed: boolean;
  /** The ref the first call was about, when a replay was about another one. */
  firstRef?: string;
}

/**
 * Applies each side effect once per (token, action). The log row and the effect are written
 * in one transaction, and the row is inserted *before* the effect with `ON CONFLICT DO
 * NOTHING`: a second call with the same token inserts nothing and reads the first call's
 * result instead. On PostgreSQL a concurrent second call blocks on the first's uncommitted
 * row until it commits (then replays it) or rolls back (then applies it itself); SQLite runs
 * one write transaction at a time. A failed effect rolls its row back, so a retry applies.
 */
export class SideEffectLog {
  constructor(private readonly db: Knex) {}

  async once<T>(
    facts: SideEffectFacts,
    effect: (trx: Knex.Transaction, now: number) => Promise<T>,
  ): Promise<Once<T>> {
    return this.db.transaction(async trx => {
      const now = DateTime.now().toMillis();
      const key = { token: facts.token, action: facts.action };
      const inserted = await trx('simulator_side_effects')
        .insert({
          ...key,
          detail: facts.detail ?? null,
          cluster: facts.cluster,
          ref: facts.ref,
          result: null,
          calls: 1,
          applied_at: now,
          last_call_at: now,
        })
        .onConflict(['token', 'action'])
        .ignore()
        .returning('token');
      if (inserted.length === 0) {
        const first = await trx('simulator_side_effects').where(key).first();
        await trx('simulator_side_effects')
          .where(key)
          .update({
            calls: trx.raw('?? + 1', ['calls']),
            last_call_at: now,
          });
        return {
          result: JSON.parse(first.result ?? 'null') as T,
          replayed: true,
          ...(first.ref !== facts.ref ? { firstRef: first.ref } : {}),
        };
      }
      const result = await effect(trx, now);
      await trx('simulator_side_effects')
        .where(key)
        .update({ result: JSON.stringify(result ?? null) });
      return { result, replayed: false };
    });
  }

  async summary(filter: { tokenPrefix?: string; ref?: string } = {}) {
    const rows = await this.db('simulator_side_effects')
      .modify(q => {
        if (filter.tokenPrefix) {
          q.whereRaw('substr(token, 1, ?) = ?', [
            filter.tokenPrefix.length,
            filter.tokenPrefix,
          ]);
        }
        if (filter.ref) q.where({ ref: filter.ref });
      })
      .select('token', 'action', 'detail', 'cluster', 'ref', 'applied_at')
      .count({ applied: '*' })
      .sum({ calls: 'calls' })
      .groupBy('token', 'action', 'detail', 'cluster', 'ref', 'applied_at')
      .orderBy(['applied_at', 'token', 'action']);
    const summary: SimulatorSideEffects = {
      tokens: [],
      totals: {},
      replays: 0,
    };
    for (const row of rows) {
      const applied = Number(row.applied);
      const calls = Number(row.calls);
      summary.tokens.push({
        token: row.token,
        action: row.action,
        ...(row.detail ? { detail: row.detail } : {}),
        cluster: row.cluster,
        ref: row.ref,
        applied,
        calls,
        appliedAt: DateTime.fromMillis(Number(row.applied_at), {
          zone: 'utc',
        }).toISO()!,
      });
      summary.totals[row.action as SimulatorAction] =
        (summary.totals[row.action as SimulatorAction] ?? 0) + applied;
      summary.replays += calls - applied;
    }
    return summary;
  }
}
