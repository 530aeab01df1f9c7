import {
  Condition,
  ownValue,
  resourceVersionOf,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  DriverError,
  ObservedPhase,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import { DateTime } from 'luxon';
import { SimulatorAction, SimulatorFault } from '../config';

/** The health an operator (or a test) gave a claim through the admin API. */
export type ClaimHealth = 'healthy' | 'degraded' | 'failed';

/** A simulated resource on one cluster, as stored. Times are epoch milliseconds. */
export interface Claim {
  cluster: string;
  uid: string;
  ref: string;
  namespace: string;
  name: string;
  product: string;
  tier: string;
  owner: string;
  provider: string;
  cell: string;
  region: string;
  zones: string[];
  params: Record<string, unknown>;
  generation: number;
  version: string;
  primaryZone?: string;
  secretVersion: number;
  health: ClaimHealth;
  healthMessage?: string;
  healthChangedAt?: number;
  revision: number;
  driftedAt?: number;
  createdAt: number;
  updatedAt: number;
  readyAt: number;
  deletingAt?: number;
  absentAt?: number;
}

/**
 * The saga step that made a call: the part of its idempotency token after the first `:`
 * (`<operation id>:apply_claim` → `apply_claim`; `<operation id>:apply_claim:compensate` →
 * `apply_claim:compensate`). A token without `:` names no step.
 */
export function stepOf(token: string): string | undefined {
  const colon = token.indexOf(':');
  return colon < 0 ? undefined : token.slice(colon + 1);
}

/** What a claim's phase is at an instant. */
export function phaseAt(claim: Claim | undefined, now: number): ObservedPhase {
  if (!claim) return 'absent';
  if (claim.absentAt !== undefined && now >= claim.absentAt) return 'absent';
  if (claim.deletingAt !== undefined) return 'deleting';
  if (now < claim.readyAt) return 'provisioning';
  if (claim.health === 'failed') return 'failed';
  if (claim.health === 'degraded') return 'degraded';
  return 'ready';
}

/** Whether a claim exists and is not on its way out. */
export function isLive(claim: Claim | undefined, now: number): boolean {
  const phase = phaseAt(claim, now);
  return phase !== 'absent' && phase !== 'deleting';
}

/** The version a product's parameters ask for: `engineVersion`, else `version`, else `1`. */
export function versionOf(params: Record<string, unknown>): string {
  return resourceVersionOf(params) ?? '1';
}

/**
 * Compares dotted numeric versions (`8.0` \< `8.4` \< `10`); `undefined` when either is not
 * one (an image tag such as `latest`), since then nothing can be said.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const parse = (v: string) =>
    /^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : undefined;
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

const ports: Record<string, number> = {
  mysql: 3306,
  postgres: 5432,
  redis: 6379,
  kafka: 9092,
};

/** Where a claim answers on its cluster. */
export function endpointOf(claim: {
  name: string;
  namespace: string;
  cluster: string;
  product: string;
}): { host: string; port: number } {
  return {
    host: `${claim.name}.${claim.namespace}.${claim.cluster}.simulated.internal`,
    port: ownValue(ports, claim.product) ?? 443,
  };
}

/** The DNS name of a resource, the same wherever it runs (a migration repoints it). */
export function hostnameOf(resource: {
  name: string;
  namespace: string;
}): string {
  return `${resource.name}.${resource.namespace}.dns.simulated.internal`;
}

/** An instant (epoch milliseconds) as an ISO 8601 time in UTC. */
export const iso = (ms: number) =>
  DateTime.fromMillis(ms, { zone: 'utc' }).toISO()!;

/** A failure of the simulated clouds that a retry would meet again. */
export const simulatedFailure = (message: string, code = 'SimulatedFailure') =>
  new DriverError(message, { retryable: false, code });

/** What `observe` answers about a claim at an instant. */
export function observationOf(
  claim: Claim | undefined,
  now: number,
): ObservedResource {
  const phase = phaseAt(claim, now);
  if (!claim || phase === 'absent') {
    return { phase: 'absent', message: 'nothing runs on the cluster' };
  }
  const ready: Record<
    Exclude<ObservedPhase, 'absent'>,
    {
      status: Condition['status'];
      reason: string;
      since: number;
      message: string;
    }
  > = {
    provisioning: {
      status: 'False',
      reason: 'Creating',
      since: claim.updatedAt,
      message: `provisioning on ${claim.cluster} (simulated)`,
    },
    ready: {
      status: 'True',
      reason: 'Available',
      since: Math.max(claim.readyAt, claim.healthChangedAt ?? 0),
      message: `available on ${claim.cluster} (simulated)`,
    },
    degraded: {
      status: 'False',
      reason: 'Unavailable',
      since: claim.healthChangedAt ?? claim.readyAt,
      message:
        claim.healthMessage ?? `degraded on ${claim.cluster} (simulated)`,
    },
    failed: {
      status: 'False',
      reason: 'Failed',
      since: claim.healthChangedAt ?? claim.readyAt,
      message: claim.healthMessage ?? `failed on ${claim.cluster} (simulated)`,
    },
    deleting: {
      status: 'False',
      reason: 'Deleting',
      since: claim.deletingAt ?? claim.updatedAt,
      message: `deprovisioning from ${claim.cluster} (simulated)`,
    },
  };
  const current = ready[phase];
  return {
    phase,
    message: current.message,
    params: claim.params,
    version: claim.version,
    endpoint: endpointOf(claim),
    connectionSecretRef: `${claim.name}-connection`,
    conditions: [
      {
        type: 'Ready',
        status: current.status,
        reason: current.reason,
        message: current.message,
        lastTransitionTime: iso(current.since),
      },
      {
        type: 'Synced',
        status: 'True',
        reason: 'ReconcileSuccess',
        lastTransitionTime: iso(claim.updatedAt),
      },
    ],
  };
}

/** One call to the driver, as the faults see it. */
export interface CallFacts {
  action: SimulatorAction;
  provider: string;
  cluster: string;
  ref: string;
  step?: string;
}

/** What the faults in force do to one call. */
export interface FaultVerdict {
  /** Extra delay of slow steps. */
  delayMs: number;
  /** The outage the call runs into, if any. */
  outage?: SimulatorFault;
  /** The probability the call fails with a 503. */
  errorRate: number;
  errorMessage?: string;
  /** The probability the call's answer is lost after its effect. */
  lostResponseRate: number;
  /** Step failures matching the call (each consumed on use). */
  stepFailures: SimulatorFault[];
}

function filtersMatch(fault: SimulatorFault, call: CallFacts): boolean {
  return (
    (fault.provider === undefined || fault.provider === call.provider) &&
    (fault.cluster === undefined || fault.cluster === call.cluster) &&
    (fault.ref === undefined || fault.ref === call.ref)
  );
}

/** Which faults apply to a call. Pure: consuming a step failure is the store's business. */
export function judgeCall(
  faults: SimulatorFault[],
  call: CallFacts,
): FaultVerdict {
  const verdict: FaultVerdict = {
    delayMs: 0,
    errorRate: 0,
    lostResponseRate: 0,
    stepFailures: [],
  };
  for (const fault of faults) {
    switch (fault.kind) {
      case 'provider-outage':
        if (fault.provider === call.provider) verdict.outage ??= fault;
        break;
      case 'cluster-outage':
        if (fault.cluster === call.cluster) verdict.outage ??= fault;
        break;
      case 'error-rate':
        if (
          fault.provider === call.provider &&
          (fault.rate ?? 0) > verdict.errorRate
        ) {
          verdict.errorRate = fault.rate ?? 0;
          verdict.errorMessage = fault.message;
        }
        break;
      case 'lost-response':
        if (fault.provider === call.provider) {
          verdict.lostResponseRate = Math.max(
            verdict.lostResponseRate,
            fault.rate ?? 0,
          );
        }
        break;
      case 'slow-step':
        if (fault.step === call.step && filtersMatch(fault, call)) {
          verdict.delayMs += fault.delayMs ?? 0;
        }
        break;
      case 'step-failure':
        if (
          (fault.step === undefined || fault.step === call.step) &&
          (fault.action === undefined || fault.action === call.action) &&
          (fault.remaining === undefined || fault.remaining > 0) &&
          filtersMatch(fault, call)
        ) {
          verdict.stepFailures.push(fault);
        }
        break;
      default:
        break;
    }
  }
  return verdict;
}

/**
 * The step failures that fail a saga step before it calls any driver: those naming the step
 * and no driver method, provider or cluster (a step such as `validate`, `schedule` or
 * `notify` calls none). Pure: consuming one is the store's business.
 */
export function stepFailuresBefore(
  faults: SimulatorFault[],
  call: { step: string; ref: string },
): SimulatorFault[] {
  return faults.filter(
    fault =>
      fault.kind === 'step-failure' &&
      fault.step === call.step &&
      fault.action === undefined &&
      fault.provider === undefined &&
      fault.cluster === undefined &&
      (fault.ref === undefined || fault.ref === call.ref) &&
      (fault.remaining === undefined || fault.remaining > 0),
  );
}

/** JSON with object keys sorted, so equal values compare equal. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map(k => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value));
}

/** What `apply` asks for: the resource on its target. */
export interface ApplyRequest {
  resource: {
    ref: string;
    uid: string;
    namespace: string;
    name: string;
    product: string;
    tier: string;
    owner: string;
    generation: number;
    params: Record<string, unknown>;
  };
  target: {
    cell: string;
    provider: string;
    cluster: string;
    region: string;
    zones: string[];
  };
}

/**
 * The claim after an apply: a new one provisions; changed parameters provision again (and
 * undo any drift); the same parameters only record the generation.
 */
export function claimAfterApply(
  existing: Claim | undefined,
  { resource, target }: ApplyRequest,
  now: number,
  provisioningMs: number,
): Claim {
  const common = {
    cluster: target.cluster,
    uid: resource.uid,
    ref: resource.ref,
    namespace: resource.namespace,
    name: resource.name,
    product: resource.product,
    tier: resource.tier,
    owner: resource.owner,
    provider: target.provider,
    cell: target.cell,
    region: target.region,
    zones: target.zones,
    params: resource.params,
    generation: resource.generation,
    version: versionOf(resource.params),
    updatedAt: now,
  };
  if (!existing || !isLive(existing, now)) {
    return {
      ...common,
      primaryZone: target.zones[0],
      secretVersion: 1,
      health: 'healthy',
      revision: (existing?.revision ?? 0) + 1,
      createdAt: now,
      readyAt: now + provisioningMs,
    };
  }
  const changed =
    canonicalJson(existing.params) !== canonicalJson(resource.params);
  return {
    ...existing,
    ...common,
    revision: existing.revision + 1,
    readyAt: changed ? now + provisioningMs : existing.readyAt,
    driftedAt: changed ? undefined : existing.driftedAt,
  };
}

const GiB = 1024 ** 3;

/** The GiB a backup of a resource takes: a share of its storage, at least 1. */
export function backupSizeGi(params: Record<string, unknown>): number {
  const storage = Number(params.storageGi ?? 0);
  return Math.max(
    1,
    Math.round((Number.isFinite(storage) ? storage : 0) * 0.35),
  );
}

/** The bytes a data copy of a resource moves. */
export function dataBytes(params: Record<string, unknown>): number {
  return backupSizeGi(params) * GiB;
}
