import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ControlPlaneDriver,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { now, readTimestamp } from '../database/time';
import {
  BreakerPolicy,
  BreakerRecord,
  defaultBreakerPolicy,
  nextBreaker,
} from './breaker';

/** What the scheduler knows of a provider's health right now. */
export interface ProviderStatus {
  health: number;
  breaker: BreakerRecord['state'];
  /** Mean driver call latency, ms, over all its clusters. */
  latencyMs: number;
  /** Mean driver call latency to its clusters in each cell, ms. */
  latencyByCell: Record<string, number>;
}

/** Where provider health comes from (the health store; all healthy when absent). */
export interface ProviderStatusSource {
  statuses(): Promise<Map<string, ProviderStatus>>;
}

/** The health of one provider as the API shows it. */
export interface ProviderHealthReport extends ProviderStatus {
  provider: string;
  calls: number;
  failures: number;
  openedAt?: string;
  reason?: string;
}

interface Pending {
  provider: string;
  cell: string;
  outcomes: boolean[];
  latencies: number[];
}

const TARGET_METHODS = [
  'plan',
  'apply',
  'observe',
  'delete',
  'configureNetworking',
  'removeNetworking',
  'registerDns',
  'deregisterDns',
] as const;

/**
 * Provider health from the outcomes and latencies of driver calls over a sliding window
 * (per-minute buckets in the database, shared by every replica), and a circuit breaker per
 * provider, persisted so it survives a restart.
 */
export class ProviderHealth implements ProviderStatusSource {
  private readonly pending = new Map<string, Pending>();
  private flushing?: Promise<void>;
  private cache?: { at: number; statuses: Map<string, ProviderStatus> };
  private readonly windowMinutes: number;

  constructor(
    private readonly options: {
      db: Knex;
      logger: LoggerService;
      policy?: BreakerPolicy;
      /** The sliding window, whole minutes. @defaultValue 5 */
      windowMinutes?: number;
      onBreakerChange?(provider: string, breaker: BreakerRecord): void;
    },
  ) {
    this.windowMinutes = Math.max(1, Math.round(options.windowMinutes ?? 5));
  }

  private get policy(): BreakerPolicy {
    return this.options.policy ?? defaultBreakerPolicy;
  }

  /** Notes one driver call's outcome on a cluster of `cell`; written at the next flush. */
  record(provider: string, ok: boolean, latencyMs: number, cell = ''): void {
    const key = `${provider}\u0000${cell}`;
    const entry = this.pending.get(key) ?? {
      provider,
      cell,
      outcomes: [],
      latencies: [],
    };
    entry.outcomes.push(ok);
    entry.latencies.push(latencyMs);
    this.pending.set(key, entry);
  }

  /** Wraps a driver so that every call on a target is recorded for the target's provider. */
  instrument(driver: ControlPlaneDriver): ControlPlaneDriver {
    const timed =
      <M extends (typeof TARGET_METHODS)[number] | 'runOperation'>(
        method: M,
        targetAt: number,
      ) =>
      async (...args: Parameters<ControlPlaneDriver[M]>) => {
        const target = args[targetAt] as DriverTarget;
        const started = performance.now();
        try {
          const result = await (
            driver[method] as (...a: unknown[]) => Promise<unknown>
          ).apply(driver, args);
          this.record(
            target.provider,
            true,
            performance.now() - started,
            target.cell,
          );
          return result;
        } catch (error) {
          this.record(
            target.provider,
            false,
            performance.now() - started,
            target.cell,
          );
          throw error;
        }
      };
    const wrapped: Record<string, unknown> = {
      id: driver.id,
      capabilities: () => driver.capabilities(),
      runOperation: timed('runOperation', 2),
    };
    for (const method of TARGET_METHODS) {
      wrapped[method] = timed(method, 1);
    }
    return wrapped as unknown as ControlPlaneDriver;
  }

