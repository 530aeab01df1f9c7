import { TestDatabases } from '@backstage/backend-test-utils';
import {
  BuiltInMetric,
  defaultAnalysisChecks,
  judgeMetric,
  TrafficRouting,
} from '@idp-multicloud/plugin-control-plane-node';
import { median } from 'simple-statistics';
import { resolveSettings } from '../config';
import { migrateUp } from '../database/migrations';
import { FaultStore } from '../simulation/FaultStore';
import { SimulatedWorkloads } from './SimulatedWorkloads';
import { TickSummary } from './TrafficGenerator';

const databases = TestDatabases.create();

const target = {
  ref: 'resource:default/shop',
  namespace: 'default',
  name: 'shop',
  cells: ['cell-us', 'cell-eu'],
};
const ctx = { idempotencyToken: 'op-1:set_weight' };

/** Sums the requests of the ticks per version, and the header-matched ones. */
function countByVersion(summaries: TickSummary[][]) {
  const totals = new Map<string, { requests: number; headerMatched: number }>();
  for (const summary of summaries.flat()) {
    for (const [version, c] of summary.versions) {
      const t = totals.get(version) ?? { requests: 0, headerMatched: 0 };
      t.requests += c.requests;
      t.headerMatched += c.headerMatched;
      totals.set(version, t);
    }
  }
  return totals;
}

