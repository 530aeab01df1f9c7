import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { SimulatedClusterDriver } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { DateTime } from 'luxon';
import { until } from '../__testUtils__/backend';
import { createTestControlPlane } from '../__testUtils__/controlPlane';
import { ControlPlane } from '../controlPlane';
import { ChannelAutomation } from './ChannelAutomation';
import { IdleClusters } from './idle';
import { Duration } from 'luxon';
import {
  inMaintenanceWindow,
  nextMaintenanceWindow,
  nextStep,
  planRollout,
  RolloutCluster,
} from './channels';
import { ClusterDriverRegistry } from './ClusterService';

const window = (days: string[], start: string, minutes: number, tz = 'UTC') =>
  ({ days, start, durationMinutes: minutes, timeZone: tz } as any);

describe('maintenance windows', () => {
  it.each([
    [
      'inside, Paris time',
      window(['sat'], '02:00', 240, 'Europe/Paris'),
      '2026-12-12T02:30:00Z',
      true,
    ],
    [
      'before it opens',
      window(['sat'], '02:00', 240, 'Europe/Paris'),
      '2026-12-12T00:30:00Z',
      false,
    ],
    [
      'another day',
      window(['sun'], '02:00', 240),
      '2026-12-12T03:00:00Z',
      false,
    ],
    [
      'past midnight, opened the day before',
      window(['fri'], '23:00', 120),
      '2026-12-12T00:30:00Z',
      true,
    ],
    ['no window: any time', undefined, '2026-12-09T12:00:00Z', true],
  ])('%s', (_what, w, at, open) => {
    expect(inMaintenanceWindow(w, DateTime.fromISO(at, { zone: 'utc' }))).toBe(
      open,
    );
  });

  it('finds the next opening', () => {
    expect(
      nextMaintenanceWindow(
        window(['sat'], '02:00', 240, 'Europe/Paris'),
        DateTime.fromISO('2026-12-09T12:00:00Z', { zone: 'utc' }),
      )
        ?.toUTC()
        .toISO(),
    ).toBe('2026-12-12T01:00:00.000Z');
  });
});

describe('rollout decisions', () => {
  it.each([
    ['1.30', '1.31', '1.31'],
    ['1.30', '1.33.4', '1.31.12'],
    ['1.31.2', '1.31.12', '1.31.12'],
    ['1.31', '1.31', undefined],
    ['1.32', '1.31', undefined],
  ])('%s toward %s steps to %s', (from, to, step) => {
    expect(nextStep(from, to)).toBe(step);
  });

  const c = (
    name: string,
    cell: string,
    over: Partial<RolloutCluster> = {},
  ) => ({
    name,
    cell,
    version: '1.30',
    inWindow: true,
    busy: false,
    health: 90,
    ...over,
  });
  const step = (x: RolloutCluster) => nextStep(x.version, '1.31');
  const fleet = [
    c('us-b', 'cell-us'),
    c('eu-b', 'cell-eu'),
    c('eu-a', 'cell-eu'),
    c('us-a', 'cell-us'),
  ];

  it('starts with one canary, then a cell at a time', () => {
    expect(planRollout(fleet, step)).toEqual({
      start: ['eu-a'],
      waves: [['eu-a'], ['eu-b'], ['us-a', 'us-b']],
      wave: 0,
    });
    const canaryDone = fleet.map(x =>
      x.name === 'eu-a'
        ? {
            ...x,
            version: '1.31',
            upgrade: { state: 'succeeded', healthBefore: 90 },
          }
        : x,
    );
    expect(planRollout(canaryDone, step).start).toEqual(['eu-b']);
  });

  it('halts on a failed upgrade and on a health drop after one', () => {
    const failed = fleet.map(x =>
      x.name === 'eu-a' ? { ...x, upgrade: { state: 'compensated' } } : x,
    );
    expect(planRollout(failed, step)).toMatchObject({
      start: [],
      halted: 'the upgrade of eu-a compensated',
    });
    const dropped = fleet.map(x =>
      x.name === 'eu-a'
        ? {
            ...x,
            version: '1.31',
            health: 60,
            upgrade: { state: 'succeeded', healthBefore: 90 },
          }
        : x,
    );
    expect(planRollout(dropped, step).halted).toBe(
      'the health of eu-a fell from 90 to 60 after its upgrade',
    );
  });

  it('waits for a cluster outside its window', () => {
    const closed = fleet.map(x =>
      x.name === 'eu-a' ? { ...x, inWindow: false } : x,
    );
    expect(planRollout(closed, step)).toMatchObject({ start: [], wave: 0 });
  });
});

