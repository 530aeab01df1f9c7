/**
 * saga: the per-step cost of the control plane's saga engine, running a 7-step saga whose
 * steps do nothing (so what is measured is the engine's durability: claim, step records,
 * timeline and event stream, fencing, the end of the operation), against
 *
 * - a bare step transaction (an update of the operation and an insert of its event, in one
 *   transaction), on SQLite and PostgreSQL;
 * - a peer durable engine on the same PostgreSQL: a graphile-worker job chain, each step one
 *   job that enqueues the next.
 *
 * Sagas run one after the other in both, so each figure is the latency a step adds. On each
 * database it also prints how many commits one saga makes, counted at the driver on a
 * database of its own (so the counting costs the timing nothing).
 */
import { ConfigReader } from '@backstage/config';
import { LoggerService } from '@backstage/backend-plugin-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Knex } from 'knex';
import {
  Logger as GraphileLogger,
  run as runGraphileWorker,
  Runner,
} from 'graphile-worker';
import { Pool } from 'pg';
import { readControlPlaneConfig } from '../../plugins/control-plane-backend/src/config';
import { createControlPlane } from '../../plugins/control-plane-backend/src/controlPlane';
import { migrateUp } from '../../plugins/control-plane-backend/src/database/migrations';
import { now } from '../../plugins/control-plane-backend/src/database/time';
import { SagaEngine } from '../../plugins/control-plane-backend/src/orchestration/SagaEngine';
import { Saga } from '../../plugins/control-plane-backend/src/orchestration/types';
import { commitCounter } from '../commits';
import { allDatabases, BenchDatabase } from '../databases';
import { Benchmark, Comparison, Measured } from '../harness';

const K = 7;
const BATCH = 30; // sagas per timed batch

const silent: LoggerService = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return silent;
  },
};

const benchSaga: Saga = {
  type: 'create',
  steps: Array.from({ length: K }, (_, i) => ({
    name: `step_${i + 1}`,
    run: async () => ({ step: i + 1 }),
  })),
  transitions: {},
  realisesGeneration: false,
};

