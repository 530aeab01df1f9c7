import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  deploymentActionRequestSchema,
  deploymentActions,
  deploymentListSchema,
  deploymentSchema,
  resourceOperatePermission,
  resourceReadPermission,
  resourceSchema,
  resourceUpdatePermission,
  resourceVersionKey,
  rollbackRequestSchema,
  versionListSchema,
  versionQuerySchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { factsOf } from '../../permissions/ResourceAuthorizer';
import { rawTarget, routes } from '../route';
import {
  ApiServices,
  authorizedResource,
  refOf,
  publicResource,
  ResourcePermissionOf,
  resourcePath,
} from './shared';

type Deps = Pick<
  ApiServices,
  | 'resourceService'
  | 'deployments'
  | 'deploymentService'
  | 'authorizer'
  | 'resources'
  | 'groupsOf'
>;

const route = routes<Deps>();
const deploymentPath = z.object({ id: z.string().uuid() });

/**
 * The deployment `id`, when the caller holds `permission` on its resource; one of a resource
 * the caller cannot read does not exist for it (404).
 */
async function authorizedDeployment(
  deps: Deps,
  credentials: BackstageCredentials,
  permission: ResourcePermissionOf,
  id: string,
) {
  const deployment = await deps.deployments.get(id);
  const resource = await deps.resources.getByUid(deployment.resourceUid);
  const view = await deps.authorizer.view(credentials);
  if (!resource || !view.canRead(resource)) {
    throw new NotFoundError(`no deployment ${id}`);
  }
  await deps.authorizer.authorizeResources(credentials, permission, [
    factsOf(resource),
  ]);
  return deployment;
}

const actionRoutes = deploymentActions.map(action =>
  route({
    method: 'post',
    path: `/deployments/{id}/${action}`,
    operationId: `${action}Deployment`,
    summary: {
      promote:
        'Promote: end the pause in progress (full: skip every step left)',
      pause: 'Pause a deployment at its next step',
      resume: 'Resume a paused deployment',
      abort: 'Abort a deployment: roll back to the stable version',
      approve:
        'Approve the approval step in progress (as a member of its group)',
    }[action],
    permission: resourceOperatePermission,
    ...(action === 'approve'
      ? {
          permissionNote:
            'the caller must also be a member of the group the approval step names',
        }
      : {}),
    request: {
      params: deploymentPath,
      body: deploymentActionRequestSchema,
      bodyOptional: true,
    },
    response: {
      status: 202,
      schema: deploymentSchema,
      description: 'The deployment',
    },
    command: {
      action: `deployment.${action}`,
      target: ({ params }) => rawTarget('deployment', params.id),
      idempotency: 'optional',
    },
    check: async ({ params, ctx, audit }, deps) => {
      const deployment = await authorizedDeployment(
        deps,
        ctx.credentials,
        resourceOperatePermission,
        params.id,
      );
      audit.target = deployment.resourceRef;
      return deployment;
    },
    run: async ({ body, ctx }, deps, deployment) => {
      const groups =
        action === 'approve' ? await deps.groupsOf(ctx.credentials) : [];
      const updated = await deps.deploymentService.act(
        deployment,
        action,
        { actor: ctx.actor, groups },
        { full: body.full, reason: body.reason },
      );
      // the action is audited by the service, with the deployment's id
      return { body: await deps.deploymentService.view(updated, false) };
    },
  }),
);

