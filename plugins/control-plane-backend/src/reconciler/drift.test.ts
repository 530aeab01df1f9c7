import { Condition } from '@idp-multicloud/plugin-control-plane-common';
import {
  compareObserved,
  Drift,
  driftAction,
  driftOutcome,
  DriftPolicy,
  driftPolicyOf,
  healthTransition,
  setCondition,
} from './drift';

const desired = { size: 'small', persistence: 'aof', replicas: 1 };

describe('compareObserved', () => {
  it.each<
    [
      string,
      { phase: string; params?: Record<string, unknown> },
      Drift | undefined,
    ]
  >([
    [
      'matches when what runs is what is desired',
      { phase: 'ready', params: { size: 'small', persistence: 'aof' } },
      undefined,
    ],
    [
      'compares only the parameters the driver reports',
      { phase: 'ready', params: { size: 'small' } },
      undefined,
    ],
    [
      'matches when the driver reports no parameters',
      { phase: 'degraded' },
      undefined,
    ],
    [
      'names each parameter that differs, with both values',
      {
        phase: 'ready',
        params: { size: 'xlarge', persistence: 'none', replicas: 1 },
      },
      {
        fields: ['size', 'persistence'],
        diff: {
          size: { desired: 'small', actual: 'xlarge' },
          persistence: { desired: 'aof', actual: 'none' },
        },
        message:
          'size, persistence differ from the desired state: {"size":{"desired":"small","actual":"xlarge"},"persistence":{"desired":"aof","actual":"none"}}',
      },
    ],
    [
      'counts a parameter set only where it runs',
      { phase: 'ready', params: { maxMemoryPolicy: 'noeviction' } },
      {
        fields: ['maxMemoryPolicy'],
        diff: {
          maxMemoryPolicy: { desired: undefined, actual: 'noeviction' },
        },
        message:
          'maxMemoryPolicy differ from the desired state: {"maxMemoryPolicy":{"actual":"noeviction"}}',
      },
    ],
    [
      'reports a resource that is gone',
      { phase: 'absent', params: { size: 'small' } },
      {
        fields: ['(the resource is gone)'],
        diff: {},
        message: '(the resource is gone) differ from the desired state',
      },
    ],
  ])('%s', (_name, observed, expected) => {
    expect(compareObserved(desired, observed)).toEqual(expected);
  });

  it('keeps the message of a large drift within 1000 characters', () => {
    const big = 'x'.repeat(2000);
    expect(
      compareObserved(desired, { phase: 'ready', params: { size: big } })!
        .message,
    ).toHaveLength(1000);
  });
});

describe('driftPolicyOf', () => {
  it.each<[DriftPolicy | undefined, DriftPolicy | undefined, DriftPolicy]>([
    [undefined, undefined, 'correct'],
    [undefined, 'warn', 'warn'],
    ['correct', 'warn', 'correct'],
    ['warn', 'correct', 'warn'],
  ])('own %s, cell %s: %s', (own, cell, expected) => {
    expect(driftPolicyOf(own, cell)).toBe(expected);
  });
});

describe('driftAction', () => {
  const drift = compareObserved(desired, {
    phase: 'ready',
    params: { size: 'xlarge' },
  })!;
  const condition = (over: Partial<Condition>): Condition => ({
    type: 'Drifted',
    status: 'True',
    reason: 'Reported',
    message: drift.message,
    lastTransitionTime: '2026-12-07T08:00:00.000Z',
    ...over,
  });

  it.each<
    [string, DriftPolicy, Condition | undefined, ReturnType<typeof driftAction>]
  >([
    ['corrects under correct', 'correct', undefined, 'correct'],
    [
      'corrects under correct, even a drift reported before',
      'correct',
      condition({}),
      'correct',
    ],
    ['reports a new drift under warn', 'warn', undefined, 'report'],
    [
      'does not report again the drift it reported',
      'warn',
      condition({}),
      'reported-already',
    ],
    [
      'reports a drift that changed',
      'warn',
      condition({ message: 'size differ from the desired state: {}' }),
      'report',
    ],
    [
      'reports a drift that came back after it converged',
      'warn',
      condition({ status: 'False', reason: 'Converged' }),
      'report',
    ],
    [
      'reports, under warn, a drift a correction was tried for',
      'warn',
      condition({ reason: 'NotCorrected' }),
      'report',
    ],
  ])('%s', (_name, policy, previous, expected) => {
    expect(driftAction(policy, drift, previous)).toBe(expected);
  });
});

describe('driftOutcome', () => {
  it.each<[DriftPolicy, boolean, { reason: string; outcome: string }]>([
    ['correct', true, { reason: 'Correcting', outcome: 'correcting it' }],
    [
      'correct',
      false,
      {
        reason: 'NotCorrected',
        outcome: 'not corrected: another operation is in flight',
      },
    ],
    [
      'warn',
      false,
      { reason: 'Reported', outcome: 'reported only (policy warn)' },
    ],
  ])('%s, correcting %s', (policy, correcting, expected) => {
    expect(driftOutcome(policy, correcting)).toEqual(expected);
  });
});

describe('healthTransition', () => {
  it.each<[string, string, 'READY' | 'DEGRADED' | undefined]>([
    ['READY', 'degraded', 'DEGRADED'],
    ['READY', 'failed', 'DEGRADED'],
    ['READY', 'ready', undefined],
    ['DEGRADED', 'ready', 'READY'],
    ['DEGRADED', 'degraded', undefined],
    ['PROVISIONING', 'degraded', undefined],
  ])('%s reported %s: %s', (state, phase, expected) => {
    expect(healthTransition(state, phase)).toBe(expected);
  });
});

describe('setCondition', () => {
  const at = '2026-12-07T09:00:00.000Z';
  const drifted: Condition = {
    type: 'Drifted',
    status: 'True',
    reason: 'Reported',
    message: 'size differ',
    lastTransitionTime: '2026-12-07T08:00:00.000Z',
  };
  const ready: Condition = {
    type: 'Ready',
    status: 'True',
    reason: 'Provisioned',
    message: 'ready',
    lastTransitionTime: '2026-12-01T00:00:00.000Z',
  };

  it('keeps the transition time while the status stays, and the other conditions', () => {
    expect(
      setCondition(
        [ready, drifted],
        {
          type: 'Drifted',
          status: 'True',
          reason: 'Correcting',
          message: 'persistence differ',
        },
        at,
      ),
    ).toEqual([
      ready,
      {
        type: 'Drifted',
        status: 'True',
        reason: 'Correcting',
        message: 'persistence differ',
        lastTransitionTime: drifted.lastTransitionTime,
      },
    ]);
  });

  it('takes the new time when the status changes, or the condition is new', () => {
    const converged = {
      type: 'Drifted',
      status: 'False' as const,
      reason: 'Converged',
      message: 'matches the desired state',
    };
    expect(setCondition([drifted], converged, at)).toEqual([
      { ...converged, lastTransitionTime: at },
    ]);
    expect(setCondition([], converged, at)).toEqual([
      { ...converged, lastTransitionTime: at },
    ]);
  });
});
