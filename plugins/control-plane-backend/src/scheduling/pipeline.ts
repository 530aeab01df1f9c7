import {
  CellSpec,
  ClusterSpec,
  ProviderSpec,
  ScoreWeights,
  TierSpec,
} from '@idp-multicloud/plugin-control-plane-common';
import { PolicyQuotaUsage } from '@idp-multicloud/plugin-control-plane-node';
import { quotaViolations } from './quotaCheck';

/** The state of a provider's circuit breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A cluster the scheduler may place on, with what the control plane knows about it. */
export interface SchedulingCandidate {
  cluster: string;
  spec: ClusterSpec;
  provider: {
    id: string;
    spec: ProviderSpec;
    /** 0 (failing) to 1 (healthy), from the driver calls of the last minutes. */
    health: number;
    breaker: BreakerState;
  };
  /**
   * Latency to the requested cell: the mean driver call latency to the provider's clusters
   * in that cell (its overall mean when none was measured there), ms.
   */
  latencyMs: number;
  /** The data residency of the cluster's cell (e.g. EU), when it has one. */
  cellResidency?: string;
  /** Whether a registered driver realises the product on this provider. */
  driverSupportsProduct: boolean;
  /** Whether that driver backs the product up (it implements the `backup` operation for it). */
  driverBacksUp: boolean;
  usage: {
    resources: number;
    cpu: number;
    memoryGi: number;
    storageGi: number;
  };
  /** Estimated monthly cost of the resource on this cluster's provider, USD. */
  monthlyCost: number;
  /**
   * The resource's replicas already placed (the owner's other resources of the same product):
   * on this cluster, and on other clusters of this provider.
   */
  replicas: { sameCluster: number; sameProvider: number };
  /** Refs of the resource's failover partners already placed on this provider. */
  partnersOnProvider: string[];
  /**
   * What the cluster lifecycle knows of the cluster: its observed phase (none when it was
   * never managed) and its health score, 0–100. Absent: healthy.
   */
  clusterState?: { phase?: string; health: number };
}

/** Below this cluster health score nothing new is placed on a cluster. */
export const MIN_CLUSTER_HEALTH = 40;
const UNSCHEDULABLE_PHASES = [
  'Provisioning',
  'Upgrading',
  'Draining',
  'Decommissioning',
  'Deleted',
];

export type { ScoreWeights };

/** A quota that applies to what is placed, with what its scope uses already (placed resources). */
export type PlacementQuota = Omit<PolicyQuotaUsage, 'request'>;

/** What is being placed. */
export interface SchedulingRequest {
  ref: string;
  product: string;
  cellId: string;
  cell: CellSpec;
  tierId: string;
  tier: TierSpec;
  /** The tier requires backups and the product does not waive them. */
  requiresBackups: boolean;
  demand: { cpu: number; memoryGi: number; storageGi: number };
  pinned?: { provider?: string; cluster?: string };
  /** Jurisdictions the resource's data may live in (from its cell's data residency). */
  residency?: string;
  /** Every quota (cell, team, namespace) that applies, with its usage. */
  quotas?: PlacementQuota[];
  weights: ScoreWeights;
}

/** One filter: why the candidate cannot take the resource, or undefined when it can. */
export type Filter = (
  request: SchedulingRequest,
  candidate: SchedulingCandidate,
) => string | undefined;

const percent = (v: number) => `${Math.round(v * 100)}%`;

/** How full a cluster is: the highest of CPU, memory and storage asked over its capacity. */
export function utilizationOf(
  capacity: ClusterSpec['capacity'],
  used: { cpu: number; memoryGi: number; storageGi: number },
): number {
  return Math.max(
    used.cpu / capacity.cpu,
    used.memoryGi / capacity.memoryGi,
    capacity.storageGi > 0 ? used.storageGi / capacity.storageGi : 0,
  );
}

