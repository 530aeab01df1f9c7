import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

type ControlPlaneTest = Awaited<ReturnType<typeof startControlPlane>>;

const api = (cp: ControlPlaneTest, user = users.ana) => callAs(cp.server, user);

const mysql = (name: string) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
});

describe.each(databases.eachSupportedId())(
  'provider health on %s',
  databaseId => {
    let cp: ControlPlaneTest | undefined;
    afterEach(async () => {
      await cp?.cleanup();
      cp = undefined;
    });

    it('shows every provider with its health to the fleet, and refuses those who may not read it', async () => {
      cp = await startControlPlane(databases, databaseId);
      const providers = await api(cp).get('/providers');
      expect(providers.status).toBe(200);
      expect(providers.body.items.map((p: any) => [p.id, p.health])).toEqual(
        ['aws', 'azure', 'gcp', 'oci'].map(id => [
          id,
          {
            score: 1,
            breaker: 'closed',
            calls: 0,
            failures: 0,
            errorRate: 0,
            latencyMs: 0,
            latencyByCell: {},
          },
        ]),
      );
      expect((await api(cp, users.bruno).get('/providers')).status).toBe(403);
    });

    it('an outage in the simulator opens the breaker, placements avoid the provider while it is open and half-open, and probes close it once it recovers', async () => {
      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [simulatorModule],
        controlPlane: {
          simulator: fastSimulator,
          health: {
            probeInterval: { milliseconds: 400 },
            breaker: {
              consecutiveFailures: 3,
              openDuration: { milliseconds: 1500 },
              probeSuccesses: 6,
            },
          },
        },
      });
      const a = api(cp);
      const provider = async (id: string) =>
        (await a.get('/providers')).body.items.find((p: any) => p.id === id)
          .health;
      const placementOf = (name: string) =>
        until(async () => {
          const res = await a.get(`/resources/default/${name}/placement`);
          return res.status === 200 && res.body;
        }, `the placement of ${name}`);
      const rejectionsOf = (decision: any, p: string) =>
        decision.candidates
          .filter((c: any) => c.provider === p)
          .flatMap((c: any) => c.rejected);

      expect((await a.post('/resources', mysql('first'))).status).toBe(201);
      await until(
        async () =>
          (await a.get('/resources/default/first')).body.status.state ===
          'READY',
        'first READY',
      );
      const first = await placementOf('first');
      const p = first.selected.provider as string;
      // Its calls count, and their latency is known in the cell they went to.
      await until(async () => (await provider(p)).calls > 0, 'calls recorded');
      expect(Object.keys((await provider(p)).latencyByCell)).toEqual([
        'cell-us',
      ]);

      // The outage: every call to the provider fails; three in a row open its breaker.
      const outage = await a.post('/simulator/faults', {
        kind: 'provider-outage',
        provider: p,
      });
      expect(outage.status).toBe(201);
      for (let i = 0; i < 3; i++) {
        // Each drift check observes `first` on its provider: one failed call.
        expect((await a.post('/reconciler/run', { drift: true })).status).toBe(
          200,
        );
      }
      const opened = await until(async () => {
        const h = await provider(p);
        return h.breaker === 'open' && h;
      }, 'the breaker to open');
      expect(opened).toMatchObject({
        reason: '3 failures in a row',
        failures: 3,
      });

      // Open: a new placement goes elsewhere, and says why.
      await a.post('/resources', mysql('second'));
      const second = await placementOf('second');
      expect(second.selected.provider).not.toBe(p);
      expect(rejectionsOf(second, p)).toContainEqual({
        filter: 'breaker',
        reason: `circuit breaker of ${p} is open`,
      });

      // The provider recovers; after the open duration the breaker lets probes through, and
      // normal placements still avoid it.
      expect(
        (await a.delete(`/simulator/faults/${outage.body.id}`)).status,
      ).toBe(204);
      await until(
        async () => (await provider(p)).breaker === 'half-open',
        'the breaker to half-open',
      );
      await a.post('/resources', mysql('third'));
      const third = await placementOf('third');
      expect(third.selected.provider).not.toBe(p);
      expect(rejectionsOf(third, p)).toContainEqual({
        filter: 'breaker',
        reason: `circuit breaker of ${p} is half-open: only health probes go to it until they close it`,
      });

      // The probes succeed and close it: the provider takes placements again.
      const closed = await until(async () => {
        const h = await provider(p);
        return h.breaker === 'closed' && h;
      }, 'the probes to close the breaker');
      expect(closed.reason).toBe('6 probes succeeded');
      await a.post('/resources', mysql('fourth'));
      const fourth = await placementOf('fourth');
      expect(
        rejectionsOf(fourth, p).filter((r: any) => r.filter === 'breaker'),
      ).toEqual([]);
    });
  },
);
