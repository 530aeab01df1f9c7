import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  BlockersResponse,
  createResourceRequestSchema,
  CreateOperationRequest,
  DEFAULT_NAMESPACE,
  MANIFEST_API_VERSION,
  normalizeEntityRef,
  parseResourceRef,
  resourceSpecSchema,
  stringifyResourceRef,
  RolloutSpec,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CallContext } from '../context';
import { digestOf, isUniqueViolation } from '../database/util';
import { ChangeService } from '../gitops/ChangeService';
import { DesiredState } from '../gitops/DesiredState';
import { DeploymentStore } from '../deployments/DeploymentStore';
import { planMigration } from '../deployments/plan';
import { IdempotencyStore } from '../idempotency/IdempotencyStore';
import { OperationStore } from '../operations/OperationStore';
import {
  noSuchResource,
  redact,
  ResourceView,
  UNREADABLE,
  viewedManifests,
} from '../permissions/ResourceView';
import { checkedInView } from '../permissions/checkedInView';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import {
  applyPatch,
  canonicalDeps,
  checkedPatch,
  checkOperationRequest,
  issuesInRequestTerms,
  operationIssues,
  planDeletion,
  requireDesired,
  retryable,
  ResourceManifest,
  UpdatePatch,
} from './resourceRequests';

/** An accepted operation, with digests of the resource's desired spec before and after. */
export interface AcceptedOperation {
  operationId: string;
  beforeDigest?: string;
  afterDigest?: string;
}

/**
 * What the API does with resources: each change is validated against the desired state and
 * becomes one commit of the state repository (through the {@link ChangeService}); reads come
 * from the observed state.
 */
export class ResourceService {
  constructor(
    private readonly options: {
      db: Knex;
      changes: ChangeService;
      resources: ResourceStore;
      operations: OperationStore;
      idempotency: IdempotencyStore;
      /** Records the deployment of a gradual migration (a migrate with `weights`). */
      deployments?: DeploymentStore;
    },
  ) {}

