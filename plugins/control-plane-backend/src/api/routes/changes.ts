import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  catalogReadPermission,
  changeListSchema,
  changeParamsSchema,
  changeProposalParamsSchema,
  changeProposalSchema,
  manifestsRequestSchema,
  changeRevertSchema,
  listChangesQuerySchema,
  ManifestOf,
  parseResourceRef,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceReadPermission,
  resourceUpdatePermission,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { actionOn, objectRef, RevertPlan } from '../../gitops/RevertService';
import { factsOf } from '../../permissions/ResourceAuthorizer';
import { rawTarget, routes } from '../route';
import { authorizeManifests, manifestPermissions } from './manifests';
import { ApiServices } from './shared';

type Deps = Pick<
  ApiServices,
  | 'reverts'
  | 'authorizer'
  | 'proposals'
  | 'manifests'
  | 'cost'
  | 'resourceService'
>;

const route = routes<Deps>();

const resourceFacts = (m: ManifestOf<'Resource'>) =>
  factsOf({
    ref: stringifyResourceRef({
      namespace: m.metadata.namespace ?? 'default',
      name: m.metadata.name,
    }),
    spec: m.spec,
  });

/**
 * Authorizes a revert as the write it is: for each object it touches, the permission of
 * what the revert does to it (a resource created again: create; restored: update, on it as
 * it is and as it will be; removed: delete); other kinds, the permission that manages them.
 */
async function authorizeRevert(
  { authorizer }: Deps,
  credentials: BackstageCredentials,
  plan: RevertPlan,
): Promise<void> {
  const resources = plan.objects.filter(o => o.key.kind === 'Resource') as {
    before?: ManifestOf<'Resource'>;
    after?: ManifestOf<'Resource'>;
  }[];
  const basics = new Set(
    plan.objects.flatMap(o => manifestPermissions.get(o.key.kind) ?? []),
  );
  // what the caller may not read does not exist for it: read first, then act
  const existing = resources.flatMap(o => (o.after ? [o.after] : []));
  if (existing.length > 0) {
    await authorizer.authorizeResources(
      credentials,
      resourceReadPermission,
      existing.map(resourceFacts),
    );
  }
  for (const permission of basics) {
    await authorizer.authorize(credentials, permission);
  }
  const recreated = resources.filter(o => o.before && !o.after);
  const restored = resources.filter(o => o.before && o.after);
  const removed = resources.filter(o => !o.before && o.after);
  if (recreated.length > 0) {
    await authorizer.authorizeResources(
      credentials,
      resourceCreatePermission,
      [],
      recreated.map(o => resourceFacts(o.before!)),
    );
  }
  if (restored.length > 0) {
    await authorizer.authorizeResources(
      credentials,
      resourceUpdatePermission,
      restored.map(o => resourceFacts(o.after!)),
      restored.map(o => resourceFacts(o.before!)),
    );
  }
  if (removed.length > 0) {
    await authorizer.authorizeResources(
      credentials,
      resourceDeletePermission,
      removed.map(o => resourceFacts(o.after!)),
    );
  }
}

