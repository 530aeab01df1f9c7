import { ObservedPhase } from '@idp-multicloud/plugin-control-plane-node';
import { SimulatorFault } from './config';
import { Claim, endpointOf, iso, phaseAt } from './simulation/logic';
import {
  BackupRecord,
  DnsRecord,
  NetworkingRecord,
} from './simulation/ObjectStore';
import { SimulatorSideEffects } from './simulation/SideEffectLog';

/**
 * A simulated resource, as `GET /simulator/state` lists it.
 * @public
 */
export interface SimulatedClaim {
  /** The resource, `resource:<namespace>/<name>`. */
  ref: string;
  /** The resource incarnation. */
  uid: string;
  /** The cell it runs in. */
  cell: string;
  /** The provider of its cluster. */
  provider: string;
  /** The cluster it runs on. */
  cluster: string;
  /** The product, e.g. `mysql`. */
  product: string;
  /** What `observe` reports now. */
  phase: ObservedPhase;
  /** The parameters as applied (or as drifted). */
  params: Record<string, unknown>;
  /** The generation last applied. */
  generation: number;
  /** The running version: the product's version parameter, or `1`. */
  version: string;
  /** Changes applied to it: each apply, delete, restore, failover or rotation counts one. */
  revision: number;
  /** Set through the admin API; `observe` reports it once provisioned. */
  health: 'healthy' | 'degraded' | 'failed';
  /** The zone of the primary, moved by a failover. */
  primaryZone?: string;
  /** The version of its credentials, raised by a rotation. */
  secretVersion: number;
  /** Where it answers. */
  endpoint: { host: string; port: number };
  /** When its parameters were last changed out of band. */
  driftedAt?: string;
  /** When it was created. */
  createdAt: string;
  /** When its last provisioning ended (or will end). */
  readyAt: string;
}

/**
 * Everything the simulated clouds hold.
 * @public
 */
export interface SimulatorState {
  /** Always true: nothing here exists in a real cloud. */
  simulated: true;
  /** The driver id. */
  driver: 'simulated';
  /** Provisioning times and latencies, in milliseconds. */
  settings: {
    provisioningMs: number;
    deprovisioningMs: number;
    latencyMs: Record<string, number>;
  };
  /** The resources that exist (absent ones are left out). */
  claims: SimulatedClaim[];
  /** Endpoints opened to consumers. */
  networking: Array<{
    ref: string;
    cluster: string;
    host: string;
    port: number;
    createdAt: string;
  }>;
  /** DNS records, each pointing at one cluster. */
  dnsRecords: Array<{
    hostname: string;
    ref: string;
    cluster: string;
    target: string;
    updatedAt: string;
  }>;
  /** Backups taken. */
  backups: Array<{
    id: string;
    ref: string;
    cluster: string;
    sizeGi: number;
    label?: string;
    createdAt: string;
  }>;
  /** The faults in force. */
  faults: SimulatorFault[];
  /** Side effects applied, per idempotency token. */
  sideEffects: SimulatorSideEffects;
}

/**
 * Which claims an out-of-band change is about: a resource ref, optionally one cluster.
 * @public
 */
export interface SimulatedClaimSelector {
  /** `resource:<namespace>/<name>` */
  ref: string;
  /** Only the claim on this cluster; every live claim of the ref when left out. */
  cluster?: string;
}

/** A stored claim as the admin API shows it. */
export function publicClaim(claim: Claim, now: number): SimulatedClaim {
  return {
    ref: claim.ref,
    uid: claim.uid,
    cell: claim.cell,
    provider: claim.provider,
    cluster: claim.cluster,
    product: claim.product,
    phase: phaseAt(claim, now),
    params: claim.params,
    generation: claim.generation,
    version: claim.version,
    revision: claim.revision,
    health: claim.health,
    ...(claim.primaryZone ? { primaryZone: claim.primaryZone } : {}),
    secretVersion: claim.secretVersion,
    endpoint: endpointOf(claim),
    ...(claim.driftedAt ? { driftedAt: iso(claim.driftedAt) } : {}),
    createdAt: iso(claim.createdAt),
    readyAt: iso(claim.readyAt),
  };
}

/** What the simulated clouds hold, as `GET /simulator/state` shows it: absent claims left out. */
export function simulatorState(
  held: {
    settings: SimulatorState['settings'];
    claims: Claim[];
    networking: NetworkingRecord[];
    dnsRecords: DnsRecord[];
    backups: BackupRecord[];
    faults: SimulatorFault[];
    sideEffects: SimulatorSideEffects;
  },
  now: number,
): SimulatorState {
  const {
    settings,
    claims,
    networking,
    dnsRecords,
    backups,
    faults,
    sideEffects,
  } = held;
  return {
    simulated: true,
    driver: 'simulated',
    settings,
    claims: claims
      .filter(c => phaseAt(c, now) !== 'absent')
      .map(c => publicClaim(c, now)),
    networking: networking.map(n => ({
      ref: n.ref,
      cluster: n.cluster,
      host: n.host,
      port: n.port,
      createdAt: iso(n.createdAt),
    })),
    dnsRecords: dnsRecords.map(d => ({
      hostname: d.hostname,
      ref: d.ref,
      cluster: d.cluster,
      target: d.target,
      updatedAt: iso(d.updatedAt),
    })),
    backups: backups.map(b => ({
      id: b.id,
      ref: b.ref,
      cluster: b.cluster,
      sizeGi: b.sizeGi,
      ...(b.label ? { label: b.label } : {}),
      createdAt: iso(b.createdAt),
    })),
    faults,
    sideEffects,
  };
}