const databases = TestDatabases.create();
jest.setTimeout(180_000);

/**
 * A channel release on a fleet of six simulated clusters: upgraded in waves inside their
 * windows; with a failure injected into the canary, nothing else is upgraded.
 */
describe.each(databases.eachSupportedId())(
  'channel automation on %s',
  databaseId => {
    let cp: ControlPlane;
    let clusters: SimulatedClusterDriver;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      const clusterDrivers = new ClusterDriverRegistry();
      const test = await createTestControlPlane(databases, databaseId, {
        clusterDrivers,
      });
      clusters = new SimulatedClusterDriver(test.knex, {
        createMs: 30,
        upgradeMs: 60,
        scaleMs: 10,
        deleteMs: 10,
      });
      clusterDrivers.add(clusters);
      cp = test.cp;
      cleanup = test.cleanup;
      // Only the runner of cluster operations: the passes below are run by hand.
      cp.clusters.runner.start();
    });
    afterEach(async () => {
      await cp.clusters.runner.stop();
      await cleanup();
    });

    const ana = { actor: 'user:default/ana', requestId: 'test' };
    // Saturday 03:00 in Paris: inside every window below but us-c's (Sundays).
    const saturday = DateTime.fromISO('2026-12-12T02:00:00Z', { zone: 'utc' });
    const sunday = saturday.plus({ days: 1 });
    const fleet = ['eu-a', 'eu-b', 'eu-c', 'us-a', 'us-b', 'us-c'];

    const settled = (name: string, id: string) =>
      until(async () => {
        const op = await cp.clusters.store.operation(id);
        return op && ['succeeded', 'compensated', 'failed'].includes(op.state)
          ? op
          : undefined;
      }, `operation ${id} of ${name}`);
    /** Creates a cluster on the simulator (1.30, one pool) and waits until it is Ready. */
    async function createCluster(
      name: string,
      over: Record<string, unknown> = {},
    ) {
      const accepted = await cp.clusters.service.create(
        {
          name,
          cell: name.startsWith('eu') ? 'cell-eu' : 'cell-us',
          provider: 'aws',
          region: 'r1',
          zones: ['z1'],
          version: '1.30',
          nodePools: [{ name: 'general', machineType: 'm', count: 1 }],
          ...over,
        },
        ana,
      );
      await settled(name, accepted.operation!.id);
    }
    async function createFleet() {
      for (const name of fleet) {
        await createCluster(name, {
          channel: 'stable',
          maintenanceWindow: window(
            [name === 'us-c' ? 'sun' : 'sat'],
            '02:00',
            240,
            'Europe/Paris',
          ),
        });
      }
    }
    const automation = () =>
      new ChannelAutomation({
        service: cp.clusters.service,
        store: cp.clusters.store,
        logger: mockServices.logger.mock(),
        channelTarget: channel => (channel === 'stable' ? '1.31' : undefined),
      });
    /** Runs passes until nothing starts, waiting for what each started. */
    async function passes(now: DateTime) {
      const started: string[][] = [];
      for (;;) {
        const [report] = await automation().pass(now);
        if (report.halted || report.start.length === 0)
          return { started, report };
        started.push(report.start);
        for (const name of report.start) {
          const [op] = await cp.clusters.store.operationsOf(name, { limit: 1 });
          await settled(name, op.id);
        }
      }
    }
    const versions = async () =>
      Object.fromEntries(
        (await cp.clusters.service.list())
          .filter(c => fleet.includes(c.id))
          .map(c => [c.id, c.observed?.controlPlaneVersion]),
      );

    it('upgrades the fleet in waves inside the windows', async () => {
      await createFleet();
      const first = await passes(saturday);
      expect(first.started).toEqual([
        ['eu-a'],
        ['eu-b', 'eu-c'],
        ['us-a', 'us-b'],
      ]);
      expect(first.report.nextWindows).toEqual({
        'us-c': '2026-12-13T02:00:00.000+01:00',
      });
      const second = await passes(sunday);
      expect(second.started).toEqual([['us-c']]);
      expect(second.report.wave).toBe(3);
      expect(Object.values(await versions())).toEqual(Array(6).fill('1.31'));
      // each upgrade committed its version to Git
      const desired = await cp.clusters.service.current();
      expect(fleet.map(n => desired.cluster(n)?.version)).toEqual(
        Array(6).fill('1.31'),
      );
    });

    it('proposes an idle cluster once, never removes it silently, and decommissions it when Git says so', async () => {
      await createCluster('eu-idle', { version: '1.34' });
      await cp.clusters.service.refresh();
      const proposals: any[] = [];
      const idle = (propose?: boolean) =>
        new IdleClusters({
          service: cp.clusters.service,
          store: cp.clusters.store,
          logger: mockServices.logger.mock(),
          idleFor: Duration.fromObject({ days: 7 }),
          ...(propose
            ? {
                propose: async (manifest: any) => {
                  proposals.push(manifest);
                  return `change-${proposals.length}`;
                },
              }
            : {}),
        });
      const later = DateTime.now().plus({ days: 8 });
      // not idle long enough yet
      expect((await idle().pass(DateTime.now())).idle).toEqual([]);
      // idle, and no review module: reported only
      const reported = await idle().pass(later);
      expect(reported.idle.map(i => i.cluster)).toEqual(['eu-idle']);
      expect([reported.proposed, reported.decommissioning]).toEqual([[], []]);
      expect(
        (await cp.clusters.service.current()).cluster('eu-idle'),
      ).toBeDefined();
      // with one: proposed as lifecycle decommissioned, once
      expect((await idle(true).pass(later)).proposed).toEqual(['eu-idle']);
      expect((await idle(true).pass(later)).proposed).toEqual([]);
      expect(proposals).toHaveLength(1);
      expect(proposals[0].spec.lifecycle).toBe('decommissioned');
      // the change merged: the cluster is decommissioned
      await cp.changes.apply({
        actor: 'user:default/ana',
        action: 'cluster.update',
        target: 'cluster:eu-idle',
        message: 'approved: decommission eu-idle',
        requestId: 'test',
        compute: () => ({ put: [proposals[0]], remove: [] }),
      });
      const run = await idle(true).pass(later);
      expect(run.decommissioning).toEqual(['eu-idle']);
      const [op] = await cp.clusters.store.operationsOf('eu-idle', {
        limit: 1,
      });
      expect((await settled('eu-idle', op.id)).state).toBe('succeeded');
      expect((await cp.clusters.store.observed('eu-idle'))?.phase).toBe(
        'Deleted',
      );
      expect(
        (await cp.clusters.service.current()).cluster('eu-idle'),
      ).toBeUndefined();
    });

    it('waits for a platform engineer to approve a new minor, when the policy says so', async () => {
      await createCluster('eu-a', { channel: 'stable' });
      const guarded = new ChannelAutomation({
        service: cp.clusters.service,
        store: cp.clusters.store,
        logger: mockServices.logger.mock(),
        channelTarget: channel => (channel === 'stable' ? '1.31' : undefined),
        requireMinorApproval: true,
      });
      const [waiting] = await guarded.pass(saturday);
      expect([waiting.start, waiting.awaitingApproval]).toEqual([[], ['1.31']]);
      await cp.clusters.store.approveMinor(
        'stable',
        '1.31',
        'user:default/ana',
      );
      const [started] = await guarded.pass(saturday);
      expect([started.start, started.awaitingApproval]).toEqual([['eu-a'], []]);
    });

    it('halts the rest when the canary fails', async () => {
      await createFleet();
      await clusters.injectFault('eu-a', {
        kind: 'upgrade-failure',
        version: '1.31',
      });
      const run = await passes(saturday);
      expect(run.started).toEqual([['eu-a']]);
      expect(run.report.halted).toBe('the upgrade of eu-a compensated');
      expect(await versions()).toEqual({
        'eu-a': '1.30',
        'eu-b': '1.30',
        'eu-c': '1.30',
        'us-a': '1.30',
        'us-b': '1.30',
        'us-c': '1.30',
      });
      // halted for good: a later pass starts nothing
      const [again] = await automation().pass(saturday);
      expect([again.start, again.halted]).toEqual([
        [],
        'the upgrade of eu-a compensated',
      ]);
    });
  },
);
