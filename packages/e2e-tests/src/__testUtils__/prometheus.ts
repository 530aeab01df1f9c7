import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's `prometheus` (scripts/test installs it); IDP_PROMETHEUS_BIN overrides it. */
export const prometheusBinary = process.env.IDP_PROMETHEUS_BIN ?? 'prometheus';

/** A running Prometheus. */
export interface RunningPrometheus {
  baseUrl: string;
  /** The last characters it logged, for failure messages. */
  logTail(chars?: number): string;
  /** Runs an instant PromQL query; the values of its result. */
  query(promql: string): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus on `port` scraping `target` (`host:port`) at `metricsPath` every
 * second, its data in `workDir`, and waits until it is ready. Fails, saying how to install
 * it, when the binary is missing: the tests that need it are never skipped.
 */
export async function startPrometheus(options: {
  workDir: string;
  port: number;
  target: string;
  metricsPath: string;
}): Promise<RunningPrometheus> {
  const version = spawnSync(prometheusBinary, ['--version'], {
    encoding: 'utf8',
  });
  if (version.error || version.status !== 0) {
    throw new Error(
      `no Prometheus binary ("${prometheusBinary}"): install Debian's package (apt-get install -y prometheus; ` +
        './scripts/test does it when run as root) or set IDP_PROMETHEUS_BIN',
    );
  }
  const config = join(options.workDir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: simulator',
      `    metrics_path: ${options.metricsPath}`,
      '    static_configs:',
      `      - targets: ['${options.target}']`,
      '',
    ].join('\n'),
  );
  const baseUrl = `http://127.0.0.1:${options.port}`;
  let log = '';
  const child: ChildProcess = spawn(
    prometheusBinary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(options.workDir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', d => (log += d));
  child.stderr?.on('data', d => (log += d));
  const logTail = (chars = 3000) => log.slice(-chars);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`Prometheus exited: ${logTail()}`);
    }
    const ready = await fetch(`${baseUrl}/-/ready`).catch(() => undefined);
    if (ready?.ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Prometheus was not ready within 60 s: ${logTail()}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }

  const query = async (promql: string) => {
    const res = await fetch(
      `${baseUrl}/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    const body = await res.json();
    return ((body.data?.result ?? []) as { value: [number, string] }[]).map(r =>
      Number(r.value[1]),
    );
  };
  return { baseUrl, logTail, query, stop };
}