describe.each(databases.eachSupportedId())(
  'the simulated workloads on %s',
  databaseId => {
    const t0 = Date.now();

    async function setup(traffic: Record<string, unknown> = {}) {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      const settings = resolveSettings({ traffic });
      return {
        knex,
        workloads: new SimulatedWorkloads(knex, settings.traffic),
        faults: new FaultStore(knex),
      };
    }

    /** `seconds` one-second ticks starting after t0. */
    async function run(workloads: SimulatedWorkloads, seconds: number) {
      const summaries: TickSummary[][] = [];
      for (let i = 1; i <= seconds; i++) {
        summaries.push(await workloads.tick(t0 + i * 1000, 1000));
      }
      return summaries;
    }

    async function samplesOf(
      workloads: SimulatedWorkloads,
      metric: BuiltInMetric,
      version: string,
      seconds: number,
      cell?: string,
    ) {
      const series = await workloads.metrics.query({
        metric,
        target: { ...target, version, ...(cell ? { cell } : {}) },
        window: {
          start: new Date(t0 + 10_000),
          end: new Date(t0 + seconds * 1000),
          stepSeconds: 10,
        },
      });
      return series.samples.map(s => s.value);
    }

    async function route(
      workloads: SimulatedWorkloads,
      routing: TrafficRouting,
    ) {
      return workloads.router.setRouting(target, routing, ctx);
    }

    it('sends each version the share of requests its weight says', async () => {
      const { workloads } = await setup({ headerShare: 0 });
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 25,
      });
      const totals = countByVersion(await run(workloads, 120));
      const canary = totals.get('1.1.0')!.requests;
      const all = canary + totals.get('1.0.0')!.requests;
      expect(all).toBeGreaterThan(5000); // 50 requests/s for two minutes
      expect(canary / all).toBeGreaterThan(0.23);
      expect(canary / all).toBeLessThan(0.27);
      // The provider sees the same split in its request rates.
      const canaryRate = median(
        await samplesOf(workloads, 'request-rate', '1.1.0', 120),
      );
      const stableRate = median(
        await samplesOf(workloads, 'request-rate', '1.0.0', 120),
      );
      expect(canaryRate / (canaryRate + stableRate)).toBeCloseTo(0.25, 1);
    });

    it('sends every request carrying x-canary: true to the canary, and only those at weight 0', async () => {
      const { workloads } = await setup({ headerShare: 0.1 });
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 0,
        headerMatches: [{ name: 'x-canary', value: 'true' }],
      });
      const totals = countByVersion(await run(workloads, 60));
      expect(totals.get('1.1.0')!.requests).toBeGreaterThan(100);
      expect(totals.get('1.1.0')!.requests).toBe(
        totals.get('1.1.0')!.headerMatched,
      );
      expect(totals.get('1.0.0')!.headerMatched).toBe(0);
      await expect(
        workloads.serve(target.ref, { headers: { 'X-Canary': 'true' } }),
      ).resolves.toEqual({ version: '1.1.0' });
      await expect(
        workloads.serve(target.ref, { headers: {} }),
      ).resolves.toEqual({
        version: '1.0.0',
      });
    });

    it('weighs each cell by its own weight (geo)', async () => {
      const { workloads } = await setup({ headerShare: 0 });
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 0,
        cells: [{ cell: 'cell-us', canaryWeight: 50 }],
      });
      await run(workloads, 60);
      expect(
        await samplesOf(workloads, 'request-rate', '1.1.0', 60, 'cell-eu'),
      ).toEqual([]);
      const us = await samplesOf(
        workloads,
        'request-rate',
        '1.1.0',
        60,
        'cell-us',
      );
      expect(us).toHaveLength(6);
      // Half of cell-us's half of 50 requests/s.
      expect(median(us)).toBeGreaterThan(9);
      expect(median(us)).toBeLessThan(16);
    });

    it('serves a misbehaving canary: its errors fail the judge while the stable version passes', async () => {
      const { workloads, faults } = await setup();
      await faults.add({
        kind: 'misbehaving-version',
        ref: target.ref,
        version: '1.1.0',
        rate: 0.05,
      });
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 50,
      });
      await run(workloads, 120);
      const canary = await samplesOf(workloads, 'error-rate', '1.1.0', 120);
      const stable = await samplesOf(workloads, 'error-rate', '1.0.0', 120);
      expect(median(canary)).toBeGreaterThan(0.03);
      expect(median(stable)).toBeLessThan(0.01);
      const [errorCheck] = defaultAnalysisChecks();
      expect(judgeMetric(errorCheck, canary, stable).verdict).toBe('fail');
      expect(judgeMetric(errorCheck, stable, stable).verdict).toBe('pass');
    });

    it('slows a version down by its latency, and more and more by its leak', async () => {
      const { workloads, faults } = await setup();
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 50,
      });
      await run(workloads, 60);
      const before = median(
        await samplesOf(workloads, 'latency-p99', '1.1.0', 60),
      );
      expect(before).toBeLessThan(500);
      const fault = await faults.add({
        kind: 'misbehaving-version',
        ref: target.ref,
        version: '1.1.0',
        delayMs: 400,
        leakMsPerMinute: 600,
      });
      // The canary's p99 over one tick sent `minutes` after the fault was installed.
      const p99After = async (minutes: number) => {
        const at = Date.parse(fault.createdAt) + minutes * 60_000;
        await workloads.tick(at, 1000);
        const series = await workloads.metrics.query({
          metric: 'latency-p99',
          target: { ...target, version: '1.1.0' },
          window: {
            start: new Date(at - 1000),
            end: new Date(at),
            stepSeconds: 1,
          },
        });
        return series.samples[series.samples.length - 1].value;
      };
      const twoMinutes = await p99After(2);
      const fourMinutes = await p99After(4);
      // 400 ms, then 600 ms more each minute.
      expect(twoMinutes).toBeGreaterThan(400 + 2 * 600);
      expect(fourMinutes).toBeGreaterThan(twoMinutes + 1000);
      const stableP99 = median(
        await samplesOf(workloads, 'latency-p99', '1.0.0', 60),
      );
      expect(stableP99).toBeLessThan(500);
    });

    it('draws the same series from the same seed', async () => {
      const a = await setup({ seed: 7 });
      await route(a.workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 10,
      });
      const b = new SimulatedWorkloads(
        a.knex,
        resolveSettings({ traffic: { seed: 7 } }).traffic,
      );
      const ticksA = await run(a.workloads, 30);
      const ticksB = await run(b, 30);
      expect(countByVersion(ticksB)).toEqual(countByVersion(ticksA));
      expect(await samplesOf(b, 'latency-p99', '1.1.0', 30)).toEqual(
        await samplesOf(a.workloads, 'latency-p99', '1.1.0', 30),
      );
    });

    it('keeps the routing across a restart, and refuses a routing it cannot honour', async () => {
      const { knex, workloads } = await setup();
      await route(workloads, {
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 25,
      });
      const restarted = new SimulatedWorkloads(
        knex,
        resolveSettings({}).traffic,
      );
      await expect(restarted.router.getRouting(target)).resolves.toEqual({
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 25,
      });
      await expect(
        route(workloads, {
          stable: '1.0.0',
          canary: '1.1.0',
          canaryWeight: 5,
          cells: [{ cell: 'cell-ap', canaryWeight: 5 }],
        }),
      ).rejects.toThrow(/cell-ap not among the resource's cells/);
      await expect(restarted.router.getRouting(target)).resolves.toMatchObject({
        canaryWeight: 25,
      });
    });

    it('answers a custom query naming one of its metrics, and refuses any other', async () => {
      const { workloads } = await setup();
      await route(workloads, { stable: '1.0.0', canaryWeight: 0 });
      await run(workloads, 30);
      const window = {
        start: new Date(t0 + 10_000),
        end: new Date(t0 + 30_000),
        stepSeconds: 10,
      };
      const p50 = await workloads.metrics.query({
        metric: 'custom',
        query: 'latency-p50',
        target: { ...target, version: '1.0.0' },
        window,
      });
      expect(p50.unit).toBe('ms');
      expect(median(p50.samples.map(s => s.value))).toBeGreaterThan(40);
      expect(median(p50.samples.map(s => s.value))).toBeLessThan(80);
      await expect(
        workloads.metrics.query({
          metric: 'custom',
          query: 'sum(rate(x[1m]))',
          target: { ...target, version: '1.0.0' },
          window,
        }),
      ).rejects.toMatchObject({ code: 'bad-query' });
    });
  },
);