  /** The manifest a create request asks for (parsed, not yet checked against the state). */
  manifestForCreate(
    req: z.output<typeof createResourceRequestSchema>,
  ): ResourceManifest {
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
        ...(req.rollout ? { rollout: req.rollout } : {}),
      }),
    };
  }

  /**
   * Checks manifests about to be written to resource `ref` against the desired state, as a
   * commit of them would be checked, writing nothing: a 400 names each offending field.
   * Whether the resource exists is not checked (a retried create must reach its replay).
   * Checked as `view` sees the state (see {@link checkedInView}).
   */
  async check(
    ref: string,
    put: ResourceManifest[],
    view: ResourceView = ResourceView.everything,
  ): Promise<void> {
    await this.options.changes.dryRun({
      admission: false,
      sync: false,
      ...checkedInView(
        view,
        () => ({ put, remove: [] }),
        issuesInRequestTerms(ref),
      ),
    });
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
      source: ctx.source,
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

  /**
   * What a patch would make of the current desired spec (not yet validated), and the digest
   * of the spec it starts from: {@link update} refuses to apply it on another one.
   */
  async planUpdate(
    ref: string,
    patch: UpdatePatch,
  ): Promise<{ next: ResourceManifest; basis: string }> {
    const current = await this.desired(ref);
    return { next: applyPatch(current, patch), basis: digestOf(current) };
  }

  /**
   * Applies a patch. `basis` is the digest of the spec the caller was authorized and
   * validated against: when another request changed the resource since, 409.
   */
  async update(
    ref: string,
    patch: UpdatePatch,
    ctx: CallContext,
    basis?: string,
  ): Promise<ResourceRecord> {
    await this.options.changes.apply({
      actor: ctx.actor,
      action: 'resource.update',
      target: ref,
      message: `update ${ref}`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      source: ctx.source,
      compute: state => {
        const current = requireDesired(state, ref);
        if (basis && digestOf(current) !== basis) {
          throw new ConflictError(
            `${ref} was changed by another request while this one was checked; read it again and retry`,
          );
        }
        return { put: [checkedPatch(state, current, patch)], remove: [] };
      },
      describeIssues: issuesInRequestTerms(ref),
    });
    return this.getLive(ref);
  }

  /**
   * The resources a delete removes, dependents first, with their desired manifests (read
   * from one state); refuses when others depend on it. A resource `view` cannot read is
   * missing; a dependent it cannot read is never named.
   */
  async deletionPlan(
    ref: string,
    cascade: boolean,
    view: ResourceView = ResourceView.everything,
  ): Promise<{ ref: string; spec: ResourceManifest['spec'] }[]> {
    const state = await this.current();
    const manifest = requireDesired(state, ref);
    if (!view.canRead({ ref, spec: manifest.spec })) throw noSuchResource(ref);
    const order = deletionInView(state, ref, cascade, view);
    return order.map(r => ({ ref: r, spec: state.resource(r)!.spec }));
  }

  /**
   * Deletes `ref` (and with `cascade` its dependents). `planned` is what the caller was
   * authorized to delete: when the state changed so that the delete would remove something
   * else (a new dependent, or the resource is gone), 409, naming only what `view` can read.
   */
  async delete(
    ref: string,
    cascade: boolean,
    ctx: CallContext,
    planned?: string[],
    view: ResourceView = ResourceView.everything,
  ): Promise<{ deleting: string[]; commit: string }> {
    let order: string[] = [];
    const result = await this.options.changes.apply({
      actor: ctx.actor,
      action: cascade ? 'resource.delete-cascade' : 'resource.delete',
      target: ref,
      message: cascade ? `delete ${ref} and its dependents` : `delete ${ref}`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      source: ctx.source,
      compute: state => {
        if (planned && !state.resource(ref)) {
          throw new ConflictError(
            `${ref} was deleted by another request while this one was checked`,
          );
        }
        requireDesired(state, ref);
        order = deletionInView(state, ref, cascade, view);
        if (
          planned &&
          [...order].sort().join() !== [...planned].sort().join()
        ) {
          const hidden = view.hidden(viewedManifests(state.ofKind('Resource')));
          throw new ConflictError(
            redact(
              `What deleting ${ref} removes changed while the request was checked (now ${order.join(
                ', ',
              )}); try again`,
              hidden,
            ),
          );
        }
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

  /** The desired state at the repository's head (see ChangeService.current). */
  current(): Promise<DesiredState> {
    return this.options.changes.current();
  }

  async desired(ref: string): Promise<ResourceManifest> {
    return requireDesired(await this.current(), ref);
  }

  /** The resource (the incarnation) an operation acts on, if its row is still there. */
  async resourceOfOperation(
    operationId: string,
  ): Promise<ResourceRecord | undefined> {
    const uid = await this.options.operations.resourceUidOf(operationId);
    return uid ? this.options.resources.getByUid(uid) : undefined;
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
      source: ctx.source,
    });
  }

  /**
   * What a resource waits for: each dependency that is not READY, and in which state. A
   * dependency `view` cannot read is, for it, missing.
   */
  async blockers(
    ref: string,
    view: ResourceView = ResourceView.everything,
  ): Promise<BlockersResponse> {
    const resource = await this.getLive(ref);
    const deps = resource.spec.dependsOn ?? [];
    const live = new Map(
      (await this.options.resources.getLiveMany(deps))
        .filter(r => view.canRead(r))
        .map(r => [r.ref, r]),
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
   * Checks an operation request against the resource and its product, writing nothing:
   * the product must implement it, its parameters must be valid, and a spec change it makes
   * must keep the desired state valid. Throws the 4xx {@link operate} would.
   */
  async checkOperation(
    ref: string,
    request: CreateOperationRequest,
  ): Promise<void> {
    const resource = await this.getLive(ref);
    const state = await this.current();
    const checked = checkOperationRequest(resource, state, request);
    if (checked.specChange) {
      const change = checked.specChange;
      await this.options.changes.dryRun({
        admission: false,
        sync: false,
        compute: s => ({ put: [change(requireDesired(s, ref))], remove: [] }),
        describeIssues: operationIssues(ref),
      });
    }
  }

  /**
   * Accepts an operation of the unified contract. Operations that change what the resource
   * should be (scale, upgrade-version, migrate) also commit that change to its desired spec,
   * so Git stays the truth; the operation records the run that brings it about. Under an
   * Idempotency-Key, the operation is created once: a retry of a request whose operation was
   * created (a crash before it answered) gets that operation.
   */
  async operate(
    ref: string,
    request: CreateOperationRequest,
    ctx: CallContext,
  ): Promise<AcceptedOperation> {
    const { idempotency, operations } = this.options;
    const key = ctx.idempotencyKey;
    const digestNow = async () => {
      const manifest = (await this.current()).resource(ref);
      return manifest ? digestOf(manifest) : undefined;
    };
    if (key) {
      const earlier = await idempotency.operationFor(ctx.actor, key);
      if (earlier) {
        const digest = await digestNow();
        return {
          operationId: earlier,
          beforeDigest: digest,
          afterDigest: digest,
        };
      }
    }
    const resource = await this.getLive(ref);
    const state = await this.current();
    const checked = checkOperationRequest(resource, state, request);
    const beforeManifest = state.resource(ref);
    // Refuse before committing anything: one operation in flight per resource.
    await operations.assertNoneActive(resource.uid, resource.ref);

    let targetGeneration: number | undefined;
    let afterDigest = beforeManifest ? digestOf(beforeManifest) : undefined;
    if (!checked.specChange && beforeManifest) {
      await this.options.changes.admitOperation({
        action: `resource.${checked.type}`,
        actor: ctx.actor,
        requestId: ctx.requestId,
        manifest: beforeManifest,
        operation: { type: checked.type, params: checked.params },
      });
    }
    if (checked.specChange) {
      const change = checked.specChange;
      const result = await this.options.changes.apply({
        actor: ctx.actor,
        action: `resource.${checked.type}`,
        target: ref,
        message: `${checked.type} ${ref}`,
        requestId: ctx.requestId,
        idempotencyKey: key,
        source: ctx.source,
        compute: s => ({
          put: [change(requireDesired(s, ref))],
          remove: [],
        }),
        describeIssues: operationIssues(ref),
        operation: { type: checked.type, params: checked.params },
      });
      targetGeneration = (await this.getLive(ref)).status.generation;
      const after = result.state.resource(ref);
      afterDigest = after ? digestOf(after) : afterDigest;
    }
    const gradual = gradualMigration(resource, checked);
    const op = {
      resourceUid: resource.uid,
      resourceRef: resource.ref,
      type: checked.type,
      params: gradual
        ? { ...checked.params, deploymentId: gradual.id, plan: gradual.plan }
        : checked.params,
      targetGeneration,
      actor: ctx.actor,
    };
    let operationId: string;
    try {
      operationId = await this.options.db.transaction(async trx => {
        const id = await operations.create(op, trx);
        if (gradual && this.options.deployments) {
          await this.options.deployments.insert(trx, {
            id: gradual.id,
            resourceUid: resource.uid,
            resourceRef: resource.ref,
            operationId: id,
            generation: targetGeneration ?? resource.status.generation,
            plan: gradual.plan,
            actor: ctx.actor,
          });
        }
        if (key) await idempotency.recordOperation(trx, ctx.actor, key, id);
        return id;
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const earlier = key && (await idempotency.operationFor(ctx.actor, key));
      if (earlier) {
        operationId = earlier;
      } else {
        // The unique index of operations in flight: another request got there first.
        await operations.assertNoneActive(resource.uid, resource.ref);
        throw error;
      }
    }
    return {
      operationId,
      ...(beforeManifest ? { beforeDigest: digestOf(beforeManifest) } : {}),
      ...(afterDigest ? { afterDigest } : {}),
    };
  }
}

/**
 * The order a delete removes resources in, refused when others depend on `ref` and there
 * is no cascade: the message names the dependents `view` can read and counts the others;
 * a cascade over a dependent `view` cannot read is not allowed (it would delete it unseen).
 */
function deletionInView(
  state: DesiredState,
  ref: string,
  cascade: boolean,
  view: ResourceView,
): string[] {
  const canonical = stringifyResourceRef(parseResourceRef(ref));
  const order = planDeletion(state, canonical, true);
  const dependents = order.filter(r => r !== canonical);
  const hidden = view.hidden(
    dependents.map(r => ({ ref: r, spec: state.resource(r)!.spec })),
  );
  if (!cascade && dependents.length > 0) {
    const named = dependents.filter(r => !hidden.has(r));
    const others = dependents.length - named.length;
    const who = [
      ...named,
      ...(others > 0
        ? [others === 1 ? UNREADABLE : `${others} resources you cannot read`]
        : []),
    ].join(', ');
    const then =
      others > 0
        ? 'Their owners must drop the dependency first'
        : `Delete ${
            dependents.length === 1 ? 'it' : 'them'
          } first, or delete with cascade=true`;
    throw new ConflictError(
      `${canonical} cannot be deleted: ${who} depend${
        dependents.length === 1 ? 's' : ''
      } on it. ${then}`,
    );
  }
  if (hidden.size > 0) {
    throw new NotAllowedError(
      `${canonical} cannot be deleted with cascade=true: ${
        hidden.size
      } of its dependents ${
        hidden.size === 1 ? 'is a resource' : 'are resources'
      } you cannot read`,
    );
  }
  return order;
}

/**
 * A migrate with `weights` moves the traffic gradually, as a deployment from the source
 * placement to the target: its id and plan, or undefined for any other operation.
 */
function gradualMigration(
  resource: ResourceRecord,
  checked: { type: string; params: Record<string, unknown> },
) {
  const weights = checked.params.weights as number[] | undefined;
  const source = resource.status.placement;
  if (checked.type !== 'migrate' || !weights?.length || !source) {
    return undefined;
  }
  const p = checked.params as {
    cell?: string;
    provider?: string;
    cluster?: string;
  };
  return {
    id: randomUUID(),
    plan: planMigration({
      from: `${source.provider}/${source.cluster}`,
      to: `${p.provider ?? '*'}/${p.cluster ?? '*'}${
        p.cell && p.cell !== resource.spec.cell ? ` in ${p.cell}` : ''
      }`,
      cell: resource.spec.cell,
      weights,
      analysis: checked.params.analysis as RolloutSpec['analysis'],
    }),
  };
}
