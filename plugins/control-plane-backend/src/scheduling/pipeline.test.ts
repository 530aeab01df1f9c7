import { defaultTiers } from '@idp-multicloud/plugin-control-plane-common';
import {
  defaultWeights,
  schedule,
  SchedulingCandidate,
  SchedulingRequest,
} from './pipeline';

const cluster = (
  name: string,
  provider: string,
  over: Partial<SchedulingCandidate> & {
    zones?: number;
    cell?: string;
    lifecycle?: any;
  } = {},
): SchedulingCandidate => ({
  cluster: name,
  spec: {
    cell: over.cell ?? 'cell-eu',
    provider,
    region: 'r',
    zones: Array.from({ length: over.zones ?? 3 }, (_, i) => `z${i}`),
    version: '1.33',
    lifecycle: over.lifecycle ?? 'active',
    nodePools: [],
    capacity: { cpu: 100, memoryGi: 400, storageGi: 10000, maxResources: 50 },
  },
  provider: {
    id: provider,
    spec: { displayName: provider, kind: 'aws', driver: 'simulated' },
    health: 1,
    breaker: 'closed',
    latencyMs: 10,
    ...over.provider,
  },
  cellResidency: 'cellResidency' in over ? over.cellResidency : 'EU',
  driverSupportsProduct: over.driverSupportsProduct ?? true,
  usage: over.usage ?? { resources: 0, cpu: 0, memoryGi: 0, storageGi: 0 },
  monthlyCost: over.monthlyCost ?? 100,
  peers: over.peers ?? 0,
});

const request = (over: Partial<SchedulingRequest> = {}): SchedulingRequest => ({
  ref: 'resource:payments/orders-db',
  product: 'mysql',
  cellId: 'cell-eu',
  cell: {
    displayName: 'EU',
    geo: 'eu',
    dataResidency: 'EU',
    providers: ['aws', 'gcp', 'oci'],
  },
  tierId: 'critical',
  tier: defaultTiers.critical,
  demand: { cpu: 4, memoryGi: 16, storageGi: 100 },
  residency: 'EU',
  weights: defaultWeights.critical,
  ...over,
});

const rejectedBy = (decision: ReturnType<typeof schedule>, name: string) =>
  decision.candidates
    .find(c => c.cluster === name)
    ?.rejected.map(r => r.filter);

describe('the scheduling pipeline', () => {
  it.each<
    [
      string,
      SchedulingCandidate[],
      SchedulingRequest,
      string | undefined,
      Record<string, string[]>,
    ]
  >([
    [
      'critical skips a single-zone cluster and an unhealthy provider',
      [
        cluster('oci-eu', 'oci', { zones: 1 }),
        cluster('gcp-eu', 'gcp', { provider: { health: 0.6 } as any }),
        cluster('aws-eu', 'aws'),
      ],
      request(),
      'aws-eu',
      { 'oci-eu': ['tier-multi-az'], 'gcp-eu': ['tier-health'] },
    ],
    [
      'an open breaker removes a provider; half-open does not',
      [
        cluster('aws-eu', 'aws', { provider: { breaker: 'open' } as any }),
        cluster('gcp-eu', 'gcp', { provider: { breaker: 'half-open' } as any }),
      ],
      request(),
      'gcp-eu',
      { 'aws-eu': ['breaker'] },
    ],
    [
      'data residency keeps EU data in EU cells',
      [
        cluster('aws-us', 'aws', { cell: 'cell-eu', cellResidency: undefined }),
        cluster('aws-eu', 'aws'),
      ],
      request(),
      'aws-eu',
      { 'aws-us': ['residency'] },
    ],
    [
      'a budget rules out providers that would exceed it',
      [
        cluster('aws-eu', 'aws', { monthlyCost: 400 }),
        cluster('oci-eu', 'oci', { monthlyCost: 150 }),
      ],
      request({
        tierId: 'low',
        tier: defaultTiers.low,
        weights: defaultWeights.low,
        budgetHeadroom: 200,
      }),
      'oci-eu',
      { 'aws-eu': ['quota'] },
    ],
    [
      'capacity and lifecycle',
      [
        cluster('full', 'aws', {
          usage: { resources: 50, cpu: 0, memoryGi: 0, storageGi: 0 },
        }),
        cluster('busy', 'aws', {
          usage: { resources: 1, cpu: 90, memoryGi: 0, storageGi: 0 },
        }),
        cluster('draining', 'aws', { lifecycle: 'draining' }),
      ],
      request(),
      undefined,
      { full: ['capacity'], busy: ['utilization'], draining: ['lifecycle'] },
    ],
    [
      'a product no driver realises',
      [cluster('k8s-eu', 'aws', { driverSupportsProduct: false })],
      request(),
      undefined,
      { 'k8s-eu': ['product'] },
    ],
    [
      'low tier takes the cheapest',
      [
        cluster('aws-eu', 'aws', { monthlyCost: 300 }),
        cluster('oci-eu', 'oci', { monthlyCost: 200, zones: 1 }),
      ],
      request({
        tierId: 'low',
        tier: defaultTiers.low,
        weights: defaultWeights.low,
      }),
      'oci-eu',
      {},
    ],
    [
      'spread keeps replicas of one owner apart',
      [
        cluster('aws-eu', 'aws', { peers: 2 }),
        cluster('gcp-eu', 'gcp', { peers: 0 }),
      ],
      request(),
      'gcp-eu',
      {},
    ],
  ])('%s', (_name, candidates, req, selected, rejections) => {
    const decision = schedule(req, candidates);
    expect(decision.selected?.cluster).toBe(selected);
    for (const [name, filtersHit] of Object.entries(rejections)) {
      expect(rejectedBy(decision, name)).toEqual(filtersHit);
      // the explanation names every rejected candidate and why
      expect(decision.explanation).toContain(`${name}: `);
    }
  });

  it('decides the same for the same input, breaking ties by cluster name', () => {
    const candidates = [
      cluster('b-eu', 'aws'),
      cluster('a-eu', 'aws'),
      cluster('c-eu', 'aws'),
    ];
    const first = schedule(request(), candidates);
    expect(first.selected?.cluster).toBe('a-eu');
    expect(schedule(request(), [...candidates].reverse())).toEqual(first);
  });

  it('explains the score breakdown of the chosen cluster', () => {
    const decision = schedule(request(), [
      cluster('aws-eu', 'aws'),
      cluster('gcp-eu', 'gcp', { provider: { health: 0.95 } as any }),
    ]);
    expect(decision.selected?.cluster).toBe('aws-eu');
    expect(decision.candidates[0]).toMatchObject({
      cluster: 'aws-eu',
      rejected: [],
      scores: {
        health: 1,
        cost: 1,
        spread: 1,
        latency: 1,
        utilization: expect.any(Number),
      },
    });
    expect(decision.explanation).toMatch(
      /→ aws-eu \(aws\), score [\d.]+ \(health 1, cost 1, utilization [\d.]+, latency 1, spread 1\)/,
    );
  });
});
