import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { bootstrapManifests } from '../gitops/bootstrap';
import {
  fleetYaml,
  freePort,
  performedTwice,
  Replica,
} from '../__testUtils__/replicas';

jest.setTimeout(10 * 60_000);

/** Sagas shared by the two replicas, as the issue asks. */
const TOTAL = 500;
const LEASE_MS = 3000;
const PG_VARIABLE = 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';

/**
 * Two replicas on one PostgreSQL share 500 sagas; one is killed with SIGKILL midway. The
 * other takes over its operations once their leases lapse, from their last completed step:
 * all complete, none twice.
 */
describe('two replicas on one PostgreSQL', () => {
  it('share 500 sagas, and one carries on from where the other died', async () => {
    const pgUrl = process.env[PG_VARIABLE];
    if (!pgUrl) {
      throw new Error(
        `${PG_VARIABLE} is not set: this test needs PostgreSQL (./scripts/test provides one)`,
      );
    }
    const root = mkdtempSync(join(tmpdir(), 'idp-replicas-'));
    const prefix = `idp_replicas_${process.pid}_${Date.now()}_`;
    const pluginDb = () => {
      const url = new URL(pgUrl);
      url.pathname = `/${prefix}control-plane`;
      return knexFactory({ client: 'pg', connection: url.toString() });
    };
    const remote = join(root, 'state-remote.git');
    execFileSync('git', [
      'init',
      '--bare',
      '--quiet',
      '--initial-branch=main',
      remote,
    ]);
    const configFor = (name: string) => ({
      backend: { database: { client: 'pg', connection: pgUrl, prefix } },
      controlPlane: {
        dataDir: join(root, name),
        // One key for both: each verifies the other's commits and audit events.
        audit: { key: 'two-replicas-share-this-audit-key' },
        stateRepo: { remote: { url: remote }, pollInterval: { seconds: 1 } },
        orchestration: {
          // room to take over the other's runs at once, beside its own
          concurrency: 48,
          pollInterval: { milliseconds: 20 },
          readyPollInterval: { milliseconds: 20 },
          lease: { milliseconds: LEASE_MS },
          backoff: { base: { milliseconds: 20 }, max: { milliseconds: 200 } },
        },
        reconciler: { interval: { seconds: 1 } },
        simulator: {
          provisioningTime: { milliseconds: 150 },
          deprovisioningTime: { milliseconds: 30 },
          latency: { default: 1 },
        },
      },
    });
    const a = new Replica('a', await freePort(), configFor('a'));
    const b = new Replica('b', await freePort(), configFor('b'));
    let db: Knex | undefined;
    try {
      await a.start();
      await b.start();
      db = pluginDb();
      // The seeded fleet holds some 200 of these; make room for 500.
      await a.api('/manifests/apply', {
        method: 'POST',
        body: {
          yaml: bootstrapManifests('simulated')
            .filter(m => m.kind === 'Cluster')
            .map(m => {
              const { capacity } = (m as any).spec;
              return JSON.stringify({
                ...m,
                spec: {
                  ...(m as any).spec,
                  capacity: {
                    cpu: capacity.cpu * 4,
                    memoryGi: capacity.memoryGi * 4,
                    storageGi: capacity.storageGi * 4,
                    maxResources: capacity.maxResources * 4,
                  },
                },
              });
            })
            .join('\n---\n'),
        },
      });
      for (let batch = 0; batch < TOTAL / 50; batch++) {
        await a.api('/manifests/apply', {
          method: 'POST',
          body: { yaml: fleetYaml(`r${batch}`, 50) },
        });
      }

      // Once both work, freeze b (so that nothing of it moves), note what it holds, kill it.
      let held: any[] = [];
      for (;;) {
        const [{ n: done }] = await db('operations')
          .where({ state: 'succeeded' })
          .count({ n: '*' });
        const holding = await db('operations')
          .where({ lease_owner: b.workerId, state: 'running' })
          .count({ n: '*' });
        if (Number(done) >= TOTAL * 0.25 && Number(holding[0].n) >= 5) break;
        await new Promise(r => setTimeout(r, 100));
      }
      b.pause();
      // A commit b sent just before it froze still lands: let it, before noting what b held.
      await new Promise(r => setTimeout(r, 1000));
      held = await db('operations')
        .where({ lease_owner: b.workerId })
        .whereIn('state', ['running', 'compensating'])
        .select('id');
      const heldIds = held.map(o => o.id);
      const stepsAtKill = await db('operation_steps')
        .whereIn('operation_id', heldIds)
        .orderBy(['operation_id', 'position']);
      const lastEventAtKill = await db('resource_events')
        .whereIn('operation_id', heldIds)
        .max({ id: 'id' })
        .first();
      await b.kill();
      const killedAt = Date.now();

      // a finishes everything
      const deadline = Date.now() + 3 * 60_000;
      for (;;) {
        const [{ n }] = await db('operations')
          .whereIn('state', ['pending', 'running', 'compensating'])
          .count({ n: '*' });
        const [{ n: all }] = await db('operations').count({ n: '*' });
        const [{ n: unsettled }] = await db('resources')
          .whereNotIn('state', ['READY', 'FAILED'])
          .count({ n: '*' });
        if (Number(n) === 0 && Number(all) >= TOTAL && Number(unsettled) === 0)
          break;
        if (Date.now() > deadline)
          throw new Error(
            `not settled: ${n} in flight, ${all} operations; resources ${JSON.stringify(
              await db('resources')
                .select('state')
                .count({ n: '*' })
                .groupBy('state'),
            )}; operations ${JSON.stringify(
              await db('operations')
                .select('type', 'state', 'reason', 'error')
                .count({ n: '*' })
                .groupBy('type', 'state', 'reason', 'error'),
            )}\n${a.logs().slice(-3000)}`,
          );
        await new Promise(r => setTimeout(r, 250));
      }
      const items = (await a.api('/resources?namespace=load&limit=500')).items;
      expect(items.filter((r: any) => r.status.state !== 'READY')).toEqual([]);
      expect(items).toHaveLength(TOTAL);

      // one create per resource, succeeded, every step succeeded once
      const ops = await db('operations').select(
        'id',
        'resource_ref',
        'type',
        'state',
        'reason',
        'error',
      );
      expect(
        ops.filter(o => o.type !== 'create' || o.state !== 'succeeded'),
      ).toEqual([]);
      const steps = await db('operation_steps').select(
        'operation_id',
        'position',
        'state',
        'attempts',
        'finished_at',
      );
      expect(steps).toHaveLength(TOTAL * 7);
      expect(steps.filter(s => s.state !== 'succeeded')).toEqual([]);
      const succeededEvents = await db('resource_events')
        .where({ type: 'step.succeeded' })
        .select('operation_id', 'step')
        .count({ n: '*' })
        .groupBy('operation_id', 'step')
        .having(db.raw('count(*) > 1'));
      expect(succeededEvents).toEqual([]);

      // b's runs were resumed by a, within the lease, from the step each stood at
      expect(heldIds.length).toBeGreaterThanOrEqual(5);
      const resumedAfter: number[] = [];
      for (const id of heldIds) {
        const before = stepsAtKill.filter(s => s.operation_id === id);
        const after = steps
          .filter(s => s.operation_id === id)
          .sort((x, y) => x.position - y.position);
        // completed steps were not run again: same attempts, same end
        for (const step of before.filter(s => s.state === 'succeeded')) {
          const now = after.find(s => s.position === step.position)!;
          expect([
            id,
            step.position,
            now.attempts,
            String(now.finished_at),
          ]).toEqual([
            id,
            step.position,
            step.attempts,
            String(step.finished_at),
          ]);
        }
        const first = await db('resource_events')
          .where({ operation_id: id })
          .andWhere('type', 'like', 'step.%')
          .andWhere('id', '>', lastEventAtKill?.id ?? 0)
          .orderBy('id')
          .first();
        // where b stood: the step it had recorded as started, or none yet (b had claimed
        // the run but not begun it), and then a starts it
        const resumeAt = before.find(s => s.state !== 'succeeded');
        expect([id, first.type, first.step]).toEqual([
          id,
          resumeAt ? 'step.resumed' : 'step.started',
          resumeAt?.name ?? 'validate',
        ]);
        resumedAfter.push(new Date(first.created_at).getTime() - killedAt);
      }
      // The lease had to lapse first (b's last heartbeat renewed it at most LEASE_MS
      // before), and a took each run over as soon as it had (within one more lease).
      expect(Math.max(...resumedAfter)).toBeLessThanOrEqual(2 * LEASE_MS);

      const effects = await a.api('/simulator/side-effects');
      expect(performedTwice(effects)).toEqual([]);
      const applies = effects.performed.filter(
        (e: any) => e.action === 'apply',
      );
      expect(new Set(applies.map((e: any) => e.ref)).size).toBe(TOTAL);
      const state = await a.api('/simulator/state');
      expect(state.claims).toHaveLength(TOTAL);
      // Both replicas' commits and events are the control plane's: the chain verifies.
      expect(await a.api('/audit/verify')).toMatchObject({ valid: true });
      process.stdout.write(
        `two replicas: b killed holding ${
          heldIds.length
        } runs; a resumed each ${Math.min(...resumedAfter)}-${Math.max(
          ...resumedAfter,
        )} ms after the kill (lease ${LEASE_MS} ms); ${
          effects.replays
        } replayed calls\n`,
      );
    } finally {
      await db?.destroy();
      await a.kill();
      await b.kill();
      const admin = knexFactory({ client: 'pg', connection: pgUrl });
      await admin
        .raw(`DROP DATABASE IF EXISTS "${prefix}control-plane"`)
        .catch(() => undefined);
      await admin.destroy();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
