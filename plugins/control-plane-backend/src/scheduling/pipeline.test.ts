import { defaultTiers } from '@idp-multicloud/plugin-control-plane-common';
import {
  defaultWeights,
  PlacementQuota,
  schedule,
  SchedulingCandidate,
  SchedulingRequest,
} from './pipeline';

type Over = Partial<Omit<SchedulingCandidate, 'provider'>> & {
  zones?: number;
  cell?: string;
  lifecycle?: any;
  provider?: Partial<SchedulingCandidate['provider']>;
};

const cluster = (
  name: string,
  provider: string,
  over: Over = {},
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
    ...over.provider,
  },
  latencyMs: over.latencyMs ?? 10,
  cellResidency: 'cellResidency' in over ? over.cellResidency : 'EU',
  driverSupportsProduct: over.driverSupportsProduct ?? true,
  driverBacksUp: over.driverBacksUp ?? true,
  usage: over.usage ?? { resources: 0, cpu: 0, memoryGi: 0, storageGi: 0 },
  monthlyCost: over.monthlyCost ?? 100,
  replicas: over.replicas ?? { sameCluster: 0, sameProvider: 0 },
  partnersOnProvider: over.partnersOnProvider ?? [],
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
  requiresBackups: true,
  demand: { cpu: 4, memoryGi: 16, storageGi: 100 },
  residency: 'EU',
  weights: defaultWeights.critical,
  ...over,
});

const low = {
  tierId: 'low',
  tier: defaultTiers.low,
  weights: defaultWeights.low,
  requiresBackups: false,
};

const quota = (
  limits: PlacementQuota['limits'],
  usage: Partial<PlacementQuota['usage']> = {},
): PlacementQuota => ({
  quota: 'payments',
  scope: { kind: 'team', name: 'group:default/payments' },
  limits,
  usage: { instances: 0, storageGi: 0, monthlyCost: 0, ...usage },
});

/** Every rejected candidate: [cluster, [filter, reason]...]. */
type Rejections = [string, [string, string][]][];