/** A control plane on the database, and sagas to run on its engine. */
async function sagaEngine(db: BenchDatabase) {
  await migrateUp(db.knex);
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-saga-'));
  const cp = await createControlPlane({
    db: db.knex,
    config: readControlPlaneConfig(
      new ConfigReader({
        controlPlane: { dataDir, orchestration: { lease: { minutes: 5 } } },
      }),
    ),
    logger: silent,
  });
  const engine = new SagaEngine({
    ...cp.engine.options,
    sagaFor: () => benchSaga,
    onSettled: undefined, // no reconciler pass after each saga: the engine alone is timed
  });
  // Resources to run sagas on (one operation in flight each), created once.
  const uids: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    uids.push(
      await db.knex.transaction(trx =>
        cp.resources.insert(
          trx,
          {
            apiVersion: 'idp.multicloud/v1',
            kind: 'Resource',
            metadata: { namespace: 'bench', name: `saga-${i}`, labels: {} },
            spec: {
              product: 'redis',
              owner: 'group:default/bench',
              tier: 'low',
              cell: 'cell-us',
              params: {},
              dependsOn: [],
            },
          },
          { generation: 1, commit: '0'.repeat(40) },
          { actor: 'user:default/bench', reason: 'bench' },
        ),
      ),
    );
  }
  const measured: Measured = {
    label: 'saga engine',
    // accepting the operations is the API's work, not the engine's: done before timing
    async prepare(n) {
      for (let i = 0; i < n; i++) {
        await cp.operations.create({
          resourceUid: uids[i % uids.length],
          resourceRef: `resource:bench/saga-${i % uids.length}`,
          type: 'create',
          params: {},
          actor: 'user:default/bench',
        });
      }
    },
    async run(n) {
      for (let done = 0; done < n; ) {
        const [op] = await engine.claim(1);
        if (!op) throw new Error('no operation to run');
        await engine.execute(op);
        done += 1;
      }
    },
  };
  return {
    measured,
    async close() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * K bare step transactions per saga: an update of the operation and an insert of its event
 * (into the one event table, the resource's stream, which an operation's timeline reads).
 */
async function bareSteps(knex: Knex): Promise<Measured> {
  const id = '00000000-0000-4000-8000-000000000000';
  await knex('operations')
    .insert({
      id,
      resource_uid: id,
      resource_ref: 'resource:bench/bare',
      type: 'create',
      state: 'succeeded',
      params: '{}',
      actor: 'user:default/bench',
      fencing_token: 0,
      next_run_at: now(),
      created_at: now(),
      updated_at: now(),
    })
    .onConflict('id')
    .ignore();
  return {
    label: 'bare step transaction',
    async run(n) {
      for (let i = 0; i < n * K; i++) {
        await knex.transaction(async trx => {
          await trx('operations').where({ id }).update({ updated_at: now() });
          await trx('resource_events').insert({
            resource_ref: 'resource:bench/bare',
            resource_uid: id,
            operation_id: id,
            type: 'step.succeeded',
            step: `step_${(i % K) + 1}`,
            message: 'done',
            created_at: now(),
          });
        });
      }
    },
  };
}

/** A graphile-worker job chain: each step a job, which enqueues the next. */
async function graphileChain(db: BenchDatabase) {
  const pool = new Pool({ connectionString: db.url, max: 10 });
  const waiting = new Map<string, () => void>();
  const runner: Runner = await runGraphileWorker({
    pgPool: pool,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: 1000, // new jobs arrive by LISTEN/NOTIFY
    logger: new GraphileLogger(() => () => {}),
    taskList: {
      step: async (payload: any, helpers) => {
        const { saga, step } = payload as { saga: string; step: number };
        if (step < K) {
          await helpers.addJob('step', { saga, step: step + 1 });
        } else {
          waiting.get(saga)?.();
        }
      },
    },
  });
  let sagas = 0;
  const measured: Measured = {
    label: 'graphile-worker job chain',
    async run(n) {
      for (let i = 0; i < n; i++) {
        const saga = `saga-${sagas++}`;
        const done = new Promise<void>(resolve => waiting.set(saga, resolve));
        await runner.addJob('step', { saga, step: 1 });
        await done;
        waiting.delete(saga);
      }
    },
  };
  return {
    measured,
    async close() {
      await runner.stop();
      await pool.end();
    },
  };
}

/**
 * The commits of one saga, claim included, on a fresh database opened by `open`: counted at
 * the driver, from the claim to the operation's end.
 */
async function commitsPerSaga(
  open: () => Promise<BenchDatabase>,
  sagas = 5,
): Promise<number> {
  const db = await open();
  const counter = commitCounter(db.knex); // before any connection prepares a statement
  const engine = await sagaEngine(db);
  try {
    await engine.measured.prepare!(sagas);
    counter.start();
    await engine.measured.run(sagas);
    return counter.stop() / sagas;
  } finally {
    counter.stop();
    await engine.close();
    await db.close();
  }
}

const perStep = (m: Measured): Measured => ({
  label: `${m.label} (per step)`,
  prepare: m.prepare,
  run: m.run,
});

const benchmark: Benchmark = {
  description: `per step of a ${K}-step saga of no-op steps, sagas run one at a time`,
  async *comparisons(): AsyncIterable<Comparison> {
    for (const open of allDatabases) {
      const db = await open();
      const engine = await sagaEngine(db);
      const bare = await bareSteps(db.knex);
      const closeAll = async () => {
        await engine.close();
        await db.close();
      };
      yield {
        name: db.name,
        batch: BATCH,
        opsPerRun: K,
        scenario: perStep(engine.measured),
        baseline: perStep(bare),
        report: async () => [
          `saga engine commits per ${K}-step saga: ${await commitsPerSaga(
            open,
          )} (claim included, counted at the driver)`,
        ],
        close: db.url ? async () => {} : closeAll,
      };
      if (!db.url) continue;
      // the peer, on the same PostgreSQL database
      const peer = await graphileChain(db);
      yield {
        name: `${db.name}, against a peer`,
        batch: BATCH,
        opsPerRun: K,
        scenario: perStep(engine.measured),
        baseline: perStep(peer.measured),
        close: async () => {
          await peer.close();
          await closeAll();
        },
      };
    }
  },
};

export default benchmark;
