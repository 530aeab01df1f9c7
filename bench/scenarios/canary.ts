/**
 * canary: how well deployment analysis tells a bad version from a good one.
 *
 * 1. Judge against a plain threshold: 60 good deployments (the new version identical to the
 *    stable one) and 60 bad ones (3 % of the new version's requests fail besides the usual),
 *    on noisy simulated traffic whose usual error rate sits just under the 1 % limit. Each
 *    deployment is the default canary (5 → 25 → 50 %, one 30 s analysis at each weight),
 *    its series drawn by the simulator's traffic generator in virtual time and read through
 *    its metrics provider, as the deploy saga reads them. The statistical judge (Mann-Whitney
 *    U gating the threshold, what `judge: mann-whitney` runs) and the plain threshold judge
 *    the same series. Goal: 0 false rollbacks of the 60 good ones; every bad one caught.
 *    The timing compares the two judges' cost.
 * 2. Breach to stable: bad versions deployed on a running control plane (SQLite, simulated
 *    clouds and workloads, 5 s analyses): from the moment the new version gets its first
 *    traffic (the fault breaches from its first request) to the traffic back on the stable
 *    version, in analysis intervals. Goal: ≤ 2.
 */
import { ConfigReader } from '@backstage/config';
import {
  judgeAnalysis,
  MetricsProvider,
} from '@idp-multicloud/plugin-control-plane-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedDriver } from '../../plugins/control-plane-backend-module-simulator/src/SimulatedDriver';
import { FaultStore } from '../../plugins/control-plane-backend-module-simulator/src/simulation/FaultStore';
import { SimulatedMetricsProvider } from '../../plugins/control-plane-backend-module-simulator/src/workloads/SimulatedMetricsProvider';
import { SimulatedWorkloads } from '../../plugins/control-plane-backend-module-simulator/src/workloads/SimulatedWorkloads';
import { TrafficGenerator } from '../../plugins/control-plane-backend-module-simulator/src/workloads/TrafficGenerator';
import { WorkloadSeries } from '../../plugins/control-plane-backend-module-simulator/src/workloads/WorkloadSeries';
import { readControlPlaneConfig } from '../../plugins/control-plane-backend/src/config';
import { createControlPlane } from '../../plugins/control-plane-backend/src/controlPlane';
import { migrateUp } from '../../plugins/control-plane-backend/src/database/migrations';
import { resolveAnalysis } from '../../plugins/control-plane-backend/src/deployments/plan';
import { analysisChecks } from '../../plugins/control-plane-backend/src/deployments/saga';
import { DriverRegistry } from '../../plugins/control-plane-backend/src/drivers/DriverRegistry';
import { silentLogger } from '../backend';
import { sqliteFile } from '../databases';
import { Benchmark, Comparison, median } from '../harness';

const DEPLOYMENTS = 60;
const WEIGHTS = [5, 25, 50];
const INTERVAL_S = 30;
const BAD_EXTRA_ERROR_RATE = 0.03;
const LIVE_BAD_DEPLOYMENTS = 3;
const LIVE_INTERVAL_MS = 5000;

type Samples = Map<string, { canary: number[]; baseline: number[] }>;

/** The three analyses of one deployment: each metric's samples, new against stable. */
async function deploymentSeries(
  seed: number,
  bad: boolean,
): Promise<Samples[]> {
  const series = new WorkloadSeries();
  const generator = new TrafficGenerator(series, {
    requestsPerSecond: 50,
    headerShare: 0,
    // just under the 1 % limit: noisy windows breach it by chance
    baseErrorRate: 0.008,
    medianLatencyMs: 40,
    seed,
  });
  const provider: MetricsProvider = new SimulatedMetricsProvider(series);
  const target = {
    ref: 'resource:default/shop',
    namespace: 'default',
    name: 'shop',
    cells: ['cell-us'],
  };
  const faults = bad
    ? [
        {
          id: 'bad',
          kind: 'misbehaving-version' as const,
          source: 'api' as const,
          ref: target.ref,
          version: '1.1.0',
          rate: BAD_EXTRA_ERROR_RATE,
          createdAt: new Date(0).toISOString(),
        },
      ]
    : [];
  const analyses: Samples[] = [];
  let now = 1_000_000_000_000;
  for (const canaryWeight of WEIGHTS) {
    const start = now;
    for (let t = 0; t < INTERVAL_S; t++) {
      now += 1000;
      generator.tick(
        [
          {
            target,
            routing: { stable: '1.0.0', canary: '1.1.0', canaryWeight },
          },
        ],
        faults as any,
        now,
        1000,
      );
    }
    const window = {
      start: new Date(start),
      end: new Date(now),
      stepSeconds: Math.max(1, Math.round(INTERVAL_S / 10)),
    };
    const samples: Samples = new Map();
    for (const metric of ['error-rate', 'latency-p99'] as const) {
      const of = async (version: string) =>
        (
          await provider.query({
            metric,
            target: { ...target, version },
            window,
          })
        ).samples.map(s => s.value);
      samples.set(metric, {
        canary: await of('1.1.0'),
        baseline: await of('1.0.0'),
      });
    }
    analyses.push(samples);
  }
  return analyses;
}

/** Whether a deployment is rolled back: any of its analyses fails. */
function rolledBack(analyses: Samples[], judge: 'mann-whitney' | 'threshold') {
  const checks = analysisChecks(
    resolveAnalysis(
      { judge, interval: `${INTERVAL_S}s` },
      undefined,
      undefined,
    ),
  );
  return analyses.some(a => judgeAnalysis(checks, a).verdict === 'fail');
}

