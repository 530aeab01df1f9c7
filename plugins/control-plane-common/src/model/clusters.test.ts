import {
  canClusterTransition,
  channelVersion,
  clusterPhases,
  isTerminalClusterPhase,
  kubernetesRelease,
  removedApisIn,
  upgradeRefusals,
} from './clusters';

describe('cluster phases', () => {
  it.each([
    ['Provisioning', 'Ready', true],
    ['Ready', 'Upgrading', true],
    ['Upgrading', 'Ready', true],
    ['Upgrading', 'Draining', false],
    ['Ready', 'Draining', true],
    ['Draining', 'Decommissioning', true],
    ['Provisioning', 'Upgrading', false],
    ['Decommissioning', 'Deleted', true],
    ['Deleted', 'Ready', false],
    ['Ready', 'Deleted', false],
  ] as const)('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canClusterTransition(from, to)).toBe(allowed);
  });

  it('has one terminal phase, Deleted', () => {
    expect(clusterPhases.filter(isTerminalClusterPhase)).toEqual(['Deleted']);
  });
});

describe('upgrade pre-flight', () => {
  const at = (
    cp: string,
    pools: string[] = [cp],
    apisInUse?: { ref: string; apis: string[] }[],
  ) => ({
    controlPlane: cp,
    pools: pools.map((version, i) => ({ name: `pool${i}`, version })),
    apisInUse,
  });

  it.each([
    ['one minor up', at('1.30'), '1.31', []],
    ['a patch of the same minor', at('1.31.2'), '1.31.12', []],
    [
      'a skip of a minor',
      at('1.30'),
      '1.32',
      ['one minor at a time: 1.30 → 1.32 skips 1.31'],
    ],
    [
      'a downgrade',
      at('1.31'),
      '1.30',
      ['downgrades are not supported: 1.31 → 1.30'],
    ],
    [
      'an unknown release',
      at('1.35'),
      '1.36',
      ['1.36 is not a supported release'],
    ],
    [
      'a pool too far behind',
      at('1.31', ['1.31', '1.29']),
      '1.32',
      [
        'version skew: pool pool1 runs 1.29, more than two minors behind 1.32; upgrade it first',
      ],
    ],
    [
      'an API the target removed, still in use, naming who uses it',
      at(
        '1.31',
        ['1.31'],
        [
          {
            ref: 'resource:default/gate',
            apis: ['flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema'],
          },
          { ref: 'resource:default/web', apis: ['apps/v1/Deployment'] },
        ],
      ),
      '1.32',
      [
        'removed API: 1.32 no longer serves flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema, still used by resource:default/gate; move them to flowcontrol.apiserver.k8s.io/v1/FlowSchema first',
      ],
    ],
    [
      "an API removed in an older minor is not this upgrade's concern",
      at(
        '1.30',
        ['1.30'],
        [
          {
            ref: 'resource:default/old',
            apis: ['policy/v1beta1/PodDisruptionBudget'],
          },
        ],
      ),
      '1.31',
      [],
    ],
  ])('%s', (_what, subject, target, refusals) => {
    expect(upgradeRefusals(subject, target)).toEqual(refusals);
  });

  it.each([
    ['1.25', 'policy/v1beta1/PodSecurityPolicy'],
    ['1.25', 'batch/v1beta1/CronJob'],
    ['1.26', 'autoscaling/v2beta2/HorizontalPodAutoscaler'],
    ['1.27', 'storage.k8s.io/v1beta1/CSIStorageCapacity'],
    ['1.29', 'flowcontrol.apiserver.k8s.io/v1beta2/PriorityLevelConfiguration'],
    ['1.32', 'flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema'],
    ['1.22.4', 'networking.k8s.io/v1beta1/Ingress'],
  ])('knows that %s removed %s', (minor, api) => {
    expect(removedApisIn(minor).map(r => r.api)).toContain(api);
  });

  it('knows the minors that removed nothing', () => {
    expect(removedApisIn('1.31')).toEqual([]);
    expect(kubernetesRelease('1.32')?.removedApis).toEqual([
      'flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema',
      'flowcontrol.apiserver.k8s.io/v1beta3/PriorityLevelConfiguration',
    ]);
  });

  it('offers the newest release of each channel', () => {
    expect(channelVersion('rapid')).toBe('1.35.0');
    expect(channelVersion('stable')).toBe('1.34.2');
  });
});
