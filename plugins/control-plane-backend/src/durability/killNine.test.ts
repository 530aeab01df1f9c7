import knexFactory from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fleetYaml,
  freePort,
  performedTwice,
  Replica,
} from '../__testUtils__/replicas';

jest.setTimeout(10 * 60_000);

const TOTAL = 200;
const ACTIVE = ['pending', 'running', 'compensating'];
const SETTLED = ['READY', 'FAILED'];

/**
 * kill -9 at random moments while 200 provisioning sagas run, restart, repeat: every saga must
 * end READY or compensated, and the simulated clouds must show no side effect performed twice
 * and nothing left behind.
 */
describe('a control plane killed with SIGKILL while 200 sagas run', () => {
  it('finishes or undoes every saga, performing no side effect twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-kill9-'));
    const replica = new Replica('solo', await freePort(), {
      backend: {
        database: {
          client: 'better-sqlite3',
          connection: { directory: join(dataDir, 'db') },
        },
      },
      controlPlane: {
        dataDir,
        orchestration: {
          concurrency: 24,
          pollInterval: { milliseconds: 50 },
          readyPollInterval: { milliseconds: 50 },
          lease: { seconds: 2 },
          backoff: { base: { milliseconds: 20 }, max: { milliseconds: 200 } },
        },
        reconciler: { interval: { seconds: 1 } },
        simulator: {
          // long enough for the 200 sagas to span several kills
          provisioningTime: { milliseconds: 400 },
          deprovisioningTime: { milliseconds: 30 },
          latency: { default: 1 },
          // retryable failures and lost answers: retries must replay, not repeat
          faults: {
            errorRate: { oci: 0.05 },
            lostResponseRate: { azure: 0.1 },
          },
        },
      },
    });
    const resources = async () =>
      (await replica.api('/resources?namespace=load&limit=500')).items;
    try {
      await replica.start();
      // Kill at random moments: shortly after each batch of 50 sagas is accepted, then until
      // all have settled. Before each kill, note how many sagas were in flight.
      const inFlightAtKills: number[] = [];
      const killAtRandom = async () => {
        await new Promise(r => setTimeout(r, 50 + Math.random() * 500));
        const items = await resources();
        const inFlight = items.filter(
          (r: any) => !SETTLED.includes(r.status.state),
        ).length;
        if (items.length === TOTAL && inFlight === 0) return false;
        await replica.kill();
        inFlightAtKills.push(inFlight);
        await replica.start();
        return true;
      };
      for (let batch = 0; batch < TOTAL / 50; batch++) {
        await replica.api('/manifests/apply', {
          method: 'POST',
          body: { yaml: fleetYaml(`r${batch}`, 50) },
        });
        await killAtRandom();
      }
      while (await killAtRandom()) {
        if (inFlightAtKills.length > 12)
          throw new Error(
            `the sagas never settled: in flight at the kills ${inFlightAtKills.join(
              ', ',
            )}; states now ${JSON.stringify(
              (await resources()).reduce((acc: any, r: any) => {
                acc[r.status.state] = (acc[r.status.state] ?? 0) + 1;
                return acc;
              }, {}),
            )}\n${replica.logs().slice(-4000)}`,
          );
      }
      // The kills landed while sagas ran (not all after they had settled).
      expect(inFlightAtKills.filter(n => n > 0).length).toBeGreaterThanOrEqual(
        3,
      );

      // A last kill and restart once all settled: nothing starts again, nothing changes.
      const before = await resources();
      const opsBefore = await replica.api('/simulator/side-effects');
      await replica.kill();
      await replica.start();
      await new Promise(r => setTimeout(r, 2500)); // two reconciler intervals
      const items = await resources();
      expect(items.map((r: any) => [r.ref, r.status.state])).toEqual(
        before.map((r: any) => [r.ref, r.status.state]),
      );
      expect(items).toHaveLength(TOTAL);

      const ready = items.filter((r: any) => r.status.state === 'READY');
      for (const resource of items) {
        const ops = (
          await replica.api(
            `/resources/load/${resource.metadata.name}/operations`,
          )
        ).items;
        expect(ops.filter((o: any) => ACTIVE.includes(o.state))).toEqual([]);
        // one create each: succeeded for a READY resource, compensated for a FAILED one
        expect([resource.ref, ops.map((o: any) => [o.type, o.state])]).toEqual([
          resource.ref,
          [
            [
              'create',
              resource.status.state === 'READY' ? 'succeeded' : 'compensated',
            ],
          ],
        ]);
      }

      const effects = await replica.api('/simulator/side-effects');
      // the last restart performed nothing
      expect(effects.performed).toEqual(opsBefore.performed);
      // nothing performed twice, under one token or several; retries were replays
      expect(performedTwice(effects)).toEqual([]);
      expect(effects.replays).toBeGreaterThan(0);
      // each READY resource exists once in the clouds, a FAILED one not at all
      const state = await replica.api('/simulator/state');
      const claims = new Map<string, number>();
      for (const claim of state.claims)
        claims.set(claim.ref, (claims.get(claim.ref) ?? 0) + 1);
      expect(
        items
          .map((r: any) => [r.ref, claims.get(r.ref) ?? 0])
          .filter(([, n]: any) => n !== 0),
      ).toEqual(ready.map((r: any) => [r.ref, 1]));

      // Runs were cut by the kills and resumed from the step they stood at.
      await replica.kill();
      const db = knexFactory({
        client: 'better-sqlite3',
        connection: { filename: join(dataDir, 'db', 'control-plane.sqlite') },
        useNullAsDefault: true,
      });
      try {
        const [{ n: resumed }] = await db('resource_events')
          .where({ type: 'step.resumed' })
          .count({ n: '*' });
        expect(Number(resumed)).toBeGreaterThan(0);
        process.stdout.write(
          `kill -9: ${inFlightAtKills.length} kills with ${inFlightAtKills.join(
            ', ',
          )} sagas in flight; ${ready.length} READY, ${
            items.length - ready.length
          } compensated; ${Number(resumed)} steps resumed; ${
            effects.replays
          } replayed calls\n`,
        );
      } finally {
        await db.destroy();
      }
    } finally {
      await replica.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
