import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { SimulatorAction } from '../config';

/**
 * Side effects the simulator performed, counted from the append-only log of performances
 * (not from the per-token deduplication log): per idempotency token, and per resource and
 * kind of effect whatever token carried it, so that an effect performed twice shows.
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
    /** Times the effect was actually performed under this token: 1, or the simulator has a bug. */
    applied: number;
    /** Calls that carried the token; those after the first were answered from the log. */
    calls: number;
    appliedAt: string;
  }>;
  /**
   * Per resource, action and detail: how many times such an effect was performed, under any
   * token. A saga that repeated a step under a new token (or two operations doing the same
   * thing) shows here as more than one.
   */
  performed: Array<{
    ref: string;
    action: SimulatorAction;
    detail?: string;
    cluster: string;
    applied: number;
  }>;
  /** Effects performed, per action. */
  totals: Partial<Record<SimulatorAction, number>>;
  /** Calls answered from the log instead of performing the effect again. */
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
      await trx('simulator_applications').insert({
        ...key,
        detail: facts.detail ?? null,
        cluster: facts.cluster,
        ref: facts.ref,
        applied_at: now,
      });
      return { result, replayed: false };
    });
  }

  async summary(
    filter: { tokenPrefix?: string; ref?: string } = {},
  ): Promise<SimulatorSideEffects> {
    const where = (q: Knex.QueryBuilder, table: string) => {
      if (filter.tokenPrefix) {
        q.whereRaw(`substr(${table}.token, 1, ?) = ?`, [
          filter.tokenPrefix.length,
          filter.tokenPrefix,
        ]);
      }
      if (filter.ref) q.where(`${table}.ref`, filter.ref);
    };
    const [tokens, performances] = await Promise.all([
      this.db('simulator_side_effects as s')
        .modify(q => where(q, 's'))
        .select(
          's.token',
          's.action',
          's.detail',
          's.cluster',
          's.ref',
          's.calls',
          's.applied_at',
        )
        .orderBy(['s.applied_at', 's.token', 's.action']),
      this.db('simulator_applications as a')
        .modify(q => where(q, 'a'))
        .select('a.token', 'a.action', 'a.detail', 'a.cluster', 'a.ref'),
    ]);
    const byToken = new Map<string, number>();
    const byEffect = new Map<string, SimulatorSideEffects['performed'][0]>();
    for (const row of performances) {
      const tokenKey = `${row.action} ${row.token}`;
      byToken.set(tokenKey, (byToken.get(tokenKey) ?? 0) + 1);
      const effectKey = JSON.stringify([
        row.ref,
        row.action,
        row.detail,
        row.cluster,
      ]);
      const entry = byEffect.get(effectKey) ?? {
        ref: row.ref,
        action: row.action,
        ...(row.detail ? { detail: row.detail } : {}),
        cluster: row.cluster,
        applied: 0,
      };
      entry.applied += 1;
      byEffect.set(effectKey, entry);
    }
    const summary: SimulatorSideEffects = {
      tokens: [],
      performed: [...byEffect.values()],
      totals: {},
      replays: 0,
    };
    for (const row of tokens) {
      const applied = byToken.get(`${row.action} ${row.token}`) ?? 0;
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
      summary.replays += Math.max(0, calls - applied);
    }
    return summary;
  }
}
