import { DateTime } from 'luxon';
import { clusterHealth, HealthInput } from './health';
import { orderForDrain } from './drainOrder';

const now = DateTime.fromISO('2026-12-07T12:00:00Z');
const ready = (over: Partial<NonNullable<HealthInput['observed']>> = {}) => ({
  phase: 'Ready' as const,
  controlPlaneVersion: '1.35.0',
  pools: [{ name: 'general', version: '1.35.0', nodes: 4, ready: 4 }],
  nodesReady: 4,
  nodesTotal: 4,
  conditions: [{ type: 'ControlPlaneReady', status: 'True' as const }],
  certificatesExpireAt: '2027-06-01T00:00:00Z',
  ...over,
});
const input = (over: Partial<HealthInput> = {}): HealthInput => ({
  spec: {
    version: '1.35',
    nodePools: [{ name: 'general', machineType: 'm', count: 4 }],
  },
  observed: ready(),
  utilization: 0.3,
  failedOperations24h: 0,
  operating: false,
  ...over,
});
const factor = (i: HealthInput, name: string) =>
  clusterHealth(i, now).breakdown.find(b => b.factor === name)!;

describe('cluster health score', () => {
  it.each([
    ['a healthy cluster on the newest minor', input(), 100],
    ['half its nodes down', input({ observed: ready({ nodesReady: 2 }) }), 88],
    [
      'its control plane down',
      input({
        observed: ready({
          conditions: [{ type: 'ControlPlaneReady', status: 'False' }],
        }),
      }),
      75,
    ],
    [
      'certificates expired',
      input({
        observed: ready({ certificatesExpireAt: '2026-12-01T00:00:00Z' }),
      }),
      85,
    ],
    [
      'a version past its end of life',
      input({
        spec: {
          version: '1.30',
          nodePools: [{ name: 'general', machineType: 'm', count: 4 }],
        },
        observed: ready({
          controlPlaneVersion: '1.30.4',
          pools: [{ name: 'general', version: '1.30.4', nodes: 4, ready: 4 }],
        }),
      }),
      82,
    ],
    ['full', input({ utilization: 1 }), 85],
    ['two failed operations in 24 h', input({ failedOperations24h: 2 }), 90],
    [
      'a pool smaller than desired',
      input({
        observed: ready({
          pools: [{ name: 'general', version: '1.35.0', nodes: 3, ready: 3 }],
          nodesReady: 3,
          nodesTotal: 3,
        }),
      }),
      95,
    ],
  ])('%s scores %i', (_what, i, score) => {
    expect(clusterHealth(i, now).score).toBe(score);
  });

  it('explains each factor', () => {
    expect(
      factor(input({ observed: ready({ nodesReady: 2 }) }), 'conditions'),
    ).toEqual({
      factor: 'conditions',
      weight: 25,
      score: 0.5,
      detail: '2 of 4 nodes ready',
    });
    expect(
      factor(
        input({
          observed: ready({ certificatesExpireAt: '2026-12-10T12:00:00Z' }),
        }),
        'certificates',
      ).detail,
    ).toBe('certificates expire in 3 days');
    expect(
      factor(
        input({
          operating: true,
          observed: ready({ controlPlaneVersion: '1.34.2' }),
        }),
        'drift',
      ).score,
    ).toBe(1);
  });

  it('scores a deleted cluster 0', () => {
    expect(
      clusterHealth(input({ observed: ready({ phase: 'Deleted' }) }), now)
        .score,
    ).toBe(0);
  });
});

describe('drain order', () => {
  const r = (ref: string, tier: string, dependsOn: string[] = []) => ({
    ref,
    tier,
    cell: 'cell-eu',
    dependsOn,
  });
  it.each([
    [
      'a dependency before what depends on it, whatever the tiers',
      [r('web', 'critical', ['db']), r('db', 'low')],
      ['db', 'web'],
    ],
    [
      'independent ones by tier, then by ref',
      [r('b', 'low'), r('a', 'low'), r('c', 'critical')],
      ['c', 'a', 'b'],
    ],
    [
      'a dependency elsewhere holds nothing back',
      [r('web', 'high', ['elsewhere'])],
      ['web'],
    ],
    [
      'a chain',
      [r('c', 'low', ['b']), r('b', 'low', ['a']), r('a', 'low')],
      ['a', 'b', 'c'],
    ],
  ])('%s', (_what, placed, order) => {
    expect(orderForDrain(placed).map(p => p.ref)).toEqual(order);
  });
});
