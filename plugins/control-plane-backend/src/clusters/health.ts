/**
 * A cluster's health score, 0 to 100, with its breakdown: a pure function of what the control
 * plane knows of the cluster at `now`.
 */
import {
  ClusterHealth,
  ClusterObserved,
  ClusterSpec,
  kubernetesReleases,
} from '@idp-multicloud/plugin-control-plane-common';
import type { DateTime } from 'luxon';

/** What the score is computed from. */
export interface HealthInput {
  spec: Pick<ClusterSpec, 'version' | 'nodePools'>;
  /** Undefined: never observed (a cluster of Git the control plane does not manage yet). */
  observed?: Pick<
    ClusterObserved,
    | 'phase'
    | 'controlPlaneVersion'
    | 'pools'
    | 'nodesReady'
    | 'nodesTotal'
    | 'conditions'
    | 'certificatesExpireAt'
  >;
  /** The highest of CPU, memory and storage asked over capacity. */
  utilization: number;
  /** Failed or compensated lifecycle operations in the last 24 hours. */
  failedOperations24h: number;
  /** Whether an operation is changing the cluster now (drift is expected then). */
  operating: boolean;
}

/** The weight of each factor. */
export const healthWeights = {
  version: 20,
  conditions: 25,
  certificates: 15,
  capacity: 15,
  operations: 15,
  drift: 10,
} as const;

type Factor = keyof typeof healthWeights;

const minor = (v: string | null | undefined) =>
  v ? Number(/^1\.(\d+)/.exec(v)?.[1] ?? NaN) : NaN;

const DAY_MS = 86_400_000;
/** The release table once: end of life in ms by minor, and the newest minor. */
const releases = new Map(
  kubernetesReleases.map(r => [
    minor(r.minor),
    { ...r, eolMs: Date.parse(`${r.endOfLife}T00:00:00Z`) },
  ]),
);
const newestMinor = Math.max(...releases.keys());

function versionFactor(version: string, nowMs: number): [number, string] {
  const release = releases.get(minor(version));
  if (!release) {
    return [0, `${version} is not a known release`];
  }
  const behind = newestMinor - minor(version);
  if (release.eolMs <= nowMs) {
    return [0.1, `${version} reached end of life on ${release.endOfLife}`];
  }
  const days = Math.floor((release.eolMs - nowMs) / DAY_MS);
  const distance = Math.max(0, 1 - 0.2 * behind);
  if (days < 60) {
    return [
      Math.min(distance, 0.5),
      `${version} ends its support in ${days} days (${release.endOfLife})`,
    ];
  }
  return [
    distance,
    behind === 0
      ? `${version} is the newest supported minor`
      : `${version} is ${behind} minor${
          behind > 1 ? 's' : ''
        } behind the newest`,
  ];
}

function conditionsFactor(o: HealthInput['observed']): [number, string] {
  if (!o) return [1, 'not observed: nothing reported'];
  const cp = o.conditions.find(c => c.type === 'ControlPlaneReady');
  if (cp?.status === 'False') {
    return [0, `control plane not ready${cp.message ? `: ${cp.message}` : ''}`];
  }
  if (o.nodesTotal === 0) return [1, 'no nodes yet'];
  const ratio = o.nodesReady / o.nodesTotal;
  return [
    ratio,
    `${o.nodesReady} of ${o.nodesTotal} nodes ready${
      cp?.status === 'Unknown' ? '; control plane not reporting yet' : ''
    }`,
  ];
}

function certificatesFactor(
  o: HealthInput['observed'],
  nowMs: number,
): [number, string] {
  if (!o?.certificatesExpireAt) return [1, 'no certificate reported'];
  const expires = Date.parse(o.certificatesExpireAt);
  if (Number.isNaN(expires)) return [0, 'certificate expiry unreadable'];
  const days = Math.floor((expires - nowMs) / DAY_MS);
  if (expires <= nowMs) {
    return [
      0,
      `certificates expired ${Math.floor((nowMs - expires) / DAY_MS)} days ago`,
    ];
  }
  if (days < 7) return [0.2, `certificates expire in ${days} days`];
  if (days < 30) return [0.6, `certificates expire in ${days} days`];
  return [1, `certificates valid for ${days} days`];
}

function capacityFactor(utilization: number): [number, string] {
  const headroom = Math.max(0, 1 - utilization);
  const score = utilization <= 0.7 ? 1 : Math.max(0, headroom / 0.3);
  return [score, `${Math.round(headroom * 100)}% headroom`];
}

function operationsFactor(failed: number): [number, string] {
  return [
    1 / (1 + failed),
    failed === 0
      ? 'no failed operation in 24 h'
      : `${failed} failed operation${failed > 1 ? 's' : ''} in 24 h`,
  ];
}

function driftFactor(input: HealthInput): [number, string] {
  const o = input.observed;
  if (!o || input.operating) {
    return [1, input.operating ? 'an operation is under way' : 'not observed'];
  }
  const drifted: string[] = [];
  if (
    o.controlPlaneVersion &&
    minor(o.controlPlaneVersion) !== minor(input.spec.version)
  ) {
    drifted.push(
      `control plane ${o.controlPlaneVersion}, desired ${input.spec.version}`,
    );
  }
  for (const pool of input.spec.nodePools) {
    const seen = o.pools.find(p => p.name === pool.name);
    if (!seen) drifted.push(`pool ${pool.name} missing`);
    else if (seen.nodes !== pool.count) {
      drifted.push(
        `pool ${pool.name} has ${seen.nodes} nodes, desired ${pool.count}`,
      );
    }
  }
  return drifted.length
    ? [Math.max(0, 1 - 0.5 * drifted.length), drifted.join('; ')]
    : [1, 'as desired'];
}

/** The score of a cluster and why: each factor 0–1, weighted, summed to 0–100. */
export function clusterHealth(
  input: HealthInput,
  now: DateTime,
): ClusterHealth {
  const o = input.observed;
  const nowMs = now.toMillis();
  const factors: Record<Factor, [number, string]> = {
    version: versionFactor(o?.controlPlaneVersion ?? input.spec.version, nowMs),
    conditions: conditionsFactor(o),
    certificates: certificatesFactor(o, nowMs),
    capacity: capacityFactor(input.utilization),
    operations: operationsFactor(input.failedOperations24h),
    drift: driftFactor(input),
  };
  const total = Object.values(healthWeights).reduce((a, b) => a + b, 0);
  let sum = 0;
  const breakdown = (Object.keys(healthWeights) as Factor[]).map(factor => {
    const [score, detail] = factors[factor];
    const s = Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
    sum += s * healthWeights[factor];
    return { factor, weight: healthWeights[factor], score: s, detail };
  });
  let score = Math.round((sum / total) * 100);
  // A cluster that is gone or whose control plane is down is not healthy, whatever else.
  if (o?.phase === 'Deleted') score = 0;
  return { score, breakdown };
}
