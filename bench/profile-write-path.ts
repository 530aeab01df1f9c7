/**
 * A focused look at the write path, for profiling (`node --cpu-prof`): a bench backend on
 * SQLite (or PostgreSQL with `--postgres`) with `--existing N` resources, warmed up, then
 * `--creates N` keyed creates `--concurrent N` at a time, sent from a client thread. Prints the latency spread and the
 * rate; with `--gc`, the garbage collections seen while timing; with `--profile <file>`, a
 * CPU profile of the timed creates only (open it in Chrome's DevTools).
 *
 *   node --import @backstage/cli/config/nodeTransform.cjs bench/profile-write-path.ts \
 *     --existing 10000 --creates 400 --concurrent 8 [--postgres] [--gc] [--profile out.cpuprofile]
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { startBenchBackend } from './backend';
import { postgres, sqliteFile } from './databases';
import { loadCreates } from './load';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main() {
  const existing = option('existing', 10_000);
  const creates = option('creates', 400);
  const concurrent = option('concurrent', 8);
  const db = await (process.argv.includes('--postgres')
    ? postgres()
    : sqliteFile());
  const backend = await startBenchBackend(db);
  await backend.seed(existing);
  let n = 0;
  const create = async () => {
    const res = await backend.call(
      'POST',
      '/resources',
      {
        name: `p-${n++}`,
        namespace: 'team-00',
        product: 'redis',
        owner: 'group:default/team-team-00',
        tier: 'low',
        cell: 'cell-us',
      },
      { 'idempotency-key': randomUUID() },
    );
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  };
  for (let i = 0; i < 50; i++) await create();
  const gcs: { kind: number; ms: number }[] = [];
  const observer = new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      gcs.push({ kind: (e as any).detail?.kind ?? 0, ms: e.duration });
    }
  });
  if (process.argv.includes('--gc')) observer.observe({ entryTypes: ['gc'] });
  const profileAt = process.argv.indexOf('--profile');
  const session = profileAt >= 0 ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  // with --sql: each statement's count and time while timing, by its SQL text
  const statements = new Map<string, { n: number; ms: number }>();
  const started = new Map<string, number>();
  if (process.argv.includes('--sql')) {
    db.knex.on('query', q => started.set(q.__knexQueryUid, performance.now()));
    db.knex.on('query-response', (_r, q) => {
      const t = started.get(q.__knexQueryUid);
      if (t === undefined) return;
      started.delete(q.__knexQueryUid);
      const s = statements.get(q.sql) ?? { n: 0, ms: 0 };
      s.n += 1;
      s.ms += performance.now() - t;
      statements.set(q.sql, s);
    });
  }
  // the timed creates come from a client on its own thread; the CPU counted is this
  // (the backend's) thread's
  const cpu = process.threadCpuUsage();
  const faults = process.resourceUsage().minorPageFault;
  const load = await loadCreates({
    baseUrl: backend.baseUrl,
    authorization: backend.authorization,
    concurrent,
    creates,
    namespace: 'team-00',
  });
  const used = process.threadCpuUsage(cpu);
  const faulted = process.resourceUsage().minorPageFault - faults;
  observer.disconnect();
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.argv[profileAt + 1], JSON.stringify(profile));
    session.disconnect();
  }
  process.stdout.write(
    `${
      db.name
    } ${existing} existing, ${concurrent} concurrent: ${load.perSecond.toFixed(
      1,
    )} creates/s, p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(
      1,
    )} ms, max ${load.max.toFixed(1)} ms, backend thread CPU ${(
      (used.user + used.system) /
      1000 /
      creates
    ).toFixed(2)} ms/create (${(used.system / 1000 / creates).toFixed(
      2,
    )} in the kernel; ${(faulted / creates).toFixed(
      0,
    )} page faults of the process)\n`,
  );
  for (const [sql, s] of [...statements].sort((a, b) => b[1].ms - a[1].ms)) {
    process.stdout.write(
      `${(s.n / creates).toFixed(2)}/create ${(s.ms / s.n).toFixed(
        3,
      )} ms  ${sql.slice(0, 160)}\n`,
    );
  }
  if (gcs.length) {
    const byKind = new Map<number, number[]>();
    for (const g of gcs)
      byKind.set(g.kind, [...(byKind.get(g.kind) ?? []), g.ms]);
    for (const [kind, ms] of byKind) {
      process.stdout.write(
        `gc kind ${kind}: ${ms.length}×, total ${ms
          .reduce((a, b) => a + b, 0)
          .toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms\n`,
      );
    }
  }
  await backend.close();
  await db.close();
}

main().catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
