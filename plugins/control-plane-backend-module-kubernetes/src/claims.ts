import {
  builtinClaimKinds,
  builtinProducts,
  Condition,
  OperationType,
  ownValue,
  ProductSpec,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  DriverCallContext,
  DriverResource,
  DriverTarget,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import { ObjectRef } from './objectRef';
import { claimParameters, resourceParameters } from './secretRefs';

/**
 * How one product is realised on Kubernetes: the Crossplane claim that asks for it, the port
 * its consumers connect to and the operations its compositions react to.
 * @public
 */
export interface KubernetesClaimMapping {
  /** The claim's API group and version, e.g. `database.idp.multicloud/v1alpha1`. */
  apiVersion: string;
  /** The claim's kind, e.g. `MySQLInstance`. */
  kind: string;
  /** The port consumers connect to, unless the resource's `params.port` says otherwise. */
  port?: number;
  /** The operations of the unified contract the product's compositions implement. */
  operations?: OperationType[];
}

/** The label and annotation prefix of everything the driver writes. */
const PREFIX = 'idp.multicloud';

/** The labels every object the driver writes carries. */
export const LABELS = {
  resourceUid: `${PREFIX}/resource-uid`,
  tier: `${PREFIX}/tier`,
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The annotations the driver writes on claims. */
export const ANNOTATIONS = {
  traceId: `${PREFIX}/trace-id`,
  idempotencyToken: `${PREFIX}/idempotency-token`,
  generation: `${PREFIX}/generation`,
  operation: (type: OperationType) => `${PREFIX}/operation-${type}`,
} as const;

/**
 * A claim mapping with its defaults applied.
 * @public
 */
export type ResolvedClaimMapping = KubernetesClaimMapping & {
  operations: OperationType[];
};

/** The built-in products' claims and ports (shared with the Kubernetes generator). */
const builtins: Record<
  string,
  Required<Omit<KubernetesClaimMapping, 'operations'>>
> = builtinClaimKinds;

/**
 * The claim mapping of every built-in product, with `overrides` (from configuration) laid over
 * it: an override of a built-in product keeps the defaults it does not name, and an override
 * of another product adds it.
 * @public
 */
export function resolveClaimMappings(
  overrides: Record<string, Partial<KubernetesClaimMapping>> = {},
): Record<string, ResolvedClaimMapping> {
  const products = new Set([
    ...Object.keys(builtins),
    ...Object.keys(overrides),
  ]);
  const result: [string, ResolvedClaimMapping][] = [];
  for (const product of products) {
    const builtin = ownValue(builtins, product);
    const override = ownValue(overrides, product) ?? {};
    const apiVersion = override.apiVersion ?? builtin?.apiVersion;
    const kind = override.kind ?? builtin?.kind;
    if (!apiVersion || !kind) {
      throw new Error(
        `The claim mapping of product '${product}' needs both apiVersion and kind`,
      );
    }
    result.push([
      product,
      {
        apiVersion,
        kind,
        port: override.port ?? builtin?.port,
        operations:
          override.operations ??
          ownValue<ProductSpec>(builtinProducts, product)?.operations ??
          [],
      },
    ]);
  }
  // Own keys only (Object.fromEntries defines them): a product named __proto__ is a key.
  return Object.fromEntries(result);
}

/**
 * The Kubernetes object the driver reads and writes, loosely typed.
 * @public
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: Date;
    creationTimestamp?: Date;
  };
  spec?: Record<string, any>;
  status?: Record<string, any>;
}

/** The labels of every object written for a resource. */
export function labelsOf(resource: DriverResource): Record<string, string> {
  return {
    ...resource.labels,
    [LABELS.resourceUid]: resource.uid,
    [LABELS.tier]: resource.tier,
    [LABELS.managedBy]: 'control-plane',
  };
}

/** The name of the secret the claim's composition writes the connection details to. */
export function connectionSecretName(resource: DriverResource): string {
  return `${resource.name}-connection`;
}

/** The secret the claim's composition writes the connection details to. */
export function connectionSecretRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: connectionSecretName(resource),
      namespace: resource.namespace,
    },
  };
}

/**
 * The Crossplane claim that asks for `resource` on `target`.
 * @public
 */
export function buildClaim(
  resource: DriverResource,
  target: DriverTarget,
  ctx: DriverCallContext,
  mapping: { apiVersion: string; kind: string },
): KubeObject {
  const annotations: Record<string, string> = {
    [ANNOTATIONS.idempotencyToken]: ctx.idempotencyToken,
    [ANNOTATIONS.generation]: String(resource.generation),
  };
  if (ctx.traceId) {
    annotations[ANNOTATIONS.traceId] = ctx.traceId;
  }
  return {
    apiVersion: mapping.apiVersion,
    kind: mapping.kind,
    metadata: {
      name: resource.name,
      namespace: resource.namespace,
      labels: labelsOf(resource),
      annotations,
    },
    spec: {
      // Secret references rendered as references (see secretRefs.ts), never values.
      parameters: claimParameters(resource.params),
      compositionSelector: {
        matchLabels: { provider: target.provider, region: target.region },
      },
      writeConnectionSecretToRef: { name: connectionSecretName(resource) },
    },
  };
}

function timestamp(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

function toCondition(raw: any, fallbackTime: string): Condition {
  const status = ['True', 'False'].includes(raw?.status)
    ? raw.status
    : 'Unknown';
  return {
    type: String(raw?.type),
    status,
    ...(raw?.reason ? { reason: String(raw.reason) } : {}),
    ...(raw?.message ? { message: String(raw.message) } : {}),
    lastTransitionTime: timestamp(raw?.lastTransitionTime) ?? fallbackTime,
  };
}

/**
 * What a claim says about its resource. Crossplane reports two conditions: `Synced` (the last
 * reconcile succeeded) and `Ready` (the composed resources are available).
 *
 * - `metadata.deletionTimestamp` set: deleting
 * - `Synced=False`: degraded when still `Ready=True`, else failed (with the condition's message)
 * - `Ready=True` and `Synced=True`: ready
 * - anything else: provisioning
 */
export function observeClaim(claim: KubeObject): ObservedResource {
  const created =
    timestamp(claim.metadata.creationTimestamp) ?? new Date(0).toISOString();
  const conditions: Condition[] = Array.isArray(claim.status?.conditions)
    ? claim.status!.conditions.map((c: unknown) => toCondition(c, created))
    : [];
  const ready = conditions.find(c => c.type === 'Ready');
  const synced = conditions.find(c => c.type === 'Synced');

  let phase: ObservedResource['phase'] = 'provisioning';
  let message = ready?.message;
  if (claim.metadata.deletionTimestamp) {
    phase = 'deleting';
    message = undefined;
  } else if (synced?.status === 'False') {
    phase = ready?.status === 'True' ? 'degraded' : 'failed';
    message = synced.message ?? synced.reason;
  } else if (ready?.status === 'True' && synced?.status === 'True') {
    phase = 'ready';
    message = undefined;
  }

  const observed: ObservedResource = { phase, conditions };
  if (message) observed.message = message;
  if (claim.spec?.parameters) {
    observed.params = resourceParameters(claim.spec.parameters);
  }
  const secret = claim.spec?.writeConnectionSecretToRef?.name;
  if (typeof secret === 'string') observed.connectionSecretRef = secret;
  if (typeof claim.status?.version === 'string') {
    observed.version = claim.status.version;
  }
  return observed;
}
