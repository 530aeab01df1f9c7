import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  BlockersResponse,
  createResourceRequestSchema,
  CreateOperationRequest,
  DEFAULT_NAMESPACE,
  MANIFEST_API_VERSION,
  ManifestOf,
  normalizeEntityRef,
  operationParamsSchemas,
  OperationType,
  parseResourceRef,
  resourceSpecSchema,
  stringifyResourceRef,
  updateResourceRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { digestOf } from '../database/util';
import { parseInput } from '../errors';
import { ChangeService } from '../gitops/ChangeService';
import { DesiredState, ObjectIssue } from '../gitops/DesiredState';
import { keyString } from '../gitops/manifestCodec';
import { RequestContext, StateIndexer } from '../gitops/StateIndexer';
import { OperationStore } from '../operations/OperationStore';
import { deletionOrder } from './graph';
import { ResourceRecord, ResourceStore } from './ResourceStore';

/** Who is asking, and the request's identity. */
export interface CallContext {
  actor: string;
  requestId: string;
  idempotencyKey?: string;
  source?: RequestContext['source'];
}

type ResourceManifest = ManifestOf<'Resource'>;

function canonicalDeps(deps: string[] | undefined): string[] {
  return (deps ?? []).map(d => stringifyResourceRef(parseResourceRef(d)));
}

/**
 * Issues about the requested resource keep the request's own field names (`params.size`,
 * not `spec.params.size`); issues about other objects name the object.
 */
