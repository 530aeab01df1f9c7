/**
 * footprint: the example backend's start-up time and resident memory with the control
 * plane's plugins against without them (the same Backstage backend otherwise), each started
 * as its own process with fresh data directories: on SQLite, and on the PostgreSQL that
 * scripts/bench found or started (fresh databases per start, dropped after it).
 *
 * Start-up is the time from the process's spawn to the backend answering its readiness
 * check; memory is its resident set once ready and settled. Goals: ≤ +2 s and ≤ +100 MB.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import knexFactory from 'knex';
import { Benchmark, Comparison, median, Measured } from '../harness';

const SETTLE_MS = 3000;
const root = resolve(__dirname, '../..');

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

type Database = 'sqlite' | 'postgres';
let starts = 0;

/**
 * The backend's database settings for one start: a directory of SQLite files, or fresh
 * PostgreSQL databases (one per plugin, under a prefix of this start's own), and what drops
 * them afterwards.
 */
function databaseFor(
  db: Database,
  data: string,
): { env: Record<string, string>; drop(): Promise<void> } {
  if (db === 'sqlite') {
    return {
      env: {
        APP_CONFIG_backend_database_connection_directory: join(data, 'sqlite'),
      },
      drop: async () => {},
    };
  }
  const url = process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!url) {
    throw new Error(
      'no PostgreSQL for benchmarks: run them through `yarn bench`, which provides one',
    );
  }
  const { hostname, port, username, password } = new URL(url);
  const prefix = `idp_footprint_${process.pid}_${starts++}_`;
  return {
    env: {
      APP_CONFIG_backend_database_client: 'pg',
      APP_CONFIG_backend_database_prefix: prefix,
      APP_CONFIG_backend_database_connection_host: hostname,
      APP_CONFIG_backend_database_connection_port: port || '5432',
      APP_CONFIG_backend_database_connection_user: decodeURIComponent(username),
      ...(password
        ? {
            APP_CONFIG_backend_database_connection_password:
              decodeURIComponent(password),
          }
        : {}),
    },
    async drop() {
      const admin = knexFactory({ client: 'pg', connection: url });
      try {
        const { rows } = await admin.raw(
          'select datname from pg_database where starts_with(datname, ?)',
          [prefix],
        );
        for (const { datname } of rows) {
          await admin.raw('drop database if exists ?? with (force)', [datname]);
        }
      } finally {
        await admin.destroy();
      }
    },
  };
}

/** Starts the backend, waits for it to be ready and settled, measures, stops it. */
async function startOnce(variant: 'with' | 'without', db: Database) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), `idp-bench-footprint-${variant}-`));
  const database = databaseFor(db, data);
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      '@backstage/cli/config/nodeTransform.cjs',
      join(root, 'bench/footprint/start.ts'),
      variant,
    ],
    {
      cwd: join(root, 'packages/backend'),
      env: {
        ...process.env,
        NODE_ENV: 'development',
        APP_CONFIG_backend_listen_port: String(port),
        APP_CONFIG_backend_baseUrl: `http://localhost:${port}`,
        ...database.env,
        APP_CONFIG_controlPlane_dataDir: join(data, 'control-plane'),
        APP_CONFIG_localRepositories_directory: join(data, 'repositories'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', chunk => {
    stderr = (stderr + chunk).slice(-4000);
  });
  try {
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`the backend (${variant}) exited: ${stderr}`);
      }
      const ready = await fetch(
        `http://127.0.0.1:${port}/.backstage/health/v1/readiness`,
      ).then(
        r => r.ok,
        () => false,
      );
      if (ready) break;
      if (performance.now() - started > 120_000) {
        throw new Error(`the backend (${variant}) was not ready in 2 min`);
      }
      await new Promise(r => setTimeout(r, 50));
    }
    const startupMs = performance.now() - started;
    await new Promise(r => setTimeout(r, SETTLE_MS));
    return { startupMs, rssMb: residentMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise(r => child.once('exit', r));
    rmSync(data, { recursive: true, force: true });
    await database.drop();
  }
}

const benchmark: Benchmark = {
  description:
    "the example backend's start-up and resident memory, with the control plane against without it",
  async *comparisons(options = {}): AsyncIterable<Comparison> {
    const databases: Database[] = options.database
      ? [options.database === 'sqlite' ? 'sqlite' : 'postgres']
      : ['sqlite', 'postgres'];
    for (const db of databases) yield comparison(db);
  },
};

function comparison(db: Database): Comparison {
  const runs = {
    with: [] as { startupMs: number; rssMb: number }[],
    without: [] as { startupMs: number; rssMb: number }[],
  };
  const measured = (variant: 'with' | 'without'): Measured => ({
    label: `start-up ${variant} the control plane`,
    run: async () => {
      runs[variant].push(await startOnce(variant, db));
    },
  });
  return {
    name: `${db} (the example backend)`,
    batch: 1,
    scenario: measured('with'),
    baseline: measured('without'),
    report: async () => {
      const startup = (v: 'with' | 'without') =>
        median(runs[v].map(r => r.startupMs));
      const rss = (v: 'with' | 'without') => median(runs[v].map(r => r.rssMb));
      const extraS = (startup('with') - startup('without')) / 1000;
      const extraMb = rss('with') - rss('without');
      return [
        `start-up: ${(startup('with') / 1000).toFixed(2)} s with, ${(
          startup('without') / 1000
        ).toFixed(2)} s without: +${extraS.toFixed(2)} s (goal ≤ +2 s: ${
          extraS <= 2 ? 'met' : 'MISSED'
        })`,
        `resident memory once ready: ${rss('with').toFixed(0)} MB with, ${rss(
          'without',
        ).toFixed(0)} MB without: +${extraMb.toFixed(0)} MB (goal ≤ +100 MB: ${
          extraMb <= 100 ? 'met' : 'MISSED'
        })`,
      ];
    },
    close: async () => {},
  };
}

export default benchmark;