function utilizationAfter(
  request: SchedulingRequest,
  c: SchedulingCandidate,
): number {
  return utilizationOf(c.spec.capacity, {
    cpu: c.usage.cpu + request.demand.cpu,
    memoryGi: c.usage.memoryGi + request.demand.memoryGi,
    storageGi: c.usage.storageGi + request.demand.storageGi,
  });
}

/** The filters, in order; each is a pure function with a name for explanations and metrics. */
export const filters: Record<string, Filter> = {
  cell: (r, c) =>
    c.spec.cell === r.cellId ? undefined : `in ${c.spec.cell}, not ${r.cellId}`,
  residency: (r, c) =>
    r.residency && c.cellResidency !== r.residency
      ? `data must stay in ${r.residency}; ${c.spec.cell} is ${
          c.cellResidency ? `in ${c.cellResidency}` : 'outside it'
        }`
      : undefined,
  lifecycle: (_r, c) =>
    c.spec.lifecycle === 'active'
      ? undefined
      : `cluster lifecycle is ${c.spec.lifecycle}`,
  'cluster-lifecycle': (_r, c) => {
    if (!c.clusterState) return undefined;
    if (
      c.clusterState.phase &&
      UNSCHEDULABLE_PHASES.includes(c.clusterState.phase)
    ) {
      return `cluster is ${c.clusterState.phase}`;
    }
    return c.clusterState.health < MIN_CLUSTER_HEALTH
      ? `cluster health ${c.clusterState.health} is below ${MIN_CLUSTER_HEALTH}`
      : undefined;
  },
  product: (r, c) =>
    c.driverSupportsProduct
      ? undefined
      : `no driver for ${r.product} on ${c.provider.id} (driver ${c.provider.spec.driver})`,
  pinned: (r, c) => {
    if (r.pinned?.provider && c.provider.id !== r.pinned.provider) {
      return `pinned to provider ${r.pinned.provider}`;
    }
    if (r.pinned?.cluster && c.cluster !== r.pinned.cluster) {
      return `pinned to cluster ${r.pinned.cluster}`;
    }
    return undefined;
  },
  breaker: (_r, c) => {
    switch (c.provider.breaker) {
      case 'open':
        return `circuit breaker of ${c.provider.id} is open`;
      case 'half-open':
        return `circuit breaker of ${c.provider.id} is half-open: only health probes go to it until they close it`;
      default:
        return undefined;
    }
  },
  'tier-health': (r, c) =>
    c.provider.health < r.tier.placement.minProviderHealth
      ? `provider health ${c.provider.health.toFixed(2)} is below tier ${
          r.tierId
        }'s ${r.tier.placement.minProviderHealth}`
      : undefined,
  'tier-multi-az': (r, c) =>
    r.tier.placement.requireMultiAZ && c.spec.zones.length < 2
      ? `tier ${r.tierId} needs several zones; the cluster has ${c.spec.zones.length}`
      : undefined,
  'tier-backups': (r, c) =>
    r.requiresBackups && !c.driverBacksUp
      ? `tier ${r.tierId} needs backups; the driver of ${c.provider.id} (${c.provider.spec.driver}) does not back up ${r.product}`
      : undefined,
  'tier-providers': (r, c) =>
    r.tier.placement.allowedProviders &&
    !r.tier.placement.allowedProviders.includes(c.provider.id)
      ? `tier ${r.tierId} does not allow provider ${c.provider.id}`
      : undefined,
  'failover-pair': (_r, c) =>
    c.partnersOnProvider.length > 0
      ? `its failover partner ${c.partnersOnProvider.join(', ')} runs on ${
          c.provider.id
        }: a pair must not share a provider`
      : undefined,
  capacity: (_r, c) =>
    c.usage.resources + 1 > c.spec.capacity.maxResources
      ? `full: ${c.usage.resources} of ${c.spec.capacity.maxResources} resources`
      : undefined,
  utilization: (r, c) => {
    const after = utilizationAfter(r, c);
    return after > r.tier.placement.maxClusterUtilization
      ? `would be ${percent(after)} used; tier ${r.tierId} allows ${percent(
          r.tier.placement.maxClusterUtilization,
        )}`
      : undefined;
  },
  quota: (r, c) => {
    const violations = quotaViolations(
      (r.quotas ?? []).map(q => ({
        ...q,
        request: {
          instances: 1,
          storageGi: r.demand.storageGi,
          monthlyCost: c.monthlyCost,
        },
      })),
    );
    return violations.length > 0
      ? violations.map(v => v.message).join('; ')
      : undefined;
  },
};

