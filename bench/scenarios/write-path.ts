/**
 * write-path: accepted creates through the HTTP API (a keyed `POST /resources` of a redis, one
 * at a time), with 0, 1,000 and 10,000 resources already in the state repository, against the
 * floor of a change recorded in Git: `git add` + `git commit` of one file by the git CLI, in
 * the same run. Then the same creates 8 at a time, as creates per second, sent by a client on
 * a thread of its own (bench/load.ts).
 *
 * Goals (issue "Speed at scale"): p50 ≤ 20 ms and p99 ≤ 60 ms at 10,000 existing, flat in the
 * number existing (p50 within 1.5× of the empty repository's), ≥ 200 creates/s at 8
 * concurrent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { databasesFor } from '../databases';
import { loadCreates } from '../load';
import { BenchBackend, startBenchBackend } from '../backend';
import {
  Benchmark,
  Comparison,
  Measured,
  percentile,
  timeEach,
} from '../harness';

const SIZES = [0, 1_000, 10_000];
const BATCH = 40;
const CONCURRENT = 8;
const CONCURRENT_CREATES = 400;

let created = 0;

function create(backend: BenchBackend): Promise<void> {
  const name = `bench-${process.pid}-${created++}`;
  return backend
    .call(
      'POST',
      '/resources',
      {
        name,
        namespace: 'team-00',
        product: 'redis',
        owner: 'group:default/team-team-00',
        tier: 'low',
        cell: 'cell-us',
      },
      { 'idempotency-key': randomUUID() },
    )
    .then(res => {
      if (res.status !== 201 && res.status !== 202) {
        throw new Error(
          `create answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
      }
    });
}

/** The floor: one file committed by the git CLI in a repository with a work tree. */
function gitCommits(): Measured & { close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'idp-bench-git-'));
  const run = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 'bench',
        GIT_AUTHOR_EMAIL: 'bench@idp.invalid',
        GIT_COMMITTER_NAME: 'bench',
        GIT_COMMITTER_EMAIL: 'bench@idp.invalid',
      },
      stdio: 'ignore',
    });
  run('init', '--quiet', '--initial-branch=main');
  let n = 0;
  return {
    label: 'git add + commit of one file (git CLI)',
    run: batch =>
      timeEach(batch, () => {
        const file = `f-${n++}.yaml`;
        writeFileSync(join(dir, file), redisLike(file));
        run('add', file);
        run('commit', '--quiet', '-m', `add ${file}`);
      }),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const redisLike = (name: string) =>
  `kind: Resource\nmetadata:\n  name: ${name}\nspec:\n  product: redis\n`;

const benchmark: Benchmark = {
  description: `accepted creates through the HTTP API, with resources already in the state repository`,
  async *comparisons(options = {}): AsyncIterable<Comparison> {
    for (const open of databasesFor(options.database)) {
      let emptyP50: number | undefined;
      for (const size of options.sizes ?? SIZES) {
        const db = await open();
        const backend = await startBenchBackend(db);
        await backend.seed(size);
        const floor = gitCommits();
        const samples: number[] = [];
        const scenario: Measured = {
          label: 'keyed POST /resources',
          run: async batch => {
            const result = await timeEach(batch, () => create(backend));
            samples.push(...result.wallMs);
            return result;
          },
        };
        yield {
          name: `${db.name}, ${size} existing`,
          batch: BATCH,
          scenario,
          baseline: floor,
          ...(size === 10_000 ? { goalP99Ms: 60 } : {}),
          report: async () => {
            const p50 = percentile(samples, 50);
            emptyP50 ??= p50;
            const lines = [
              `create p50 ${p50.toFixed(1)} ms${
                size === 10_000
                  ? `; goal p50 ≤ 20 ms: ${p50 <= 20 ? 'met' : 'MISSED'}`
                  : ''
              }; ${(p50 / emptyP50).toFixed(2)}× the empty repository's${
                size > 0
                  ? ` (goal ≤ 1.5×: ${
                      p50 <= 1.5 * emptyP50 ? 'met' : 'MISSED'
                    })`
                  : ''
              }`,
            ];
            const t = await loadCreates({
              baseUrl: backend.baseUrl,
              authorization: backend.authorization,
              concurrent: CONCURRENT,
              creates: CONCURRENT_CREATES,
              namespace: 'team-00',
            });
            lines.push(
              `${CONCURRENT} concurrent: ${t.perSecond.toFixed(
                1,
              )} creates/s (p50 ${t.p50.toFixed(1)} ms, p99 ${t.p99.toFixed(
                1,
              )} ms); goal ≥ 200/s: ${t.perSecond >= 200 ? 'met' : 'MISSED'}`,
            );
            return lines;
          },
          close: async () => {
            floor.close();
            await backend.close();
            await db.close();
          },
        };
      }
    }
  },
};

export default benchmark;
