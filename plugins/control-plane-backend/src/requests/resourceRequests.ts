import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  CreateOperationRequest,
  ManifestOf,
  normalizeEntityRef,
  operationParamsSchemas,
  OperationType,
  ownValue,
  parseResourceRef,
  ProductSpec,
  stringifyResourceRef,
  updateResourceRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { parseInput } from '../errors';
import { DesiredState, ObjectIssue } from '../gitops/DesiredState';
import { deletionOrder } from '../gitops/graph';
import { keyString } from '../gitops/manifestCodec';
import { storageOf } from '../gitops/storage';
import { placementIssues } from '../gitops/validatePlacement';
import { ResourceRecord } from '../resources/ResourceStore';

/*
 * What a request on a resource means against the desired state: pure functions, no I/O.
 * ResourceService reads the state, calls these, and commits what they return.
 */

/** What an operation request turns into, checked against the resource and its product. */
export interface CheckedOperation {
  type: OperationType;
  params: Record<string, unknown>;
  specChange?: (m: ResourceManifest) => ResourceManifest;
}

export type ResourceManifest = ManifestOf<'Resource'>;

export function canonicalDeps(deps: string[] | undefined): string[] {
  return (deps ?? []).map(d => stringifyResourceRef(parseResourceRef(d)));
}

/**
 * Issues about the requested resource keep the request's own field names (`params.size`,
 * not `spec.params.size`); issues about other objects name the object.
 */
export function issuesInRequestTerms(ref: string) {
  const { namespace, name } = parseResourceRef(ref);
  const self = keyString({ kind: 'Resource', namespace, name });
  return (issues: ObjectIssue[]) =>
    issues.map(i =>
      keyString(i.key) === self
        ? {
            ...i,
            path: i.path.replace(/^spec\./, '').replace(/^metadata\./, ''),
          }
        : { ...i, path: `${keyString(i.key)} ${i.path}` },
    );
}

export type UpdatePatch = z.output<typeof updateResourceRequestSchema>;

export function operationIssues(ref: string) {
  return (issues: ObjectIssue[]) =>
    issuesInRequestTerms(ref)(issues).map(i => ({
      ...i,
      path: 'params',
      message: `would make ${i.path} invalid: ${i.message}`,
    }));
}

export function checkOperationRequest(
  resource: ResourceRecord,
  state: DesiredState,
  request: CreateOperationRequest,
): CheckedOperation {
  const ref = resource.ref;
  if (['DELETING', 'DELETED'].includes(resource.status.state)) {
    throw new ConflictError(
      `${ref} is ${resource.status.state}; it takes no operations`,
    );
  }
  const product = state.product(resource.spec.product);
  const type = request.type as OperationType;
  if (!product?.spec.operations.includes(type)) {
    throw new InputError(
      `type: product ${
        resource.spec.product
      } does not implement ${type} (it implements ${
        product?.spec.operations.join(', ') || 'none'
      })`,
    );
  }
  const schema = ownValue<z.ZodType>(operationParamsSchemas, type);
  if (!schema) {
    throw new InputError(`type: no operation ${type}`);
  }
  const params = parseInput(
    schema as z.ZodType<Record<string, unknown>>,
    request.params ?? {},
    'params',
  );
  if (type === 'migrate') {
    checkMigrationTarget(state, resource, params);
  }
  return {
    type,
    params,
    specChange: specChangeFor(type, params, product.spec, product.id),
  };
}

/**
 * A migration to a provider or cluster that does not exist, or is not in the target cell
 * (or, for a cluster, not on the target provider), is a 400 naming the parameter.
 */
function checkMigrationTarget(
  state: DesiredState,
  resource: ResourceRecord,
  params: Record<string, unknown>,
) {
  const cell = (params.cell as string | undefined) ?? resource.spec.cell;
  const issues = placementIssues(state, {
    cell,
    placement: {
      provider: params.provider as string | undefined,
      cluster: params.cluster as string | undefined,
    },
  });
  if (issues.length > 0) {
    throw new InputError(
      issues
        .map(
          i =>
            `${i.path.replace(/^spec\.placement\./, 'params.')}: ${i.message}`,
        )
        .join('; '),
    );
  }
}

/**
 * Refuses a change that makes a resource's storage smaller than it is, unless its product
 * says its storage may shrink (`storageShrink`): most volumes only grow, and a shrink
 * accepted now would only fail in the saga. `field` is the request's name for it.
 */
export function refuseStorageShrink(
  product: { id: string; spec: ProductSpec } | undefined,
  current: ResourceManifest,
  next: ResourceManifest,
  field?: string,
): void {
  if (!product?.spec.storageParameter || product.spec.storageShrink) return;
  const before = storageOf(product.id, product.spec, current.spec.params);
  const after = storageOf(product.id, product.spec, next.spec.params);
  if (before !== undefined && after !== undefined && after < before) {
    throw new InputError(
      `${
        field ?? `params.${product.spec.storageParameter}`
      }: storage cannot shrink from ${before} GiB to ${after} GiB (product ${
        product.id
      } does not support shrinking storage)`,
    );
  }
}

