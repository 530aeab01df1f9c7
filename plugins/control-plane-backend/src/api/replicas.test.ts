import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory from 'knex';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

// Replicas share their work through PostgreSQL (SQLite is one process's database).
const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });
jest.setTimeout(90_000);

const mysql = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
};

describe.each(databases.eachSupportedId())(
  'two control plane backends on one %s database',
  databaseId => {
    it('turn the same Idempotency-Key sent to both at once into one resource and one commit', async () => {
      const root = mkdtempSync(join(tmpdir(), 'idp-two-backends-'));
      const remote = join(root, 'state.git');
      execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
      const first = await databases.init(databaseId);
      // The second replica has its own connections to the same database.
      const second = knexFactory(first.client.config);
      const replica = (knex: typeof first, name: string) =>
        startControlPlane(databases, databaseId, {
          knex,
          dataDir: join(root, name),
          controlPlane: {
            stateRepo: { remote: { url: remote }, pollInterval: { hours: 1 } },
          },
        });
      const a = await replica(first, 'a');
      const b = await replica(second, 'b');
      const commits = () =>
        Number(
          execFileSync('git', ['rev-list', '--count', 'main'], { cwd: remote })
            .toString()
            .trim(),
        );
      try {
        const before = commits();
        const send = (server: typeof a.server, body: object = mysql) =>
          request(server)
            .post('/api/control-plane/resources')
            .set('authorization', authAs(users.bruno))
            .set('idempotency-key', 'create-orders-db')
            .send(body);
        const responses = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            send(i % 2 ? a.server : b.server),
          ),
        );
        const statuses = responses.map(r => r.status);
        expect(statuses.every(s => s === 201 || s === 409)).toBe(true);
        const created = responses.filter(r => r.status === 201);
        expect(created.length).toBeGreaterThanOrEqual(1);
        for (const r of created) expect(r.body).toEqual(created[0].body);
        expect(commits()).toBe(before + 1);
        expect(
          await first('resources').where({ name: 'orders-db' }),
        ).toHaveLength(1);

        // Both replicas replay the first answer, and refuse another body with the key.
        for (const server of [a.server, b.server]) {
          const replay = await send(server);
          expect(replay.status).toBe(201);
          expect(replay.body).toEqual(created[0].body);
          expect((await send(server, { ...mysql, tier: 'low' })).status).toBe(
            422,
          );
        }
        expect(commits()).toBe(before + 1);
      } finally {
        await b.stop();
        await a.stop();
        await second.destroy();
        rmSync(root, { recursive: true, force: true });
      }
    });
  },
);