  /** Writes pending outcomes and moves breakers accordingly. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushNow().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async flushNow() {
    const { db } = this.options;
    const batch = [...this.pending.values()];
    this.pending.clear();
    if (batch.length === 0) {
      await this.advanceCooldowns();
      return;
    }
    const bucket = DateTime.utc().startOf('minute').toISO()!;
    const byProvider = new Map<string, boolean[]>();
    for (const { provider, cell, outcomes, latencies } of batch) {
      const table = 'provider_cell_call_stats';
      await db(table)
        .insert({
          provider,
          cell,
          bucket,
          calls: outcomes.length,
          failures: outcomes.filter(ok => !ok).length,
          latency_ms_sum: latencies.reduce((a, b) => a + b, 0),
          latency_ms_max: Math.max(...latencies),
        })
        .onConflict(['provider', 'cell', 'bucket'])
        .merge({
          calls: db.raw(`${table}.calls + excluded.calls`),
          failures: db.raw(`${table}.failures + excluded.failures`),
          latency_ms_sum: db.raw(
            `${table}.latency_ms_sum + excluded.latency_ms_sum`,
          ),
          latency_ms_max: db.raw(
            `CASE WHEN ${table}.latency_ms_max > excluded.latency_ms_max THEN ${table}.latency_ms_max ELSE excluded.latency_ms_max END`,
          ),
        });
      byProvider.set(provider, [
        ...(byProvider.get(provider) ?? []),
        ...outcomes,
      ]);
    }
    for (const [provider, outcomes] of byProvider) {
      await this.moveBreaker(provider, outcomes);
    }
    await this.advanceCooldowns();
    this.cache = undefined;
  }

  /** Calls, failures and latency in the window, per provider and per provider and cell. */
  private async window(provider?: string): Promise<
    Map<
      string,
      {
        calls: number;
        failures: number;
        latency: number;
        cells: Map<string, { calls: number; latency: number }>;
      }
    >
  > {
    const since = DateTime.utc()
      .minus({ minutes: this.windowMinutes })
      .toISO()!;
    const rows = await this.options
      .db('provider_cell_call_stats')
      .where('bucket', '>=', since)
      .modify(q => (provider ? q.where({ provider }) : q))
      .groupBy('provider', 'cell')
      .select('provider', 'cell')
      .sum({ calls: 'calls', failures: 'failures', latency: 'latency_ms_sum' });
    const window = new Map<
      string,
      {
        calls: number;
        failures: number;
        latency: number;
        cells: Map<string, { calls: number; latency: number }>;
      }
    >();
    for (const r of rows as any[]) {
      const entry = window.get(r.provider) ?? {
        calls: 0,
        failures: 0,
        latency: 0,
        cells: new Map(),
      };
      entry.calls += Number(r.calls);
      entry.failures += Number(r.failures);
      entry.latency += Number(r.latency);
      if (r.cell) {
        entry.cells.set(r.cell, {
          calls: Number(r.calls),
          latency: Number(r.latency),
        });
      }
      window.set(r.provider, entry);
    }
    return window;
  }

  private async readBreaker(
    provider: string,
    trx: Knex | Knex.Transaction = this.options.db,
  ): Promise<BreakerRecord> {
    const row = await trx('provider_breakers').where({ provider }).first();
    if (!row)
      return { state: 'closed', consecutiveFailures: 0, probeSuccesses: 0 };
    return {
      state: row.state,
      consecutiveFailures: row.consecutive_failures,
      probeSuccesses: row.probe_successes,
      ...(row.opened_at
        ? {
            openedAt: DateTime.fromISO(readTimestamp(row.opened_at)).toMillis(),
          }
        : {}),
      ...(row.reason ? { reason: row.reason } : {}),
    };
  }

  private async moveBreaker(provider: string, outcomes: boolean[]) {
    const window = (await this.window(provider)).get(provider) ?? {
      calls: 0,
      failures: 0,
    };
    await this.options.db.transaction(async trx => {
      const current = await this.readBreaker(provider, trx);
      const next = nextBreaker(
        current,
        outcomes,
        window,
        Date.now(),
        this.policy,
      );
      await this.writeBreaker(trx, provider, current, next);
    });
  }

