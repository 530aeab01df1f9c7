import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import knexFactory from 'knex';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';

// Concurrency that matters runs on PostgreSQL: several replicas, one database.
const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });
jest.setTimeout(120_000);

const LIMIT = 5;
const REQUESTS = 50;

describe.each(databases.eachSupportedId())('quotas on %s', databaseId => {
  /** Two replicas on one database and one remote state repository. */
  async function twoReplicas() {
    const root = mkdtempSync(join(tmpdir(), 'idp-quota-race-'));
    const remote = join(root, 'state.git');
    execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
    const first = await databases.init(databaseId);
    const second = knexFactory(first.client.config);
    const replica = (
      knex: typeof first,
      name: string,
      orchestration: boolean,
    ) =>
      startControlPlane(databases, databaseId, {
        knex,
        dataDir: join(root, name),
        orchestration,
        features: [simulatorModule],
        controlPlane: {
          stateRepo: { remote: { url: remote }, pollInterval: { hours: 1 } },
          simulator: {
            provisioningTime: { milliseconds: 30 },
            deprovisioningTime: { milliseconds: 10 },
            latency: { default: 0 },
          },
        },
      });
    let running: Awaited<ReturnType<typeof replica>>[] = [];
    return {
      db: first,
      async start(orchestration: boolean) {
        running = [
          await replica(first, 'a', orchestration),
          await replica(second, 'b', orchestration),
        ];
        return running;
      },
      async stop() {
        for (const r of running.reverse()) await r.stop();
        running = [];
      },
      async cleanup() {
        await this.stop();
        await second.destroy();
        rmSync(root, { recursive: true, force: true });
      },
    };
  }

  const as = authAs(users.ana);
  const applyQuota = (server: any) =>
    request(server)
      .post('/api/control-plane/manifests/apply')
      .set('authorization', as)
      .send({
        yaml: `apiVersion: idp.multicloud/v1
kind: Quota
metadata: { name: rush }
spec:
  scope: { kind: namespace, name: rush }
  limits: { maxInstances: ${LIMIT} }
`,
      });
  const create = (server: any, i: number) =>
    request(server)
      .post('/api/control-plane/resources')
      .set('authorization', as)
      .send({
        name: `cache-${i}`,
        namespace: 'rush',
        product: 'redis',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
        params: { size: 'small' },
      });
  const refusal = `quota rush (namespace rush) allows maxInstances ${LIMIT} instances; ${LIMIT} in use, this request adds 1`;

  it(`admits exactly ${LIMIT} of ${REQUESTS} concurrent creates against a quota of ${LIMIT}, sent to two replicas`, async () => {
    const replicas = await twoReplicas();
    try {
      const [a, b] = await replicas.start(true);
      expect((await applyQuota(a.server)).status).toBe(200);
      const responses = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) =>
          create(i % 2 ? a.server : b.server, i),
        ),
      );
      const statuses = responses.map(r => r.status);
      expect(statuses.filter(s => s === 201)).toHaveLength(LIMIT);
      expect(statuses.filter(s => s === 422)).toHaveLength(REQUESTS - LIMIT);
      for (const refused of responses.filter(r => r.status === 422)) {
        expect(refused.body.error.name).toBe('QuotaExceededError');
        expect(refused.body.error.message).toBe(refusal);
      }

      // The admitted ones are all placed and READY; nothing else ever was.
      const live = () =>
        replicas
          .db('resources')
          .where({ namespace: 'rush' })
          .whereNot('state', 'DELETED');
      await until(
        async () =>
          (await live()).filter(r => r.state === 'READY').length === LIMIT,
        `${LIMIT} READY`,
        60_000,
      );
      const rows = await live();
      expect(rows).toHaveLength(LIMIT);
      expect(rows.every(r => r.placement)).toBe(true);
      const usage = await request(b.server)
        .get('/api/control-plane/quotas/usage')
        .set('authorization', as);
      expect(usage.body.items).toEqual([
        expect.objectContaining({
          id: 'rush',
          usage: expect.objectContaining({ instances: LIMIT }),
        }),
      ]);
    } finally {
      await replicas.cleanup();
    }
  });

  it(`places exactly ${LIMIT} of ${REQUESTS} resources accepted before a quota of ${LIMIT}, scheduled at once by two replicas`, async () => {
    const replicas = await twoReplicas();
    try {
      // Accepted (in one commit) while nothing provisions and no quota applies; then the quota.
      const [a, b] = await replicas.start(false);
      const applied = await request(a.server)
        .post('/api/control-plane/manifests/apply')
        .set('authorization', as)
        .send({
          yaml: Array.from(
            { length: REQUESTS },
            (_, i) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: cache-${i}, namespace: rush }
spec:
  product: redis
  owner: group:default/payments
  tier: low
  cell: cell-us
  params: { size: small }
`,
          ).join('---\n'),
        });
      expect(applied.body.summary).toMatchObject({ create: REQUESTS });
      expect((await applyQuota(b.server)).status).toBe(200);
      await replicas.stop();

      // Both replicas now run the 50 sagas: their schedule steps race for the quota.
      await replicas.start(true);
      const settled = await until(
        async () => {
          const rows = await replicas
            .db('resources')
            .where({ namespace: 'rush' });
          return rows.every(r => ['READY', 'FAILED'].includes(r.state)) && rows;
        },
        'every saga to settle',
        90_000,
      );
      const ready = settled.filter(r => r.state === 'READY');
      const failed = settled.filter(r => r.state === 'FAILED');
      expect(ready).toHaveLength(LIMIT);
      expect(failed).toHaveLength(REQUESTS - LIMIT);
      for (const f of failed) {
        expect(f.state_reason).toContain(refusal);
        expect(f.placement).toBeNull();
      }
      expect(
        await replicas
          .db('audit_events')
          .where({ action: 'policy.decision', outcome: 'rejected' })
          .whereLike('reason', '%by quota guard%')
          .count({ n: '*' })
          .first(),
      ).toEqual({ n: String(REQUESTS - LIMIT) });
    } finally {
      await replicas.cleanup();
    }
  });
});
