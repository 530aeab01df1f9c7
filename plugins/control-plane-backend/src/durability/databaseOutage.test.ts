import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory, { Knex } from 'knex';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

const mysql = (name: string) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

/**
 * PostgreSQL going away under the control plane (as in a restart): its connections dropped
 * and new ones refused, then back. Requests in between answer 503 with Retry-After, change
 * nothing, and are audited once the database is back; a retry with the same key succeeds.
 */
describe.each(
  databases.eachSupportedId().filter(([id]) => id.startsWith('POSTGRES')),
)('the database going away on %s', databaseId => {
  let admin: Knex;
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  let database: string;

  const outage = async (on: boolean) => {
    await admin.raw(
      `ALTER DATABASE ?? WITH ALLOW_CONNECTIONS ${on ? 'false' : 'true'}`,
      [database],
    );
    if (on) {
      await admin.raw(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
        [database],
      );
    }
  };

  beforeAll(async () => {
    const knex = await databases.init(databaseId);
    database = (knex.client.config.connection as { database: string }).database;
    admin = knexFactory({
      client: 'pg',
      connection:
        process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING,
    });
    cp = await startControlPlane(databases, databaseId, { knex });
  });

  afterAll(async () => {
    await outage(false);
    await cp.cleanup();
    await admin.destroy();
  });

  it('answers 503 with Retry-After, never a 500; the same key then succeeds and the refusal is audited', async () => {
    const api = callAs(cp.server, users.ana);
    await api.post('/resources', mysql('before-db')).expect(201);

    await outage(true);
    try {
      const refused = await api
        .post('/resources', mysql('during-db'))
        .set('idempotency-key', 'outage-1');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.body.error.name).toBe('ServiceUnavailableError');
      expect(refused.body.error.message).toContain('nothing was changed');

      const reads = await Promise.all([
        api.get('/resources/default/before-db'),
        api.get('/health'),
      ]);
      expect(reads.map(r => r.status)).toEqual([503, 503]);
    } finally {
      await outage(false);
    }

    const retried = await api
      .post('/resources', mysql('during-db'))
      .set('idempotency-key', 'outage-1');
    expect(retried.status).toBe(201);
    expect(retried.body.ref).toBe('resource:default/during-db');

    const audit = await api.get(
      '/audit?action=resource.create&target=resource:default/during-db',
    );
    expect(audit.status).toBe(200);
    const outcomes = audit.body.items.map((e: any) => [
      e.outcome,
      e.reason.startsWith('503') && e.reason.includes('recorded late'),
    ]);
    // Newest first: the accepted retry, then the refusal written once the database was back.
    expect(outcomes).toEqual([
      ['accepted', false],
      ['failed', true],
    ]);
    expect((await api.get('/audit/verify')).body.valid).toBe(true);
  });
});