export const deploymentRoutes = [
  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/deployments',
    operationId: 'listDeployments',
    summary: "A resource's deployments, newest first (without samples)",
    permission: resourceReadPermission,
    request: { params: resourcePath },
    response: {
      status: 200,
      schema: deploymentListSchema,
      description: 'Its deployments',
    },
    run: async ({ params, ctx }, deps) => {
      const resource = await authorizedResource(
        deps,
        ctx.credentials,
        refOf(params),
        resourceReadPermission,
      );
      const found = await deps.deployments.forResource(resource.uid);
      return {
        body: {
          items: await Promise.all(
            found.map(d => deps.deploymentService.view(d, false)),
          ),
        },
      };
    },
  }),
  route({
    method: 'get',
    path: '/deployments/{id}',
    operationId: 'getDeployment',
    summary:
      'A deployment: its steps, weights, analysis measurements with samples',
    permission: resourceReadPermission,
    request: { params: deploymentPath },
    response: {
      status: 200,
      schema: deploymentSchema,
      description: 'The deployment',
    },
    run: async ({ params, ctx }, deps) => ({
      body: await deps.deploymentService.view(
        await authorizedDeployment(
          deps,
          ctx.credentials,
          resourceReadPermission,
          params.id,
        ),
      ),
    }),
  }),
  ...actionRoutes,
  route({
    method: 'post',
    path: '/resources/{namespace}/{name}/rollback',
    operationId: 'rollbackResource',
    summary:
      'Roll back to an earlier version that succeeded: a change of the version, deployed like any other',
    permission: resourceUpdatePermission,
    request: {
      params: resourcePath,
      body: rollbackRequestSchema,
      bodyOptional: true,
    },
    response: {
      status: 200,
      schema: resourceSchema,
      description: 'The resource, with the earlier version desired',
    },
    command: {
      action: 'resource.rollback',
      target: ({ params }) =>
        rawTarget('resource', params.namespace, params.name),
      parsed: ({ params }) => ({ target: refOf(params) }),
      idempotency: 'optional',
      reviewable: true,
    },
    check: async ({ params, body, ctx }, deps) => {
      const ref = refOf(params);
      const resource = await authorizedResource(
        deps,
        ctx.credentials,
        ref,
        resourceUpdatePermission,
      );
      const running = resource.status.version;
      const history = await deps.deployments.forResource(resource.uid, 500);
      // the versions that ran as the stable one: each succeeded deployment's both ends
      const succeeded = history.filter(d => d.phase === 'Succeeded');
      const earlier = new Set(
        succeeded.flatMap(d => [d.plan.fromVersion, d.plan.toVersion]),
      );
      const previous = succeeded.find(d => d.plan.toVersion === running)?.plan
        .fromVersion;
      const to = body.toVersion ?? previous;
      if (!to) {
        throw new ConflictError(
          `${ref} has no earlier version that succeeded to roll back to`,
        );
      }
      if (to === running) {
        throw new ConflictError(`${ref} already runs ${to}`);
      }
      if (!earlier.has(to)) {
        throw new ConflictError(
          `toVersion: ${to} never ran as ${ref}'s stable version (it ran ${
            [...earlier].join(', ') || 'none deployed'
          })`,
        );
      }
      const key = resourceVersionKey(resource.spec.params);
      const patch = { params: { [key]: to } };
      const { next, basis } = await deps.resourceService.planUpdate(ref, patch);
      await deps.resourceService.check(
        ref,
        [next],
        await deps.authorizer.view(ctx.credentials),
      );
      return { patch, basis };
    },
    run: async ({ params, ctx }, { resourceService }, { patch, basis }) => ({
      body: publicResource(
        await resourceService.update(refOf(params), patch, ctx, basis),
      ),
    }),
  }),
  route({
    method: 'get',
    path: '/versions',
    operationId: 'listVersions',
    summary:
      'Which version runs where: by product, component, cell and provider, with the deployments in progress',
    permission: resourceReadPermission,
    request: { query: versionQuerySchema },
    response: {
      status: 200,
      schema: versionListSchema,
      description:
        'The live resources the caller may read, with their versions',
    },
    run: async ({ query, ctx }, deps) => {
      const view = await deps.authorizer.view(ctx.credentials);
      const { items } = await deps.resources.list(
        {
          namespace: query.namespace,
          component: query.component,
          product: query.product,
        },
        { limit: 5000 },
      );
      const live = items.filter(
        r =>
          view.canRead(r) &&
          (!query.cell ||
            (r.status.placement?.cell ?? r.spec.cell) === query.cell) &&
          (!query.provider || r.status.placement?.provider === query.provider),
      );
      return {
        body: { items: await deps.deploymentService.versions(live) },
      };
    },
  }),
];
