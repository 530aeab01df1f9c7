import { SimulatedWorkloads } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  BuiltInMetric,
  defaultAnalysisChecks,
  judgeMetric,
  MetricSeries,
} from '@idp-multicloud/plugin-control-plane-node';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import knexFactory, { Knex } from 'knex';
import { median } from 'simple-statistics';
import { PrometheusMetricsProvider } from './PrometheusMetricsProvider';

// The real thing: Debian's `prometheus` (scripts/test installs it), scraping a simulator's
// workloads served on /metrics by this test. Never skipped: without the binary the suite fails.
const binary = process.env.IDP_PROMETHEUS_BIN ?? 'prometheus';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise(r => server.close(r));
  return port;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

const target = {
  ref: 'resource:default/shop',
  namespace: 'default',
  name: 'shop',
  cells: ['cell-us'],
};

describe('PrometheusMetricsProvider against a real Prometheus', () => {
  let db: Knex;
  let workloads: SimulatedWorkloads;
  let metricsServer: ReturnType<express.Express['listen']>;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let dir: string;
  let baseUrl: string;
  let ticking = true;
  let ticks: Promise<void>;

  beforeAll(async () => {
    const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (version.error || version.status !== 0) {
      throw new Error(
        `no Prometheus binary ("${binary}"): install Debian's package (apt-get install -y prometheus; ` +
          './scripts/test does it when run as root) or set IDP_PROMETHEUS_BIN',
      );
    }

    // The simulator's workloads: a good stable version and a canary failing 20 % of requests.
    db = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    workloads = await SimulatedWorkloads.create(db, {
      requestsPerSecond: 400,
      headerShare: 0,
      seed: 3,
    });
    await workloads.router.setRouting(
      target,
      { stable: '1.0.0', canary: '1.1.0', canaryWeight: 50 },
      { idempotencyToken: 'op-1:set_weight' },
    );
    await db('simulator_faults').insert({
      id: 'fault-canary',
      kind: 'misbehaving-version',
      source: 'api',
      ref: target.ref,
      version: '1.1.0',
      rate: 0.2,
      created_at: Date.now(),
    });
    const app = express();
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await workloads.series.exposition();
      res.setHeader('Content-Type', contentType);
      res.send(body);
    });
    metricsServer = await new Promise(resolve => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const metricsPort = (metricsServer.address() as AddressInfo).port;
    // Simulated clients, a tick every 100 ms, until the suite ends.
    ticks = (async () => {
      while (ticking) {
        await workloads.tick(Date.now(), 100);
        await sleep(100);
      }
    })();

    dir = mkdtempSync(join(tmpdir(), 'idp-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: simulator',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${metricsPort}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', d => (prometheusLog += d));
    prometheus.stderr?.on('data', d => (prometheusLog += d));

    // Ready, then a few scrapes of both versions.
    for (;;) {
      if (prometheus.exitCode !== null) {
        throw new Error(`Prometheus exited: ${prometheusLog.slice(-2000)}`);
      }
      const ready = await fetch(`${baseUrl}/-/ready`).catch(() => undefined);
      if (ready?.ok) break;
      await sleep(200);
    }
    for (;;) {
      const res = await fetch(
        `${baseUrl}/api/v1/query?query=${encodeURIComponent(
          'count_over_time(http_requests_total{version="1.1.0",code="500"}[1m])',
        )}`,
      );
      const body = await res.json();
      if (Number(body.data?.result?.[0]?.value?.[1] ?? 0) >= 8) break;
      await sleep(500);
    }
  }, 120_000);

  afterAll(async () => {
    ticking = false;
    await ticks;
    prometheus?.kill('SIGTERM');
    if (prometheus && prometheus.exitCode === null) {
      await new Promise(r => prometheus!.once('exit', r));
    }
    metricsServer?.close();
    await db?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const provider = () =>
    new PrometheusMetricsProvider({ baseUrl, rateRangeSeconds: 3 });

  async function series(metric: BuiltInMetric, version: string) {
    const end = new Date();
    return provider().query({
      metric,
      target: { ...target, version },
      window: { start: new Date(end.getTime() - 6000), end, stepSeconds: 1 },
    });
  }
  const values = (s: MetricSeries) => s.samples.map(x => x.value);

  it('measures the split, the bad canary and the good stable version from the scraped series', async () => {
    const canaryRate = values(await series('request-rate', '1.1.0'));
    const stableRate = values(await series('request-rate', '1.0.0'));
    expect(canaryRate.length).toBeGreaterThanOrEqual(5);
    // Half of 400 requests/s each.
    expect(
      median(canaryRate) / (median(canaryRate) + median(stableRate)),
    ).toBeCloseTo(0.5, 1);

    const canaryErrors = values(await series('error-rate', '1.1.0'));
    const stableErrors = values(await series('error-rate', '1.0.0'));
    expect(median(canaryErrors)).toBeGreaterThan(0.15);
    expect(median(canaryErrors)).toBeLessThan(0.25);
    expect(median(stableErrors)).toBeLessThan(0.01);
    const [errorCheck, latencyCheck] = defaultAnalysisChecks();
    expect(
      judgeMetric({ ...errorCheck, minSamples: 5 }, canaryErrors, stableErrors)
        .verdict,
    ).toBe('fail');

    // histogram_quantile over the simulator's buckets: the log-normal p99, well under 500 ms.
    const stableP99 = values(await series('latency-p99', '1.0.0'));
    expect(median(stableP99)).toBeGreaterThan(60);
    expect(
      judgeMetric({ ...latencyCheck, compare: false }, stableP99, []).verdict,
    ).toBe('pass');
  });

  it('runs a custom query with the target filled in', async () => {
    const end = new Date();
    const result = await provider().query({
      metric: 'custom',
      query:
        'sum(http_requests_total{service="{{name}}",version="{{version}}",code="500"})',
      target: { ...target, version: '1.1.0' },
      window: { start: new Date(end.getTime() - 3000), end, stepSeconds: 1 },
    });
    expect(result.samples.length).toBeGreaterThan(0);
    expect(result.samples[result.samples.length - 1].value).toBeGreaterThan(0);
  });

  it("passes on Prometheus' own parse error for bad PromQL", async () => {
    const end = new Date();
    await expect(
      provider().query({
        metric: 'custom',
        query: 'sum(rate(http_requests_total[1m])',
        target: { ...target, version: '1.1.0' },
        window: { start: new Date(end.getTime() - 3000), end, stepSeconds: 1 },
      }),
    ).rejects.toMatchObject({
      code: 'bad-query',
      message: expect.stringMatching(
        /^Prometheus refused the query \(bad_data\): .*parse error/,
      ),
    });
  });
});