describe('the scheduling pipeline', () => {
  it.each<
    [
      string,
      SchedulingCandidate[],
      SchedulingRequest,
      string | undefined,
      Rejections,
    ]
  >([
    [
      'critical skips a single-zone cluster and an unhealthy provider',
      [
        cluster('oci-eu', 'oci', { zones: 1 }),
        cluster('gcp-eu', 'gcp', { provider: { health: 0.6 } }),
        cluster('aws-eu', 'aws'),
      ],
      request(),
      'aws-eu',
      [
        [
          'gcp-eu',
          [
            [
              'tier-health',
              "provider health 0.60 is below tier critical's 0.9",
            ],
          ],
        ],
        [
          'oci-eu',
          [
            [
              'tier-multi-az',
              'tier critical needs several zones; the cluster has 1',
            ],
          ],
        ],
      ],
    ],
    [
      'an open breaker and a half-open one both keep normal placements away',
      [
        cluster('aws-eu', 'aws', { provider: { breaker: 'open' } }),
        cluster('gcp-eu', 'gcp', { provider: { breaker: 'half-open' } }),
        cluster('oci-eu', 'oci'),
      ],
      request(),
      'oci-eu',
      [
        ['aws-eu', [['breaker', 'circuit breaker of aws is open']]],
        [
          'gcp-eu',
          [
            [
              'breaker',
              'circuit breaker of gcp is half-open: only health probes go to it until they close it',
            ],
          ],
        ],
      ],
    ],
    [
      'data residency keeps EU data in EU cells',
      [
        cluster('aws-eu-2', 'aws', { cellResidency: undefined }),
        cluster('aws-eu', 'aws'),
      ],
      request(),
      'aws-eu',
      [
        [
          'aws-eu-2',
          [['residency', 'data must stay in EU; cell-eu is outside it']],
        ],
      ],
    ],
    [
      'a tier that requires backups skips a driver that cannot back the product up',
      [
        cluster('k8s-eu', 'onprem', { driverBacksUp: false }),
        cluster('aws-eu', 'aws'),
      ],
      request(),
      'aws-eu',
      [
        [
          'k8s-eu',
          [
            [
              'tier-backups',
              'tier critical needs backups; the driver of onprem (simulated) does not back up mysql',
            ],
          ],
        ],
      ],
    ],
    [
      'a tier without backups (or a product that waives them) takes it',
      [cluster('k8s-eu', 'onprem', { driverBacksUp: false })],
      request(low),
      'k8s-eu',
      [],
    ],
    [
      'a quota of instances that is used up rejects every cluster',
      [cluster('aws-eu', 'aws'), cluster('oci-eu', 'oci')],
      request({
        ...low,
        quotas: [quota({ maxInstances: 2 }, { instances: 2 })],
      }),
      undefined,
      ['aws-eu', 'oci-eu'].map(name => [
        name,
        [
          [
            'quota',
            'quota payments (team group:default/payments) allows maxInstances 2 instances; 2 in use, this request adds 1',
          ],
        ],
      ]) as Rejections,
    ],
    [
      'a storage quota the demand would exceed rejects every cluster',
      [cluster('aws-eu', 'aws')],
      request({
        ...low,
        quotas: [quota({ maxStorageGi: 150 }, { storageGi: 80 })],
      }),
      undefined,
      [
        [
          'aws-eu',
          [
            [
              'quota',
              'quota payments (team group:default/payments) allows maxStorageGi 150 GiB of storage; 80 in use, this request adds 100',
            ],
          ],
        ],
      ],
    ],
    [
      'a budget rules out the providers that would exceed it',
      [
        cluster('aws-eu', 'aws', { monthlyCost: 400 }),
        cluster('oci-eu', 'oci', { monthlyCost: 150 }),
      ],
      request({
        ...low,
        quotas: [quota({ maxMonthlyCost: 500 }, { monthlyCost: 300 })],
      }),
      'oci-eu',
      [
        [
          'aws-eu',
          [
            [
              'quota',
              'quota payments (team group:default/payments) allows maxMonthlyCost $500.00 USD per month; $300.00 in use, this request adds $400.00',
            ],
          ],
        ],
      ],
    ],
    [
      'capacity, utilisation and lifecycle',
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
      [
        [
          'busy',
          [['utilization', 'would be 94% used; tier critical allows 70%']],
        ],
        ['draining', [['lifecycle', 'cluster lifecycle is draining']]],
        ['full', [['capacity', 'full: 50 of 50 resources']]],
      ],
    ],
    [
      'a product no driver realises, another cell, a pin',
      [
        cluster('k8s-eu', 'aws', { driverSupportsProduct: false }),
        cluster('aws-us', 'aws', { cell: 'cell-us' }),
        cluster('gcp-eu', 'gcp'),
        cluster('aws-eu', 'aws'),
      ],
      request({ pinned: { provider: 'aws' } }),
      'aws-eu',
      [
        ['aws-us', [['cell', 'in cell-us, not cell-eu']]],
        ['gcp-eu', [['pinned', 'pinned to provider aws']]],
        [
          'k8s-eu',
          [['product', 'no driver for mysql on aws (driver simulated)']],
        ],
      ],
    ],
    [
      'a failover pair never shares a provider',
      [
        cluster('aws-eu', 'aws', {
          partnersOnProvider: ['resource:payments/orders-db-a'],
        }),
        cluster('gcp-eu', 'gcp', { monthlyCost: 400 }),
      ],
      request(low),
      'gcp-eu',
      [
        [
          'aws-eu',
          [
            [
              'failover-pair',
              'its failover partner resource:payments/orders-db-a runs on aws: a pair must not share a provider',
            ],
          ],
        ],
      ],
    ],
    [
      'several filters at once are all named',
      [
        cluster('oci-eu', 'oci', {
          zones: 1,
          provider: { breaker: 'open', health: 0.1 },
        }),
      ],
      request(),
      undefined,
      [
        [
          'oci-eu',
          [
            ['breaker', 'circuit breaker of oci is open'],
            [
              'tier-health',
              "provider health 0.10 is below tier critical's 0.9",
            ],
            [
              'tier-multi-az',
              'tier critical needs several zones; the cluster has 1',
            ],
          ],
        ],
      ],
    ],
    [
      'low tier takes the cheapest',
      [
        cluster('aws-eu', 'aws', { monthlyCost: 300 }),
        cluster('oci-eu', 'oci', { monthlyCost: 200, zones: 1 }),
      ],
      request(low),
      'oci-eu',
      [],
    ],
    [
      "spread keeps replicas apart: another of the owner's on the same cluster",
      [
        cluster('aws-eu', 'aws', {
          replicas: { sameCluster: 1, sameProvider: 0 },
        }),
        cluster('gcp-eu', 'gcp'),
      ],
      request(),
      'gcp-eu',
      [],
    ],
    [
      'spread: another cluster of the same provider is better than the same cluster, a new provider best',
      [
        cluster('aws-eu-1', 'aws', {
          replicas: { sameCluster: 1, sameProvider: 0 },
        }),
        cluster('aws-eu-2', 'aws', {
          replicas: { sameCluster: 0, sameProvider: 1 },
        }),
      ],
      request(),
      'aws-eu-2',
      [],
    ],
    [
      'latency to the requested cell decides between otherwise equal clusters',
      [
        cluster('aws-eu', 'aws', { latencyMs: 80 }),
        cluster('gcp-eu', 'gcp', { latencyMs: 20 }),
      ],
      request(),
      'gcp-eu',
      [],
    ],
    [
      'weights decide: cost-heavy weights pick the cheaper, health-heavy the healthier',
      [
        cluster('aws-eu', 'aws', {
          monthlyCost: 100,
          provider: { health: 0.92 },
        }),
        cluster('gcp-eu', 'gcp', { monthlyCost: 180 }),
      ],
      request({
        weights: { health: 0, cost: 1, utilization: 0, latency: 0, spread: 0 },
      }),
      'aws-eu',
      [],
    ],
    [
      '... and the same candidates with the weights of critical',
      [
        cluster('aws-eu', 'aws', {
          monthlyCost: 100,
          provider: { health: 0.92 },
        }),
        cluster('gcp-eu', 'gcp', { monthlyCost: 180 }),
      ],
      request(),
      'gcp-eu',
      [],
    ],
  ])('%s', (_name, candidates, req, selected, rejections) => {
    const decision = schedule(req, candidates);
    expect(decision.selected?.cluster).toBe(selected);
    expect(decision.outcome).toBe(selected ? 'placed' : 'unschedulable');
    // Exactly these candidates were rejected, each by these filters for these reasons.
    expect(
      decision.candidates
        .filter(c => c.rejected.length > 0)
        .map(c => [c.cluster, c.rejected.map(r => [r.filter, r.reason])])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    ).toEqual(rejections);
    // Every candidate is listed, and the explanation names each rejected one with its reasons.
    expect(decision.candidates.map(c => c.cluster).sort()).toEqual(
      candidates.map(c => c.cluster).sort(),
    );
    for (const [name, reasons] of rejections) {
      expect(decision.explanation).toContain(
        `${name}: ${reasons.map(([, reason]) => reason).join('; ')}`,
      );
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

  it('explains the score breakdown of every qualified cluster and the cost of each', () => {
    const decision = schedule(request(), [
      cluster('aws-eu', 'aws'),
      cluster('gcp-eu', 'gcp', {
        provider: { health: 0.95 },
        monthlyCost: 125,
      }),
    ]);
    expect(decision.selected?.cluster).toBe('aws-eu');
    expect(decision.candidates).toEqual([
      {
        cluster: 'aws-eu',
        provider: 'aws',
        rejected: [],
        monthlyCost: 100,
        scores: {
          health: 1,
          cost: 1,
          spread: 1,
          latency: 1,
          utilization: 0.96,
        },
        total: expect.any(Number),
      },
      {
        cluster: 'gcp-eu',
        provider: 'gcp',
        rejected: [],
        monthlyCost: 125,
        scores: {
          health: 0.95,
          cost: 0.8,
          spread: 1,
          latency: 1,
          utilization: 0.96,
        },
        total: expect.any(Number),
      },
    ]);
    expect(decision.candidates[0].total).toBeGreaterThan(
      decision.candidates[1].total!,
    );
    expect(decision.explanation).toMatch(
      /→ aws-eu \(aws\), score [\d.]+ \(health 1, cost 1, utilization 0.96, latency 1, spread 1\); 2 of 2 clusters qualified$/,
    );
  });

  it('explains a decision with nothing to consider', () => {
    expect(schedule(request(), [])).toEqual({
      outcome: 'unschedulable',
      candidates: [],
      weights: defaultWeights.critical,
      explanation: 'no cluster to consider for resource:payments/orders-db',
    });
  });
});
