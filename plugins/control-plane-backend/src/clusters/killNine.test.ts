import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { freePort, Replica } from '../__testUtils__/replicas';

jest.setTimeout(5 * 60_000);

const PG_VARIABLE = 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';
const pgUrl = process.env[PG_VARIABLE];
const pgPrefix = `idp_cluster_kill9_${process.pid}_${Date.now()}_`;

/** The backend's database on SQLite, and on PostgreSQL when the tests have one. */
const databases: [string, (dataDir: string) => object][] = [
  [
    'SQLite',
    dataDir => ({
      client: 'better-sqlite3',
      connection: { directory: join(dataDir, 'db') },
    }),
  ],
  ...(pgUrl
    ? ([
        [
          'PostgreSQL',
          () => ({
            client: 'pg',
            connection: pgUrl,
            // a database of its own for each run
            prefix: pgPrefix,
          }),
        ],
      ] as [string, (dataDir: string) => object][])
    : []),
];

/**
 * kill -9 while a cluster upgrade runs its second pool: the restarted control plane claims
 * the operation once its lease ran out and resumes at that pool, running none of the steps
 * before it again.
 */
describe.each(databases)(
  'a control plane on %s killed with SIGKILL mid-upgrade',
  (_name, database) => {
    it('resumes the upgrade at the pool it was on', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-cluster-kill9-'));
      const replica = new Replica('solo', await freePort(), {
        backend: { database: database(dataDir) },
        controlPlane: {
          dataDir,
          orchestration: {
            pollInterval: { milliseconds: 50 },
            lease: { seconds: 2 },
          },
          simulator: {
            provisioningTime: { milliseconds: 30 },
            latency: { default: 1 },
            clusters: { createMs: 100, upgradeMs: 1500, scaleMs: 50 },
          },
        },
      });
      const operation = (id: string) =>
        replica.api(`/clusters/eu-kill/operations/${id}`);
      const until = async (what: string, check: () => Promise<boolean>) => {
        const deadline = Date.now() + 60_000;
        while (!(await check())) {
          if (Date.now() > deadline) {
            throw new Error(
              `timed out: ${what}\n${replica.logs().slice(-4000)}`,
            );
          }
          await new Promise(r => setTimeout(r, 50));
        }
      };
      try {
        await replica.start();
        const created = await replica.api('/clusters', {
          method: 'POST',
          body: {
            name: 'eu-kill',
            cell: 'cell-eu',
            provider: 'gcp',
            region: 'europe-west1',
            zones: ['europe-west1-b'],
            version: '1.30',
            nodePools: [
              { name: 'system', machineType: 'standard-4', count: 1 },
              { name: 'general', machineType: 'standard-8', count: 2 },
            ],
          },
        });
        await until(
          'the cluster is created',
          async () =>
            (await operation(created.operation.id)).state === 'succeeded',
        );
        const upgrade = await replica.api('/clusters/eu-kill', {
          method: 'PATCH',
          body: { version: '1.31' },
        });
        const id = upgrade.operation.id;
        await until('the second pool is upgrading', async () => {
          const op = await operation(id);
          return op.steps.some(
            (s: any) =>
              s.name === 'upgrade_pool:general' && s.state === 'running',
          );
        });
        await replica.kill();
        await replica.start();
        await until('the upgrade ends', async () =>
          ['succeeded', 'compensated', 'failed'].includes(
            (
              await operation(id)
            ).state,
          ),
        );
        const op = await operation(id);
        expect(op.state).toBe('succeeded');
        expect(op.steps.map((s: any) => [s.name, s.state, s.attempts])).toEqual(
          [
            ['preflight', 'succeeded', 1],
            ['upgrade_control_plane', 'succeeded', 1],
            ['upgrade_pool:system', 'succeeded', 1],
            // started before the kill, resumed after it
            ['upgrade_pool:general', 'succeeded', 2],
            ['verify', 'succeeded', 1],
          ],
        );
        const cluster = await replica.api('/clusters/eu-kill');
        expect(cluster.observed.controlPlaneVersion).toBe('1.31');
        expect(cluster.observed.pools.map((p: any) => p.version)).toEqual([
          '1.31',
          '1.31',
        ]);
        expect(cluster.observed.phase).toBe('Ready');
      } finally {
        await replica.kill().catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
        const { prefix } = database(dataDir) as { prefix?: string };
        if (prefix && pgUrl) {
          const admin = knexFactory({ client: 'pg', connection: pgUrl });
          await admin
            .raw(`DROP DATABASE IF EXISTS "${prefix}control-plane"`)
            .catch(() => undefined);
          await admin.destroy();
        }
      }
    });
  },
);
