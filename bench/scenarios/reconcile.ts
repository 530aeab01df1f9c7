/**
 * reconcile: the reconciler at fleet size, on SQLite and PostgreSQL. 10,000 resources are in
 * the state repository and provisioned (READY at their generation).
 *
 * - A converged pass (nothing to do) against reading the fleet's rows once: what a pass that
 *   looked at every resource would at least cost. Goals: ≥ 5,000 resources/s over the fleet,
 *   and zero writes (commits counted at the driver).
 * - A new resource among them: the time from its change being accepted (committed and
 *   indexed) to its create operation existing, started by the reconciler. Goal: ≤ 1 s.
 */
import { ConfigReader } from '@backstage/config';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readControlPlaneConfig } from '../../plugins/control-plane-backend/src/config';
import { createControlPlane } from '../../plugins/control-plane-backend/src/controlPlane';
import { migrateUp } from '../../plugins/control-plane-backend/src/database/migrations';
import { redisYaml, silentLogger } from '../backend';
import { commitCounter } from '../commits';
import { allDatabases, BenchDatabase } from '../databases';
import { Benchmark, Comparison, Measured, percentile } from '../harness';

const FLEET = 10_000;
const NEW_RESOURCES = 10;

async function fleet(db: BenchDatabase) {
  const counter = commitCounter(db.knex); // before any connection prepares a statement
  await migrateUp(db.knex);
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-reconcile-'));
  const cp = await createControlPlane({
    db: db.knex,
    config: readControlPlaneConfig(
      new ConfigReader({
        controlPlane: {
          dataDir,
          orchestration: {
            enabled: true,
            pollInterval: { milliseconds: 20 },
          },
        },
      }),
    ),
    logger: silentLogger,
  });
  // the fleet, pushed in one commit and indexed, then provisioned
  await cp.indexer.sync();
  const seeded = await cp.repo.commit({
    parent: await cp.repo.head(),
    changes: Array.from({ length: FLEET }, (_, i) => {
      const namespace = `team-${String(Math.floor(i / 500)).padStart(2, '0')}`;
      return {
        path: `resources/${namespace}/fleet-${i}.yaml`,
        content: redisYaml(namespace, `fleet-${i}`),
      };
    }),
    message: `import ${FLEET} resources`,
    author: { name: 'platform', email: 'platform@idp.invalid' },
  });
  if (seeded.status !== 'committed') throw new Error('seeding failed');
  const sync = await cp.indexer.sync();
  if (sync.status !== 'indexed') throw new Error(JSON.stringify(sync));
  await db.knex('resources').update({
    state: 'READY',
    observed_generation: db.knex.ref('generation'),
  });
  return { cp, counter, dataDir };
}

const benchmark: Benchmark = {
  description: `the reconciler over a fleet of ${FLEET.toLocaleString(
    'en',
  )} provisioned resources`,
  async *comparisons(): AsyncIterable<Comparison> {
    for (const open of allDatabases) {
      const db = await open();
      const { cp, counter, dataDir } = await fleet(db);
      let counting = false;
      const passTimes: number[] = [];
      const pass: Measured = {
        label: 'converged reconciler pass',
        run: async () => {
          if (!counting) {
            counter.start(); // every pass's writes are counted, the reads between none
            counting = true;
          }
          const start = performance.now();
          const result = await cp.reconciler.pass();
          passTimes.push(performance.now() - start);
          if (result.started.length > 0) {
            throw new Error(
              `a converged pass started ${result.started.length}`,
            );
          }
        },
      };
      const read: Measured = {
        label: `read of the fleet's ${FLEET} rows`,
        run: async () => {
          await db.knex('resources').whereNot('state', 'DELETED');
        },
      };
      yield {
        name: db.name,
        batch: 1,
        scenario: pass,
        baseline: read,
        report: async () => {
          const writes = counter.stop();
          const p50 = percentile(passTimes, 50);
          const perSecond = FLEET / (p50 / 1000);
          const lines = [
            `converged pass over ${FLEET}: p50 ${p50.toFixed(
              1,
            )} ms, ${Math.round(perSecond)} resources/s (goal ≥ 5,000: ${
              perSecond >= 5000 ? 'met' : 'MISSED'
            }); writes ${writes} (goal 0: ${writes === 0 ? 'met' : 'MISSED'})`,
          ];
          // a new resource among them, the reconciler woken by the index as in a replica
          cp.start();
          const waits: number[] = [];
          for (let i = 0; i < NEW_RESOURCES; i++) {
            const name = `new-${i}`;
            const result = await cp.repo.commit({
              parent: await cp.repo.head(),
              changes: [
                {
                  path: `resources/team-00/${name}.yaml`,
                  content: redisYaml('team-00', name),
                },
              ],
              message: `create ${name}`,
              author: { name: 'platform', email: 'platform@idp.invalid' },
            });
            if (result.status !== 'committed') throw new Error('commit');
            const start = performance.now();
            await cp.indexer.sync();
            for (;;) {
              const op = await db
                .knex('operations')
                .where({ resource_ref: `resource:team-00/${name}` })
                .first('id');
              if (op) break;
              if (performance.now() - start > 10_000) {
                throw new Error(`${name} did not start within 10 s`);
              }
              await new Promise(r => setTimeout(r, 2));
            }
            waits.push(performance.now() - start);
          }
          const worst = Math.max(...waits);
          lines.push(
            `a new resource among ${FLEET}: its create operation started ${percentile(
              waits,
              50,
            ).toFixed(0)} ms (p50), ${worst.toFixed(
              0,
            )} ms (worst of ${NEW_RESOURCES}) after its commit; goal ≤ 1 s: ${
              worst <= 1000 ? 'met' : 'MISSED'
            }`,
          );
          return lines;
        },
        close: async () => {
          await cp.stop();
          // a pass the index woke may still run: let it end before the database closes
          await cp.reconciler.pass();
          rmSync(dataDir, { recursive: true, force: true });
          await db.close();
        },
      };
    }
  },
};

export default benchmark;
