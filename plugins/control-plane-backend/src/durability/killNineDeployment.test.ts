import knexFactory from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Replica } from '../__testUtils__/replicas';

jest.setTimeout(5 * 60_000);

/**
 * kill -9 of the backend in the middle of a canary: the restarted backend resumes the
 * deployment at the step it was on, with the traffic weights it had, and finishes it.
 */
describe('a control plane killed with SIGKILL mid-canary', () => {
  it('resumes the deployment at its step, weights intact, and finishes it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-kill9-deploy-'));
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
          pollInterval: { milliseconds: 50 },
          readyPollInterval: { milliseconds: 50 },
          lease: { seconds: 2 },
        },
        reconciler: { interval: { seconds: 1 } },
        deployments: { pollInterval: { milliseconds: 200 } },
        simulator: {
          provisioningTime: { milliseconds: 100 },
          deprovisioningTime: { milliseconds: 30 },
          latency: { default: 1 },
        },
      },
    });
    const deployment = async () =>
      (await replica.api('/resources/default/shop/deployments')).items[0];
    const until = async <T>(
      check: () => Promise<T | undefined | false>,
      what: string,
    ): Promise<T> => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) {
          throw new Error(`timed out: ${what}\n${replica.logs().slice(-4000)}`);
        }
        await new Promise(r => setTimeout(r, 100));
      }
    };
    /** The routing the simulator's router holds, read from the database file. */
    const routing = async () => {
      const db = knexFactory({
        client: 'better-sqlite3',
        connection: {
          filename: join(dataDir, 'db', 'control-plane.sqlite'),
          options: { readonly: true },
        },
        useNullAsDefault: true,
      });
      try {
        const row = await db('simulator_traffic_routes')
          .where({ ref: 'resource:default/shop' })
          .first('routing');
        return row ? JSON.parse(row.routing) : undefined;
      } finally {
        await db.destroy();
      }
    };
    try {
      await replica.start();
      await replica.api('/resources', {
        method: 'POST',
        body: {
          name: 'shop',
          product: 'webapp',
          owner: 'group:default/payments',
          tier: 'critical',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
          rollout: {
            strategy: 'canary',
            steps: [
              { setWeight: 10 },
              { pause: {} },
              { setWeight: 40 },
              { pause: { duration: '2s' } },
              { promote: {} },
            ],
          },
        },
      });
      await until(
        async () =>
          (await replica.api('/resources/default/shop')).status.state ===
          'READY',
        'shop READY',
      );
      await replica.api('/resources/default/shop', {
        method: 'PATCH',
        body: { params: { version: '1.1.0' } },
      });
      const before = await until(async () => {
        const d = await deployment();
        return d?.currentStep === 2 ? d : undefined;
      }, 'the canary at 10 %, paused until promoted');
      expect(before.weights.canary).toBe(10);

      await replica.kill();
      // dead: the router still holds the canary at 10 %
      expect(await routing()).toMatchObject({
        stable: '1.0.0',
        canary: '1.1.0',
        canaryWeight: 10,
      });
      await replica.start();

      const resumed = await deployment();
      expect(resumed).toMatchObject({
        id: before.id,
        phase: 'Progressing',
        currentStep: 2,
        weights: { canary: 10 },
      });
      // the same run of the pause step: it began before the kill
      expect(resumed.steps[2].startedAt).toBe(before.steps[2].startedAt);
      await replica.api(`/deployments/${before.id}/promote`, {
        method: 'POST',
        body: {},
      });

      const done = await until(async () => {
        const d = await deployment();
        return d?.phase !== 'Progressing' && d?.phase !== 'Paused'
          ? d
          : undefined;
      }, 'the deployment ended');
      expect(done.phase).toBe('Succeeded');
      expect(done.steps.map((s: any) => s.state)).toEqual(
        Array(6).fill('succeeded'),
      );
      // the timed pause after the restart held its 2 s
      expect(
        Date.parse(done.steps[4].finishedAt) -
          Date.parse(done.steps[4].startedAt),
      ).toBeGreaterThanOrEqual(2000);
      expect(await routing()).toEqual({ stable: '1.1.0', canaryWeight: 0 });
      expect(
        (await replica.api('/resources/default/shop')).status,
      ).toMatchObject({ state: 'READY', version: '1.1.0' });
      // one deployment for the one change: the restart started no second one
      expect(
        (await replica.api('/resources/default/shop/deployments')).items,
      ).toHaveLength(1);
    } finally {
      await replica.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
