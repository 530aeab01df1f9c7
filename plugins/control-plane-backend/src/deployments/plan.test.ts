import { rolloutSpecSchema } from '@idp-multicloud/plugin-control-plane-common';
import { planDeployment, rollingWeights, weightsAfter } from './plan';

const plan = (rollout: unknown, extra: { replicas?: number } = {}) =>
  planDeployment({
    rollout: rolloutSpecSchema.parse(rollout),
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    cell: 'cell-us',
    replicas: extra.replicas ?? 2,
  });

const kinds = (p: ReturnType<typeof plan>) =>
  p.steps.map(s => `${s.kind}${s.weight ?? ''}`);

describe('planDeployment', () => {
  it('makes the default canary 5 → analysis → 25 → analysis → 50 → analysis → 100', () => {
    expect(kinds(plan({ strategy: 'canary' }))).toEqual([
      'start',
      'setWeight5',
      'analysis',
      'setWeight25',
      'analysis',
      'setWeight50',
      'analysis',
      'promote100',
    ]);
  });

  it('lets a step override the rollout analysis, which overrides the defaults', () => {
    const p = plan({
      strategy: 'canary',
      analysis: { interval: '5s', count: 1 },
      steps: [
        { setWeight: 10 },
        { analysis: {} },
        { analysis: { count: 4, maxErrorRate: 0.05 } },
      ],
    });
    const [first, second] = p.steps.filter(s => s.kind === 'analysis');
    expect(first.analysis).toMatchObject({
      intervalMs: 5000,
      count: 1,
      failureLimit: 1,
      maxErrorRate: 0.01,
      maxLatencyP99Ms: 500,
      judge: 'mann-whitney',
    });
    expect(second.analysis).toMatchObject({
      intervalMs: 5000,
      count: 4,
      maxErrorRate: 0.05,
    });
  });

  it.each([
    [2, 25, 0, [50, 100]],
    [4, 25, 0, [25, 50, 75, 100]],
    [10, 25, 0, [30, 60, 90, 100]],
    [4, 25, 25, [50, 100]],
    [1, 25, 0, [100]],
  ])(
    'rolls %i replicas with maxSurge %i%% and maxUnavailable %i%% in batches %j',
    (replicas, surge, unavailable, weights) => {
      expect(rollingWeights(replicas, surge, unavailable)).toEqual(weights);
    },
  );

  it('brings blue/green up beside the old version, analyses the preview, switches and keeps the old for the delay', () => {
    const p = plan({ strategy: 'blue_green', scaleDownDelay: '2m' });
    expect(kinds(p)).toEqual([
      'start',
      'analysis',
      'switch100',
      'scaleDown',
      'promote100',
    ]);
    expect(p.steps[3].durationMs).toBe(120_000);
  });

  it('repeats the canary steps per wave, with the wave’s error budget, and routes per cell', () => {
    const p = plan({
      strategy: 'canary',
      steps: [{ setWeight: 20 }, { analysis: {} }],
      waves: [
        { cells: ['cell-us'], errorBudget: 0.02 },
        { cells: ['cell-eu', 'cell-ap'] },
      ],
    });
    expect(p.cells).toEqual(['cell-us', 'cell-eu', 'cell-ap']);
    expect(
      p.steps.map(s => `${s.wave ?? '-'}:${s.kind}${s.weight ?? ''}`),
    ).toEqual([
      '-:start',
      '0:setWeight20',
      '0:analysis',
      '0:setWeight100',
      '1:setWeight20',
      '1:analysis',
      '1:setWeight100',
      '-:promote100',
    ]);
    expect(p.steps[2].analysis?.maxErrorRate).toBe(0.02);
    expect(p.steps[5].analysis?.maxErrorRate).toBe(0.01);
    expect(weightsAfter(p, 0)).toEqual({
      canary: 0,
      cells: { 'cell-us': 0, 'cell-eu': 0, 'cell-ap': 0 },
    });
    expect(weightsAfter(p, 4)).toEqual({
      canary: 0,
      cells: { 'cell-us': 100, 'cell-eu': 0, 'cell-ap': 0 },
    });
    expect(weightsAfter(p, 5)).toEqual({
      canary: 0,
      cells: { 'cell-us': 100, 'cell-eu': 20, 'cell-ap': 20 },
    });
  });

  it.each([
    [
      { strategy: 'rolling', steps: [{ setWeight: 5 }] },
      /steps: only a canary/,
    ],
    [{ strategy: 'rolling', maxSurge: 0, maxUnavailable: 0 }, /both be 0/],
    [
      { strategy: 'canary', waves: [{ cells: ['a'] }, { cells: ['a'] }] },
      /cell a is in two waves/,
    ],
    [
      { strategy: 'canary', steps: [{ pause: { duration: 'soon' } }] },
      /duration/,
    ],
    [{ strategy: 'canary', steps: [{ setWeight: 101 }] }, /setWeight|100/],
    [{ strategy: 'linear' }, /strategy/],
  ])('refuses %j naming the fault', (rollout, message) => {
    const parsed = rolloutSpecSchema.safeParse(rollout);
    expect(parsed.success).toBe(false);
    expect(
      parsed
        .error!.issues.map(i => `${i.path.join('.')}: ${i.message}`)
        .join('; '),
    ).toMatch(message);
  });
});