/**
 * A patch applied to the current desired spec, refused (400) when it would shrink the
 * resource's storage and its product does not allow that.
 */
export function checkedPatch(
  state: DesiredState,
  current: ResourceManifest,
  patch: UpdatePatch,
): ResourceManifest {
  const next = applyPatch(current, patch);
  if (next.spec.product === current.spec.product) {
    refuseStorageShrink(state.product(current.spec.product), current, next);
  }
  return next;
}

/** Whether a failed generation may be tried again. */
export function retryable(resource: ResourceRecord): boolean {
  return (
    resource.status.state === 'FAILED' ||
    resource.status.generation > resource.status.observedGeneration
  );
}

export function requireDesired(
  state: DesiredState,
  ref: string,
): ResourceManifest {
  const manifest = state.resource(ref);
  if (!manifest) {
    throw new NotFoundError(
      `No resource ${stringifyResourceRef(parseResourceRef(ref))}`,
    );
  }
  return manifest;
}

export function planDeletion(
  state: DesiredState,
  ref: string,
  cascade: boolean,
): string[] {
  const canonical = stringifyResourceRef(parseResourceRef(ref));
  const order = deletionOrder(state.dependencyGraph(), canonical);
  if (order.length > 1 && !cascade) {
    const dependents = order.filter(r => r !== canonical);
    throw new ConflictError(
      `${canonical} cannot be deleted: ${dependents.join(', ')} depend${
        dependents.length === 1 ? 's' : ''
      } on it. Delete ${
        dependents.length === 1 ? 'it' : 'them'
      } first, or delete with cascade=true`,
    );
  }
  return order;
}

export function applyPatch(
  current: ResourceManifest,
  patch: UpdatePatch,
): ResourceManifest {
  // A Map, then own keys: a parameter named __proto__ is a name like any other.
  const merged = new Map(Object.entries(current.spec.params));
  for (const [key, value] of Object.entries(patch.params ?? {})) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  const spec = { ...current.spec, params: Object.fromEntries(merged) };
  if (patch.owner) spec.owner = normalizeEntityRef(patch.owner);
  if (patch.component === null) delete spec.component;
  else if (patch.component)
    spec.component = normalizeEntityRef(patch.component);
  if (patch.tier) spec.tier = patch.tier;
  if (patch.dependsOn) spec.dependsOn = canonicalDeps(patch.dependsOn);
  if (patch.driftPolicy === null) delete spec.driftPolicy;
  else if (patch.driftPolicy) spec.driftPolicy = patch.driftPolicy;
  if (patch.rollout === null) delete spec.rollout;
  else if (patch.rollout) spec.rollout = patch.rollout;
  return {
    ...current,
    metadata: {
      ...current.metadata,
      labels: patch.labels ?? current.metadata.labels,
    },
    spec,
  };
}

export function specChangeFor(
  type: OperationType,
  params: Record<string, unknown>,
  product: ProductSpec,
  productId: string,
): ((m: ResourceManifest) => ResourceManifest) | undefined {
  const withParams =
    (changes: Record<string, unknown>) => (m: ResourceManifest) => ({
      ...m,
      spec: { ...m.spec, params: { ...m.spec.params, ...changes } },
    });
  switch (type) {
    case 'scale': {
      const changes: Record<string, unknown> = {};
      if (params.replicas !== undefined) {
        if (!product.replicasParameter) {
          throw new InputError(
            'params.replicas: this product does not scale by replicas',
          );
        }
        changes[product.replicasParameter] = params.replicas;
      }
      if (params.storageGi !== undefined) {
        if (!product.storageParameter) {
          throw new InputError(
            'params.storageGi: this product has no storage to scale',
          );
        }
        changes[product.storageParameter] = params.storageGi;
      }
      if (params.size !== undefined) changes.size = params.size;
      return m => {
        const next = withParams(changes)(m);
        refuseStorageShrink(
          { id: productId, spec: product },
          m,
          next,
          'params.storageGi',
        );
        return next;
      };
    }
    case 'upgrade-version':
      if (!product.versionParameter) {
        throw new InputError('type: this product has no version to upgrade');
      }
      return withParams({ [product.versionParameter]: params.version });
    case 'migrate':
      return m => ({
        ...m,
        spec: {
          ...m.spec,
          cell: (params.cell as string | undefined) ?? m.spec.cell,
          placement: {
            ...(params.provider ? { provider: params.provider as string } : {}),
            ...(params.cluster ? { cluster: params.cluster as string } : {}),
          },
        },
      });
    default:
      return undefined;
  }
}
