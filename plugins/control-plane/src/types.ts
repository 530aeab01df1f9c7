import type { IdpApiPaths, Schemas } from '@idp-multicloud/sdk';

/**
 * The operations of the unified contract a user can start on a resource.
 * @public
 */
export type OperationType = Schemas['CreateOperationRequest']['type'];

/**
 * A filter of the audit log.
 * @public
 */
export type AuditQuery = NonNullable<
  IdpApiPaths['/audit']['get']['parameters']['query']
>;

/**
 * Why a resource was placed where it is (`GET /resources/{ns}/{name}/placement`).
 * Not in the SDK yet: typed here after the shape the backend is adding.
 * @public
 */
export interface PlacementExplanation {
  resourceRef: string;
  operationId?: string;
  decidedAt: string;
  durationMs: number;
  explanation: string;
  selected?: {
    cluster: string;
    provider: string;
    cell: string;
    region: string;
    zones: string[];
  };
  candidates: Array<{
    cluster: string;
    provider: string;
    rejected: Array<{ filter: string; reason: string }>;
    scores?: {
      health: number;
      cost: number;
      utilisation: number;
      latency: number;
      spread: number;
    };
    total?: number;
  }>;
  weights: Record<string, number>;
  experiment?: { id: string; arm: string };
}

/**
 * A resource's cost this month (`GET /resources/{ns}/{name}/cost`).
 * @public
 */
export interface ResourceCost {
  currency: string;
  monthlyEstimate: number;
  monthToDate: number;
  budget?: { quota: string; limit: number; used: number };
}

/**
 * The usage of one quota (`GET /quotas/usage`).
 * @public
 */
export interface QuotaUsage {
  id: string;
  scope: { kind: 'cell' | 'team' | 'namespace'; name: string };
  limits: {
    maxInstances?: number;
    maxStorageGi?: number;
    maxMonthlyCost?: number;
  };
  usage: { instances: number; storageGi: number; monthlyCost: number };
}

/**
 * What to price (`POST /cost/estimate`).
 * @public
 */
export interface CostEstimateRequest {
  product: string;
  tier?: string;
  cell?: string;
  params?: Record<string, unknown>;
}

/**
 * A price estimate per provider.
 * @public
 */
export interface CostEstimate {
  currency: string;
  product: string;
  tier: string;
  cell: string;
  estimates: Array<{ provider: string; monthlyCost: number }>;
  cheapest: { provider: string; monthlyCost: number };
}

/**
 * A provider's live health and circuit breaker.
 * @public
 */
export interface ProviderHealth {
  /** 0..1 */
  score: number;
  breaker: 'closed' | 'open' | 'half-open';
  calls: number;
  errorRate: number;
  p95LatencyMs: number;
}

/**
 * A provider as the fleet page shows it; `health` is absent on backends that do not report it.
 * @public
 */
export type FleetProvider = Schemas['Provider'] & { health?: ProviderHealth };

/**
 * A cluster as the fleet page shows it; `health` is shown when the backend reports one.
 * @public
 */
export type FleetCluster = Schemas['Cluster'] & {
  health?: { score: number; status?: string };
};