export const changeRoutes = [
  route({
    method: 'get',
    path: '/changes',
    operationId: 'listChanges',
    summary: "A resource's changes in the state repository, newest first",
    description:
      'Each change is a commit of the state repository that wrote or removed the resource, deleted ones included: what `idp rollback` picks from.',
    permission: resourceReadPermission,
    request: { query: listChangesQuerySchema },
    response: {
      status: 200,
      schema: changeListSchema,
      description: 'The changes',
    },
    run: async ({ query, ctx }, { reverts, authorizer }) => {
      const name = parseResourceRef(query.resource);
      const ref = stringifyResourceRef(name);
      const { last, items } = await reverts.history(
        { kind: 'Resource', ...name },
        query.limit,
      );
      if (!last) throw new NotFoundError(`${ref} not found`);
      await authorizer.authorizeResources(
        ctx.credentials,
        resourceReadPermission,
        [resourceFacts(last as ManifestOf<'Resource'>)],
      );
      return { body: { items } };
    },
  }),

  route({
    method: 'post',
    path: '/changes/{sha}/revert',
    operationId: 'revertChange',
    summary:
      'Roll back a change: a revert commit through the same validation, policy and audit as any change',
    description:
      'Reverting a create deletes, reverting a delete re-creates, reverting an update restores. 409 when a later change touched the same objects (named in the message), 404 when the state repository has no such change.',
    permissionNote:
      'Needs on each resource the change touched the permission of what the revert does to it: `control-plane.resource.create` (a deletion reverted), `.update` (an update reverted) or `.delete` (a creation reverted); products, tiers, quotas and policies `control-plane.policy.manage`; cells and clusters `control-plane.cluster.manage`; providers `control-plane.provider.manage`.',
    request: { params: changeParamsSchema },
    response: {
      status: 200,
      schema: changeRevertSchema,
      description: 'The revert',
    },
    command: {
      action: 'change.revert',
      target: ({ params }) => rawTarget('change', params.sha),
      idempotency: 'optional',
      reviewable: true,
    },
    check: async ({ params, ctx }, deps) => {
      const plan = await deps.reverts.plan(params.sha);
      await authorizeRevert(deps, ctx.credentials, plan);
      await deps.reverts.checkConflicts(plan);
      return plan;
    },
    run: async ({ ctx }, { reverts }, plan) => {
      const result = await reverts.revert(plan, ctx);
      return {
        body: {
          reverted: plan.change.sha,
          ...(result.commit ? { commit: result.commit } : {}),
          objects: plan.objects.map(o => ({
            kind: o.key.kind,
            ref: objectRef(o.key),
            // what the revert does: the change's action, the other way round
            action: actionOn({ before: o.after, after: o.before }),
          })),
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/changes/{sha}/revert/proposal',
    operationId: 'proposeRevert',
    summary:
      'Propose the revert of a change for review: a branch and a pull request, as for changes that need approval',
    description:
      'The same revert as `POST /changes/{sha}/revert` (409 naming later changes, 404 for an unknown change), written on a branch and opened as a pull request with its plan; answers 202 with the change id to follow (`GET /changes/proposals/{id}`). 409 when no change proposer is installed.',
    permissionNote:
      'As `POST /changes/{sha}/revert`: the permission of what the revert does to each object it touches.',
    request: { params: changeParamsSchema },
    response: {
      status: 202,
      schema: changeProposalSchema,
      description: 'The proposal, awaiting approval',
    },
    command: {
      action: 'change.propose',
      target: ({ params }) => rawTarget('change', params.sha),
      idempotency: 'optional',
    },
    check: async ({ params, ctx }, deps) => {
      const plan = await deps.reverts.plan(params.sha);
      await authorizeRevert(deps, ctx.credentials, plan);
      await deps.reverts.checkConflicts(plan);
      return plan;
    },
    run: async ({ ctx }, { reverts, proposals }, plan) => {
      const proposal = await proposals.proposeChange(
        reverts.asProposal(plan),
        ctx,
      );
      return {
        body: proposal,
        accepted: {
          target: `change:${proposal.id}`,
          reason: `revert of ${plan.change.sha.slice(
            0,
            12,
          )} proposed as pull request #${proposal.pullRequest?.number}`,
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/changes/proposals',
    operationId: 'proposeChange',
    summary:
      'Propose manifests for review: a branch and a pull request with the plan, instead of a commit to the main branch',
    description:
      "Validated, checked by policy and planned like `POST /manifests/apply`, then written as a commit on a branch of the state repository's remote and opened as a pull request (with a change proposer module, e.g. GitHub). Answers 202 with the change id and the pull request; follow it with `GET /changes/proposals/{id}`. 409 when no change proposer is installed.",
    permissionNote:
      'As `POST /manifests/apply`: the resource permissions on each resource the manifests create, change or prune; products, tiers, quotas and policies `control-plane.policy.manage`; cells and clusters `control-plane.cluster.manage`; providers `control-plane.provider.manage`.',
    request: { body: manifestsRequestSchema },
    response: {
      status: 202,
      schema: changeProposalSchema,
      description: 'The proposal, awaiting approval',
    },
    command: {
      action: 'change.propose',
      target: () => 'state-repo',
      idempotency: 'optional',
    },
    check: async ({ body, ctx }, deps) => {
      const parsed = deps.manifests.parse(body);
      const { view } = await authorizeManifests(deps, ctx.credentials, parsed);
      return { parsed, view };
    },
    run: async ({ ctx }, { proposals }, { parsed, view }) => {
      const proposal = await proposals.propose(parsed, ctx, view);
      return {
        body: proposal,
        accepted: {
          target: `change:${proposal.id}`,
          reason: `proposed as pull request #${proposal.pullRequest?.number} (${proposal.pullRequest?.url})`,
        },
      };
    },
  }),

  route({
    method: 'get',
    path: '/changes/proposals/{id}',
    operationId: 'getChangeProposal',
    summary:
      'A proposed change: Awaiting approval → Merged → Applied, or Closed (asks the pull request host)',
    permission: catalogReadPermission,
    permissionNote:
      'The one who proposed it, or a caller who may read every resource it touches; to anyone else it does not exist (404).',
    request: { params: changeProposalParamsSchema },
    response: {
      status: 200,
      schema: changeProposalSchema,
      description: 'The proposal',
    },
    run: async ({ params, ctx }, { proposals, authorizer }) => {
      const proposal = await proposals.get(params.id);
      if (proposal.actor !== ctx.actor) {
        const view = await authorizer.view(ctx.credentials);
        const hidden = proposal.objects.some(
          o =>
            o.kind === 'Resource' &&
            o.owner !== undefined &&
            !view.canRead({
              ref: o.ref,
              owner: o.owner,
              cell: o.cell ?? '',
              tier: o.tier ?? '',
            }),
        );
        if (hidden) throw new NotFoundError(`No change proposal ${params.id}`);
      }
      return { body: await proposals.refresh(params.id) };
    },
  }),
];