/** What relative scores compare with: the best of the candidates that passed the filters. */
export interface ScoreContext {
  cheapest: number;
  fastest: number;
}

/** Scores in [0, 1]; higher is better. Relative ones compare with the best candidate. */
export const scores: Record<
  keyof ScoreWeights,
  (r: SchedulingRequest, c: SchedulingCandidate, best: ScoreContext) => number
> = {
  // The provider's health (its recent driver calls) times the cluster's health score.
  health: (_r, c) =>
    c.provider.health * ((c.clusterState?.health ?? 100) / 100),
  cost: (_r, c, best) =>
    c.monthlyCost <= 0 ? 1 : best.cheapest / c.monthlyCost,
  utilization: (r, c) => Math.max(0, 1 - utilizationAfter(r, c)),
  latency: (_r, c, best) => (c.latencyMs <= 0 ? 1 : best.fastest / c.latencyMs),
  // A replica on the same cluster counts 1, on another cluster of the same provider 0.5.
  spread: (_r, c) =>
    1 / (1 + c.replicas.sameCluster + 0.5 * c.replicas.sameProvider),
};

/** The outcome for one candidate. */
export interface CandidateVerdict {
  cluster: string;
  provider: string;
  rejected: { filter: string; reason: string }[];
  monthlyCost: number;
  scores?: Record<keyof ScoreWeights, number>;
  total?: number;
}

/** A decision and everything that explains it. */
export interface SchedulingDecision {
  outcome: 'placed' | 'unschedulable';
  selected?: {
    cluster: string;
    provider: string;
    cell: string;
    region: string;
    zones: string[];
  };
  candidates: CandidateVerdict[];
  weights: ScoreWeights;
  /** The experiment arm whose weights scored it, when it took part in one. */
  experiment?: { id: string; arm: string };
  explanation: string;
}

const round = (v: number) => Math.round(v * 10000) / 10000;

/** Stage 1: every filter on every candidate. */
export function filterStage(
  request: SchedulingRequest,
  candidates: SchedulingCandidate[],
) {
  // The filter table is read once per decision, and only rejections are allocated: at 1,000
  // clusters a decision's p99 is its garbage collection.
  const table = Object.entries(filters);
  return candidates.map(candidate => {
    const rejected: { filter: string; reason: string }[] = [];
    for (const [filter, fn] of table) {
      const reason = fn(request, candidate);
      if (reason) rejected.push({ filter, reason });
    }
    return { candidate, rejected };
  });
}

/** Cluster names in the order of the default locale (as `localeCompare`), one collator. */
const byName = new Intl.Collator().compare;

/** Stage 2: the weighted scores of the candidates that passed. */
export function scoreStage(
  request: SchedulingRequest,
  passed: SchedulingCandidate[],
) {
  const weightSum =
    Object.values(request.weights).reduce((a, b) => a + b, 0) || 1;
  // The best of the field once, not once per candidate: a decision stays linear in clusters.
  const best: ScoreContext = { cheapest: Infinity, fastest: Infinity };
  for (const c of passed) {
    best.cheapest = Math.min(best.cheapest, c.monthlyCost);
    best.fastest = Math.min(best.fastest, c.latencyMs);
  }
  const keys = Object.keys(scores) as (keyof ScoreWeights)[];
  return passed.map(candidate => {
    const parts = {} as Record<keyof ScoreWeights, number>;
    let sum = 0;
    for (const key of keys) {
      parts[key] = round(scores[key](request, candidate, best));
      sum += parts[key] * request.weights[key];
    }
    return { candidate, scores: parts, total: round(sum / weightSum) };
  });
}