/** Bad versions on a running control plane: breach to stable, in analysis intervals. */
async function breachToStable(): Promise<number[]> {
  const db = await sqliteFile();
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-canary-'));
  try {
    await migrateUp(db.knex);
    const drivers = new DriverRegistry();
    drivers.add(
      await SimulatedDriver.create({
        database: db.knex,
        logger: silentLogger,
        provisioningTime: { milliseconds: 30 },
        deprovisioningTime: { milliseconds: 10 },
        latency: { default: 0 },
      }),
    );
    const workloads = await SimulatedWorkloads.create(db.knex, {
      intervalMs: 100,
      requestsPerSecond: 200,
    });
    const stopTraffic = workloads.start(silentLogger);
    const cp = await createControlPlane({
      db: db.knex,
      config: readControlPlaneConfig(
        new ConfigReader({
          controlPlane: {
            dataDir,
            orchestration: {
              pollInterval: { milliseconds: 20 },
              readyPollInterval: { milliseconds: 10 },
            },
            deployments: { pollInterval: { milliseconds: 100 } },
          },
        }),
      ),
      logger: silentLogger,
      drivers,
      trafficRouters: new Map([[workloads.router.id, workloads.router]]),
      metricsProviders: new Map([[workloads.metrics.id, workloads.metrics]]),
    });
    cp.start();
    const ctx = { actor: 'user:default/ana', requestId: 'bench' } as any;
    const faults = new FaultStore(db.knex);
    const until = async <T>(check: () => Promise<T | undefined>) => {
      for (;;) {
        const value = await check();
        if (value) return value;
        await new Promise(r => setTimeout(r, 50));
      }
    };
    const ratios: number[] = [];
    try {
      for (let i = 0; i < LIVE_BAD_DEPLOYMENTS; i++) {
        const name = `shop-${i}`;
        const ref = `resource:default/${name}`;
        const manifest = cp.resourceService.manifestForCreate({
          name,
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'critical',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
          rollout: {
            strategy: 'canary',
            analysis: { interval: `${LIVE_INTERVAL_MS / 1000}s`, count: 1 },
          },
        });
        await cp.resourceService.create(manifest, ctx);
        const uid = await until(async () => {
          const r = await cp.resources.getLive('default', name);
          return r?.status.state === 'READY' ? r.uid : undefined;
        });
        await faults.add({
          kind: 'misbehaving-version',
          ref,
          version: '1.1.0',
          rate: 0.5,
        } as any);
        await cp.resourceService.update(
          ref,
          { params: { version: '1.1.0' } },
          ctx,
        );
        const d = await until(async () => {
          const [found] = await cp.deployments.forResource(uid);
          return found?.endedAt ? found : undefined;
        });
        if (d.phase !== 'RolledBack') {
          throw new Error(`${ref}: ${d.phase}, not RolledBack: ${d.message}`);
        }
        const firstTraffic = d.steps.find(
          (_, index) => d.plan.steps[index].kind === 'setWeight',
        )!.finishedAt!;
        ratios.push(
          (Date.parse(d.endedAt!) - Date.parse(firstTraffic)) /
            LIVE_INTERVAL_MS,
        );
      }
    } finally {
      await cp.stop();
      stopTraffic();
    }
    return ratios;
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const benchmark: Benchmark = {
  description:
    'deployment analysis: the statistical judge against a plain threshold on noisy series (false rollbacks of good versions, bad ones caught), and a bad version’s breach to stable on a running control plane',
  async *comparisons(): AsyncIterable<Comparison> {
    const good = await Promise.all(
      Array.from({ length: DEPLOYMENTS }, (_, i) =>
        deploymentSeries(i + 1, false),
      ),
    );
    const bad = await Promise.all(
      Array.from({ length: DEPLOYMENTS }, (_, i) =>
        deploymentSeries(1000 + i, true),
      ),
    );
    const count = (judge: 'mann-whitney' | 'threshold') => ({
      falseRollbacks: good.filter(a => rolledBack(a, judge)).length,
      caught: bad.filter(a => rolledBack(a, judge)).length,
    });
    const judged = (judge: 'mann-whitney' | 'threshold') => ({
      label: `${
        judge === 'threshold' ? 'plain threshold' : 'Mann-Whitney judge'
      } over ${2 * DEPLOYMENTS} deployments`,
      async run() {
        count(judge);
      },
    });
    yield {
      name: 'judge vs threshold',
      scenario: judged('mann-whitney'),
      baseline: judged('threshold'),
      batch: 1,
      opsPerRun: 2 * DEPLOYMENTS,
      async report() {
        const judge = count('mann-whitney');
        const threshold = count('threshold');
        const ratios = await breachToStable();
        const worst = Math.max(...ratios);
        return [
          `false rollbacks of ${DEPLOYMENTS} good deployments: judge ${
            judge.falseRollbacks
          }, plain threshold ${threshold.falseRollbacks} (goal 0: ${
            judge.falseRollbacks === 0 ? 'met' : 'MISSED'
          })`,
          `bad deployments caught (${
            BAD_EXTRA_ERROR_RATE * 100
          } % extra errors): judge ${
            judge.caught
          }/${DEPLOYMENTS}, plain threshold ${threshold.caught}/${DEPLOYMENTS}`,
          `breach to traffic back on stable, ${LIVE_BAD_DEPLOYMENTS} bad versions at 50 % errors, ${
            LIVE_INTERVAL_MS / 1000
          } s analyses: median ${median(ratios).toFixed(
            2,
          )}, worst ${worst.toFixed(2)} intervals (goal ≤ 2: ${
            worst <= 2 ? 'met' : 'MISSED'
          })`,
        ];
      },
      async close() {},
    };
  },
};

export default benchmark;