function issuesInRequestTerms(ref: string) {
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

/**
 * What the API does with resources: each change is validated against the desired state and
 * becomes one commit of the state repository (through the {@link ChangeService}); reads come
 * from the observed state.
 */
export class ResourceService {
  constructor(
    private readonly options: {
      changes: ChangeService;
      indexer: StateIndexer;
      resources: ResourceStore;
      operations: OperationStore;
    },
  ) {}

  /** The manifest a create request asks for (validated, not yet checked against the state). */
  manifestForCreate(body: unknown): ResourceManifest {
    const req = parseInput(createResourceRequestSchema, body);
    return {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Resource',
      metadata: {
        name: req.name,
        namespace: req.namespace ?? DEFAULT_NAMESPACE,
        labels: req.labels ?? {},
      },
      spec: resourceSpecSchema.parse({
        product: req.product,
        owner: normalizeEntityRef(req.owner),
        ...(req.component
          ? { component: normalizeEntityRef(req.component) }
          : {}),
        tier: req.tier,
        cell: req.cell,
        params: req.params ?? {},
        dependsOn: canonicalDeps(req.dependsOn),
        ...(req.placement ? { placement: req.placement } : {}),
        ...(req.driftPolicy ? { driftPolicy: req.driftPolicy } : {}),
      }),
    };
  }

  async create(
    manifest: ResourceManifest,
    ctx: CallContext,
  ): Promise<ResourceRecord> {
    const ref = stringifyResourceRef(manifest.metadata);
    await this.options.changes.apply({
      actor: ctx.actor,
      action: 'resource.create',
      target: ref,
      message: `create ${ref} (${manifest.spec.product}, tier ${manifest.spec.tier}, ${manifest.spec.cell})`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      context: { source: ctx.source, afterDigest: digestOf(manifest) },
      compute: state => {
        if (state.resource(ref)) {
          throw new ConflictError(`${ref} already exists`);
        }
        return { put: [manifest], remove: [] };
      },
      describeIssues: issuesInRequestTerms(ref),
    });
    return this.getLive(ref);
  }

  /** The manifest a patch would produce from the current desired spec. */
  async manifestForUpdate(
    ref: string,
    body: unknown,
  ): Promise<ResourceManifest> {
    const patch = parseInput(updateResourceRequestSchema, body);
    const current = await this.desired(ref);
    return applyPatch(current, patch);
  }

  async update(
    ref: string,
    body: unknown,
    ctx: CallContext,
  ): Promise<ResourceRecord> {
    const patch = parseInput(updateResourceRequestSchema, body);
    await this.options.changes.apply({
      actor: ctx.actor,
      action: 'resource.update',
      target: ref,
      message: `update ${ref}`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      context: { source: ctx.source },
      compute: state => ({
        put: [applyPatch(requireDesired(state, ref), patch)],
        remove: [],
      }),
      describeIssues: issuesInRequestTerms(ref),
    });
    return this.getLive(ref);
  }

  /** The refs a delete removes, dependents first; refuses when others depend on it. */
  async deletionPlan(ref: string, cascade: boolean): Promise<string[]> {
    const state = await this.current();
    requireDesired(state, ref);
    return planDeletion(state, ref, cascade);
  }

  async delete(
    ref: string,
    cascade: boolean,
    ctx: CallContext,
  ): Promise<{ deleting: string[]; commit: string }> {
    let order: string[] = [];
    const result = await this.options.changes.apply({
      actor: ctx.actor,
      action: cascade ? 'resource.delete-cascade' : 'resource.delete',
      target: ref,
      message: cascade ? `delete ${ref} and its dependents` : `delete ${ref}`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      context: { source: ctx.source },
      compute: state => {
        requireDesired(state, ref);
        order = planDeletion(state, ref, cascade);
        return {
          put: [],
          remove: order.map(r => ({
            kind: 'Resource' as const,
            ...parseResourceRef(r),
          })),
        };
      },
    });
    return { deleting: order, commit: result.commit ?? '' };
  }

  async current(): Promise<DesiredState> {
    await this.options.indexer.sync();
    return this.options.indexer.current();
  }

  async desired(ref: string): Promise<ResourceManifest> {
    return requireDesired(await this.current(), ref);
  }

  async getLive(ref: string): Promise<ResourceRecord> {
    const { namespace, name } = parseResourceRef(ref);
    const live = await this.options.resources.getLive(namespace, name);
    if (!live) {
      throw new NotFoundError(
        `No resource ${stringifyResourceRef({ namespace, name })}`,
      );
    }
    return live;
  }

  /**
   * Lets the reconciler try a failed generation again (a FAILED resource is provisioned
   * anew, a failed update re-applied).
   */
  async retry(resource: ResourceRecord, ctx: CallContext): Promise<void> {
    if (!retryable(resource)) {
      throw new ConflictError(
        `${resource.ref} is ${resource.status.state} at generation ${resource.status.observedGeneration}; there is nothing to retry`,
      );
    }
    await this.options.resources.clearFailedGeneration(resource.uid, {
      actor: ctx.actor,
      requestId: ctx.requestId,
    });
  }

  /** What a resource waits for: each dependency that is not READY, and in which state. */
  async blockers(ref: string): Promise<BlockersResponse> {
    const resource = await this.getLive(ref);
    const deps = resource.spec.dependsOn ?? [];
    const live = new Map(
      (await this.options.resources.getLiveMany(deps)).map(r => [r.ref, r]),
    );
    const blockers = deps
      .map(dep => {
        const found = live.get(dep);
        if (!found) {
          return {
            ref: dep,
            state: 'MISSING' as const,
            reason: 'no such resource is live',
          };
        }
        return found.status.state === 'READY'
          ? undefined
          : {
              ref: dep,
              state: found.status.state,
              reason: `waiting for it to be READY (it is ${found.status.state}${
                found.status.reason ? `: ${found.status.reason}` : ''
              })`,
            };
      })
      .filter((b): b is NonNullable<typeof b> => !!b);
    return { ref: resource.ref, blocked: blockers.length > 0, blockers };
  }

  /**
   * Accepts an operation of the unified contract. Operations that change what the resource
   * should be (scale, upgrade-version, migrate) also commit that change to its desired spec,
   * so Git stays the truth; the operation records the run that brings it about.
   */
  async operate(
    ref: string,
    request: CreateOperationRequest,
    ctx: CallContext,
  ): Promise<string> {
    const resource = await this.getLive(ref);
    if (['DELETING', 'DELETED'].includes(resource.status.state)) {
      throw new ConflictError(
        `${ref} is ${resource.status.state}; it takes no operations`,
      );
    }
    const state = await this.current();
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
    const params = parseInput(
      operationParamsSchemas[type] as z.ZodType<Record<string, unknown>>,
      request.params ?? {},
      'params',
    );
    // Refuse before committing anything: one operation in flight per resource.
    await this.options.operations.assertNoneActive(resource.uid, resource.ref);

    let targetGeneration: number | undefined;
    const specChange = specChangeFor(type, params, product.spec);
    if (specChange) {
      await this.options.changes.apply({
        actor: ctx.actor,
        action: `resource.${type}`,
        target: ref,
        message: `${type} ${ref}`,
        requestId: ctx.requestId,
        idempotencyKey: ctx.idempotencyKey,
        context: { source: ctx.source },
        compute: s => ({
          put: [specChange(requireDesired(s, ref))],
          remove: [],
        }),
        describeIssues: issues =>
          issuesInRequestTerms(ref)(issues).map(i => ({
            ...i,
            path: 'params',
            message: `would make ${i.path} invalid: ${i.message}`,
          })),
      });
      targetGeneration = (await this.getLive(ref)).status.generation;
    }
    return this.options.operations.create({
      resourceUid: resource.uid,
      resourceRef: resource.ref,
      type,
      params,
      targetGeneration,
      actor: ctx.actor,
    });
  }
}

/** Whether a failed generation may be tried again. */
export function retryable(resource: ResourceRecord): boolean {
  return (
    resource.status.state === 'FAILED' ||
    resource.status.generation > resource.status.observedGeneration
  );
}

function requireDesired(state: DesiredState, ref: string): ResourceManifest {
  const manifest = state.resource(ref);
  if (!manifest) {
    throw new NotFoundError(
      `No resource ${stringifyResourceRef(parseResourceRef(ref))}`,
    );
  }
  return manifest;
}

function planDeletion(
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

function applyPatch(
  current: ResourceManifest,
  patch: z.output<typeof updateResourceRequestSchema>,
): ResourceManifest {
  const params = { ...current.spec.params };
  for (const [key, value] of Object.entries(patch.params ?? {})) {
    if (value === null) delete params[key];
    else params[key] = value;
  }
  const spec = { ...current.spec, params };
  if (patch.owner) spec.owner = normalizeEntityRef(patch.owner);
  if (patch.component === null) delete spec.component;
  else if (patch.component)
    spec.component = normalizeEntityRef(patch.component);
  if (patch.tier) spec.tier = patch.tier;
  if (patch.dependsOn) spec.dependsOn = canonicalDeps(patch.dependsOn);
  if (patch.driftPolicy === null) delete spec.driftPolicy;
  else if (patch.driftPolicy) spec.driftPolicy = patch.driftPolicy;
  return {
    ...current,
    metadata: {
      ...current.metadata,
      labels: patch.labels ?? current.metadata.labels,
    },
    spec,
  };
}

function specChangeFor(
  type: OperationType,
  params: Record<string, unknown>,
  product: {
    replicasParameter?: string;
    storageParameter?: string;
    versionParameter?: string;
  },
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
      return withParams(changes);
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
