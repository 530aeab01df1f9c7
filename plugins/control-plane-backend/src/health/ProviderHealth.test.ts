import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { DateTime } from 'luxon';
import { migrateUp } from '../database/migrations';
import { BreakerPolicy } from './breaker';
import { ProviderHealth } from './ProviderHealth';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const policy: BreakerPolicy = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  minCalls: 10,
  cooldownMs: 200,
  probeSuccesses: 2,
};

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe.each(databases.eachSupportedId())(
  'ProviderHealth on %s',
  databaseId => {
    async function setup() {
      const db = await databases.init(databaseId);
      await migrateUp(db);
      const changes: string[] = [];
      const health = () =>
        new ProviderHealth({
          db,
          logger: mockServices.logger.mock(),
          policy,
          onBreakerChange: (provider, b) =>
            changes.push(`${provider} ${b.state}`),
        });
      return { db, health, changes };
    }

    it('scores providers from the outcomes and latencies of their calls, per cell', async () => {
      const { health } = await setup();
      const h = health();
      for (let i = 0; i < 8; i++) h.record('aws', true, 20, 'cell-us');
      for (let i = 0; i < 2; i++) h.record('aws', false, 20, 'cell-us');
      h.record('aws', true, 80, 'cell-eu');
      h.record('aws', true, 120, 'cell-eu');
      h.record('gcp', true, 2500, 'cell-us');
      await h.flush();

      const report = await h.report();
      expect(report).toEqual([
        {
          provider: 'aws',
          // 10 of 12 calls succeeded; the mean latency is far under a second
          health: 0.833,
          breaker: 'closed',
          latencyMs: 33.3,
          latencyByCell: { 'cell-eu': 100, 'cell-us': 20 },
          calls: 12,
          failures: 2,
        },
        {
          provider: 'gcp',
          // all succeeded, but at 2.5 s a call: the latency factor is 1000 / 2500
          health: 0.4,
          breaker: 'closed',
          latencyMs: 2500,
          latencyByCell: { 'cell-us': 2500 },
          calls: 1,
          failures: 0,
        },
      ]);
      expect((await h.statuses()).get('aws')).toEqual({
        health: 0.833,
        breaker: 'closed',
        latencyMs: 33.3,
        latencyByCell: { 'cell-eu': 100, 'cell-us': 20 },
      });
    });

    it('forgets calls older than the window', async () => {
      const { db, health } = await setup();
      await db('provider_cell_call_stats').insert({
        provider: 'oci',
        cell: 'cell-us',
        bucket: DateTime.utc().minus({ minutes: 10 }).startOf('minute').toISO(),
        calls: 100,
        failures: 100,
        latency_ms_sum: 1000,
        latency_ms_max: 10,
      });
      const h = health();
      h.record('oci', true, 10, 'cell-us');
      await h.flush();
      expect(await h.report()).toEqual([
        expect.objectContaining({
          provider: 'oci',
          health: 1,
          calls: 1,
          failures: 0,
        }),
      ]);
    });

    it('opens a breaker on failures in a row, keeps it across a restart, half-opens it after the cooldown, and closes it on probes', async () => {
      const { health, changes } = await setup();
      const first = health();
      for (let i = 0; i < 3; i++) first.record('azure', false, 5, 'cell-eu');
      await first.flush();
      expect(await first.report()).toEqual([
        expect.objectContaining({
          provider: 'azure',
          breaker: 'open',
          reason: '3 failures in a row',
          openedAt: expect.any(String),
        }),
      ]);

      // A new instance (a restart, or another replica) reads the same breaker.
      const second = health();
      expect((await second.statuses()).get('azure')?.breaker).toBe('open');
      expect(await second.halfOpen()).toEqual([]);
      await sleep(policy.cooldownMs + 50);
      expect(await second.halfOpen()).toEqual(['azure']);

      // A failed probe opens it again; two successful ones close it.
      second.record('azure', false, 5, 'cell-eu');
      await second.flush();
      expect((await second.report())[0]).toMatchObject({
        breaker: 'open',
        reason: 'a probe failed',
      });
      await sleep(policy.cooldownMs + 50);
      expect(await second.halfOpen()).toEqual(['azure']);
      second.record('azure', true, 5, 'cell-eu');
      second.record('azure', true, 5, 'cell-eu');
      await second.flush();
      expect((await second.report())[0]).toMatchObject({
        breaker: 'closed',
        reason: '2 probes succeeded',
      });
      expect(changes).toEqual([
        'azure open',
        'azure half-open',
        'azure open',
        'azure half-open',
        'azure closed',
      ]);
    });

    it('opens a breaker on the failure rate over the window, across flushes', async () => {
      const { health } = await setup();
      const h = health();
      // Alternating outcomes never make 3 failures in a row; 5 of 10 is the rate that opens it.
      for (let i = 0; i < 4; i++) {
        h.record('gcp', i % 2 === 0, 5, 'cell-us');
      }
      await h.flush();
      expect((await h.report())[0].breaker).toBe('closed');
      for (let i = 0; i < 6; i++) {
        h.record('gcp', i % 2 === 0, 5, 'cell-ap');
      }
      await h.flush();
      expect((await h.report())[0]).toMatchObject({
        breaker: 'open',
        reason: '5 of 10 calls failed in the window',
      });
    });
  },
);
