import { createExtensionPoint } from '@backstage/backend-plugin-api';

/**
 * A resource as policies see it.
 * @public
 */
export interface PolicyResource {
  ref: string;
  namespace: string;
  name: string;
  product: string;
  owner: string;
  component?: string;
  tier: string;
  cell: string;
  params: Record<string, unknown>;
  dependsOn: string[];
  labels: Record<string, string>;
}

/**
 * Usage of one quota, and what the request would add to it.
 * @public
 */
export interface PolicyQuotaUsage {
  quota: string;
  scope: { kind: 'cell' | 'team' | 'namespace'; name: string };
  limits: {
    maxInstances?: number;
    maxStorageGi?: number;
    maxMonthlyCost?: number;
  };
  /** What the scope uses now, the resource itself included when it exists. */
  usage: { instances: number; storageGi: number; monthlyCost: number };
  /**
   * What the request adds: the whole resource on create (or when it moves into the scope), the
   * difference on update, a negative share on delete, zero for an operation that changes nothing.
   */
  request: { instances: number; storageGi: number; monthlyCost: number };
}

/**
 * The input document of every policy decision: the same for the built-in evaluator and for
 * OPA, so teams can write Rego against it. Documented field by field in the
 * control-plane-backend-module-opa README.
 * @public
 */
export interface PolicyInput {
  /** e.g. `resource.create`, `resource.update`, `resource.delete`, `resource.<operation>` */
  action: string;
  actor: { ref: string };
  resource: PolicyResource;
  /**
   * The resource before the request, for updates, operations and deletes (on a delete,
   * `resource` is the resource being deleted, as it is).
   */
  previous?: PolicyResource;
  /** The operation asked for, for operations (`resource.<type>`). */
  operation?: { type: string; params: Record<string, unknown> };
  product: {
    id: string;
    category: string;
    tiers: string[];
    operations: string[];
  };
  tier: {
    id: string;
    requiredFeatures: {
      backups: boolean;
      multiAZ: boolean;
      encryption: boolean;
    };
    sla: {
      availability: number;
      p99LatencyMs: number;
      rtoMinutes: number;
      rpoMinutes: number;
    };
  };
  cell: { id: string; geo: string; dataResidency?: string };
  /** Every quota that applies to the resource, with current usage and the request's share. */
  quotas: PolicyQuotaUsage[];
  /** Estimated monthly cost of the resource after the request, in USD (0 for a delete). */
  cost: { monthly: number; currency: 'USD' };
  /** Policies from the state repository (`policies/`), by name. */
  policies: Record<string, unknown>;
  /** When the decision is made (ISO 8601). */
  time: string;
}

/**
 * One reason a request is refused.
 * @public
 */
export interface PolicyViolation {
  /** A stable code, e.g. `quota.maxInstances`, `product.notAllowed`. */
  code: string;
  message: string;
  /** The request field at fault, when there is one. */
  field?: string;
  /** HTTP status the API answers with: 403 (default) or 422. */
  status?: 403 | 422;
}

/**
 * The verdict of one evaluator.
 * @public
 */
export interface PolicyDecision {
  allowed: boolean;
  violations: PolicyViolation[];
  /** Why it allowed (for the audit log). */
  reasons?: string[];
}

/**
 * Decides whether a request may go ahead. Every installed evaluator must allow a request.
 * @public
 */
export interface PolicyEvaluator {
  readonly id: string;
  evaluate(input: PolicyInput): Promise<PolicyDecision>;
}

/**
 * Lets backend modules add policy evaluators (e.g. OPA) besides the built-in one.
 * @public
 */
export interface ControlPlanePolicyEvaluatorsExtensionPoint {
  addPolicyEvaluator(...evaluators: PolicyEvaluator[]): void;
}

/**
 * The extension point for policy evaluators.
 * @public
 */
export const controlPlanePolicyEvaluatorsExtensionPoint =
  createExtensionPoint<ControlPlanePolicyEvaluatorsExtensionPoint>({
    id: 'control-plane.policy-evaluators',
  });