/** Stage 3: the best total; ties go to the cluster name, so one input gives one decision. */
export function selectStage<
  T extends { candidate: SchedulingCandidate; total: number },
>(scored: T[]) {
  let best: T | undefined;
  for (const s of scored) {
    if (
      !best ||
      s.total > best.total ||
      (s.total === best.total &&
        byName(s.candidate.cluster, best.candidate.cluster) < 0)
    ) {
      best = s;
    }
  }
  return best;
}

/**
 * filter → score → select, with an explanation naming every rejected candidate and why, and
 * the score breakdown of the others.
 */
export function schedule(
  request: SchedulingRequest,
  candidates: SchedulingCandidate[],
  stage: <T>(name: string, fn: () => T) => T = (_name, fn) => fn(),
): SchedulingDecision {
  const filtered = stage('filter', () => filterStage(request, candidates));
  const passed = filtered
    .filter(f => f.rejected.length === 0)
    .map(f => f.candidate);
  const scored = stage('score', () => scoreStage(request, passed));
  const best = stage('select', () => selectStage(scored));
  const scoreOf = new Map(scored.map(x => [x.candidate, x]));
  const verdicts: CandidateVerdict[] = filtered
    .map(({ candidate, rejected }) => {
      const s = scoreOf.get(candidate);
      return {
        cluster: candidate.cluster,
        provider: candidate.provider.id,
        rejected,
        monthlyCost: candidate.monthlyCost,
        ...(s ? { scores: s.scores, total: s.total } : {}),
      };
    })
    .sort(
      (a, b) =>
        (b.total ?? -1) - (a.total ?? -1) || byName(a.cluster, b.cluster),
    );
  const rejectedText = verdicts
    .filter(v => v.rejected.length > 0)
    .map(v => `${v.cluster}: ${v.rejected.map(r => r.reason).join('; ')}`);
  if (!best) {
    return {
      outcome: 'unschedulable',
      candidates: verdicts,
      weights: request.weights,
      explanation:
        candidates.length === 0
          ? `no cluster to consider for ${request.ref}`
          : `no cluster can take ${request.ref}. ${rejectedText.join('. ')}`,
    };
  }
  const c = best.candidate;
  const breakdown = Object.entries(best.scores)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return {
    outcome: 'placed',
    selected: {
      cluster: c.cluster,
      provider: c.provider.id,
      cell: c.spec.cell,
      region: c.spec.region,
      zones: c.spec.zones,
    },
    candidates: verdicts,
    weights: request.weights,
    explanation: `${request.ref} → ${c.cluster} (${c.provider.id}), score ${
      best.total
    } (${breakdown}); ${scored.length} of ${
      candidates.length
    } clusters qualified${
      rejectedText.length ? `. Rejected: ${rejectedText.join('. ')}` : ''
    }`,
  };
}

/** Default weights per tier: critical weighs health and spread; low weighs cost. */
export const defaultWeights: Record<string, ScoreWeights> = {
  critical: {
    health: 0.4,
    cost: 0.05,
    utilization: 0.15,
    latency: 0.15,
    spread: 0.25,
  },
  high: {
    health: 0.3,
    cost: 0.15,
    utilization: 0.15,
    latency: 0.2,
    spread: 0.2,
  },
  medium: {
    health: 0.2,
    cost: 0.3,
    utilization: 0.2,
    latency: 0.2,
    spread: 0.1,
  },
  low: {
    health: 0.1,
    cost: 0.6,
    utilization: 0.2,
    latency: 0.05,
    spread: 0.05,
  },
};
