/**
 * placement: one placement decision of the scheduling pipeline (filter → score → select, with
 * the explanation of every candidate) over a fleet of 10, 100 and 1,000 clusters, against a
 * bare loop over the same candidates (one filter, one weighted score, keep the best). Each
 * decision is timed on its own, for p50 and p99. The candidates are built once, as the
 * scheduler gathers them (usage, provider health and breakers, prices): this times the
 * decision, not the database read before it.
 */
import {
  builtinProducts,
  defaultTiers,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  defaultWeights,
  schedule,
  SchedulingCandidate,
  SchedulingRequest,
} from '../../plugins/control-plane-backend/src/scheduling/pipeline';
import { monthlyCost } from '../../plugins/control-plane-backend/src/scheduling/pricing';
import { readControlPlaneConfig } from '../../plugins/control-plane-backend/src/config';
import { ConfigReader } from '@backstage/config';
import { Benchmark, Comparison, timeEach } from '../harness';

/** A small deterministic generator (mulberry32), so every run places on the same fleet. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const providers = ['aws', 'gcp', 'azure', 'oci'] as const;
const cells = ['cell-us', 'cell-eu', 'cell-ap'] as const;
const mysql = builtinProducts.mysql;
// The price list a control plane without `controlPlane.pricing` uses.
const prices = readControlPlaneConfig(new ConfigReader({})).pricing;
const params = { size: 'medium', replicas: 1, storageGi: 50 };

/** A fleet of `n` clusters over three cells and four providers, some full, draining or unhealthy. */
function fleet(n: number): SchedulingCandidate[] {
  const next = random(n);
  return Array.from({ length: n }, (_, i) => {
    const provider = providers[i % providers.length];
    const cell = cells[Math.floor(i / providers.length) % cells.length];
    const zones = Array.from(
      { length: 1 + Math.floor(next() * 3) },
      (_z, z) => `${cell}-${z}`,
    );
    const scale = 1 + Math.floor(next() * 3);
    const capacity = {
      cpu: 48 * scale,
      memoryGi: 192 * scale,
      storageGi: 4096 * scale,
      maxResources: 40 * scale,
    };
    const used = next();
    const peers = Math.floor(next() * 3);
    const latency = 5 + next() * 60;
    // Both shapes of a candidate the scheduler has had (latency on the provider or the
    // candidate, peers or replicas), so the scenario runs against either.
    const candidate = {
      cluster: `${provider}-${cell}-${i}`,
      spec: {
        cell,
        provider,
        region: `${cell}-region-${i % 7}`,
        zones,
        version: '1.33',
        lifecycle: i % 10 === 9 ? 'draining' : 'active',
        nodePools: [
          { name: 'general', machineType: 'standard-8', count: 6, zones },
        ],
        capacity,
      },
      provider: {
        id: provider,
        spec: { displayName: provider, kind: provider, driver: 'simulated' },
        health: provider === 'oci' ? 0.4 + next() * 0.5 : 0.85 + next() * 0.15,
        breaker: i % 17 === 16 ? 'open' : 'closed',
        latencyMs: latency,
      },
      latencyMs: latency,
      cellResidency: cell === 'cell-eu' ? 'EU' : undefined,
      driverSupportsProduct: i % 13 !== 12,
      driverBacksUp: true,
      usage: {
        resources: Math.floor(used * capacity.maxResources),
        cpu: used * capacity.cpu * 0.9,
        memoryGi: used * capacity.memoryGi * 0.8,
        storageGi: used * capacity.storageGi * 0.5,
      },
      monthlyCost: monthlyCost(prices, provider, {
        product: 'mysql',
        category: mysql.category,
        params,
        replicasParameter: mysql.replicasParameter,
        storageParameter: mysql.storageParameter,
      }),
      peers,
      replicas: { sameCluster: peers, sameProvider: 0 },
      partnersOnProvider: [],
    };
    return candidate as unknown as SchedulingCandidate;
  });
}

const request = {
  ref: 'resource:default/orders-db',
  product: 'mysql',
  cellId: 'cell-us',
  cell: {
    displayName: 'United States',
    geo: 'us',
    providers: [...providers],
  } as SchedulingRequest['cell'],
  tierId: 'high',
  tier: defaultTiers.high,
  requiresBackups: false,
  demand: { cpu: 4, memoryGi: 16, storageGi: 100 },
  weights: defaultWeights.high,
} as unknown as SchedulingRequest;

/** The least a decision must do: look at each candidate once and keep the best. */
function bareLoop(candidates: SchedulingCandidate[]): string | undefined {
  let best: SchedulingCandidate | undefined;
  let bestScore = -1;
  for (const c of candidates) {
    if (c.spec.cell !== request.cellId || c.provider.breaker === 'open') {
      continue;
    }
    const score = c.provider.health * 0.5 + (1 / (1 + c.monthlyCost)) * 0.5;
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best?.cluster;
}

const benchmark: Benchmark = {
  description:
    'one placement decision (filter → score → select, with its explanation) vs a bare loop over the same candidates',
  async *comparisons(): AsyncIterable<Comparison> {
    for (const clusters of [10, 100, 1000]) {
      const candidates = fleet(clusters);
      if (!schedule(request, candidates).selected) {
        throw new Error(
          `no cluster qualifies among ${clusters}: fix the fleet`,
        );
      }
      yield {
        name: `${clusters} clusters`,
        batch: clusters >= 1000 ? 100 : 1000,
        // The goal: p99 ≤ 1 ms at 100 clusters.
        ...(clusters === 100 ? { goalP99Ms: 1 } : {}),
        scenario: {
          label: 'decision',
          run: n => timeEach(n, () => schedule(request, candidates)),
        },
        baseline: {
          label: 'bare loop',
          run: n => timeEach(n, () => bareLoop(candidates)),
        },
        close: async () => {},
      };
    }
  },
};

export default benchmark;