  private async writeBreaker(
    trx: Knex.Transaction,
    provider: string,
    current: BreakerRecord,
    next: BreakerRecord,
  ) {
    await trx('provider_breakers')
      .insert({
        provider,
        state: next.state,
        consecutive_failures: next.consecutiveFailures,
        probe_successes: next.probeSuccesses,
        opened_at: next.openedAt
          ? DateTime.fromMillis(next.openedAt).toUTC().toISO()
          : null,
        reason: next.reason ?? null,
        updated_at: now(),
      })
      .onConflict('provider')
      .merge();
    if (current.state !== next.state) {
      this.cache = undefined;
      this.options.logger.warn(
        `circuit breaker of ${provider}: ${current.state} → ${next.state} (${next.reason})`,
      );
      this.options.onBreakerChange?.(provider, next);
    }
  }

  /** Open breakers whose cooldown is over become half-open. */
  private async advanceCooldowns() {
    const open = await this.options
      .db('provider_breakers')
      .where({ state: 'open' });
    for (const row of open) {
      await this.options.db.transaction(async trx => {
        const current = await this.readBreaker(row.provider, trx);
        const next = nextBreaker(
          current,
          [],
          { calls: 0, failures: 0 },
          Date.now(),
          this.policy,
        );
        if (next.state !== current.state)
          await this.writeBreaker(trx, row.provider, current, next);
      });
    }
  }

  /** Providers whose breaker lets only probes through. */
  async halfOpen(): Promise<string[]> {
    await this.advanceCooldowns();
    return (
      await this.options.db('provider_breakers').where({ state: 'half-open' })
    ).map(r => r.provider);
  }

  /** Health, breaker and latency of every provider seen (cached for a second). */
  async statuses(): Promise<Map<string, ProviderStatus>> {
    if (this.cache && Date.now() - this.cache.at < 1000)
      return this.cache.statuses;
    const reports = await this.report();
    const statuses = new Map(
      reports.map(r => [
        r.provider,
        {
          health: r.health,
          breaker: r.breaker,
          latencyMs: r.latencyMs,
          latencyByCell: r.latencyByCell,
        },
      ]),
    );
    this.cache = { at: Date.now(), statuses };
    return statuses;
  }

  /** The health of every provider seen, for the API and metrics. */
  async report(): Promise<ProviderHealthReport[]> {
    const window = await this.window();
    const breakers = new Map(
      (await this.options.db('provider_breakers')).map(r => [
        r.provider as string,
        r,
      ]),
    );
    const providers = [
      ...new Set([...window.keys(), ...breakers.keys()]),
    ].sort();
    return providers.map(provider => {
      const w = window.get(provider) ?? {
        calls: 0,
        failures: 0,
        latency: 0,
        cells: new Map(),
      };
      const b = breakers.get(provider);
      const latencyMs = w.calls > 0 ? w.latency / w.calls : 0;
      const successRate = w.calls > 0 ? 1 - w.failures / w.calls : 1;
      const latencyFactor = latencyMs <= 1000 ? 1 : 1000 / latencyMs;
      return {
        provider,
        health: Math.round(successRate * latencyFactor * 1000) / 1000,
        breaker: (b?.state ?? 'closed') as ProviderStatus['breaker'],
        latencyMs: Math.round(latencyMs * 10) / 10,
        latencyByCell: Object.fromEntries(
          [...w.cells.entries()]
            .filter(([, c]) => c.calls > 0)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([cell, c]) => [
              cell,
              Math.round((c.latency / c.calls) * 10) / 10,
            ]),
        ),
        calls: w.calls,
        failures: w.failures,
        ...(b?.opened_at ? { openedAt: readTimestamp(b.opened_at) } : {}),
        ...(b?.reason ? { reason: b.reason } : {}),
      };
    });
  }
}
