import {
  blockersResponseSchema,
  costReadPermission,
  createResourceRequestSchema,
  deleteResourceResponseSchema,
  listResourcesQuerySchema,
  normalizeEntityRef,
  operationListSchema,
  placementDecisionSchema,
  resourceCostSchema,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceEventPageSchema,
  resourceEventSchema,
  resourceEventsQuerySchema,
  resourceHistorySchema,
  resourcePageSchema,
  resourceReadPermission,
  resourceSchema,
  resourceStatusResponseSchema,
  resourceUpdatePermission,
  resourceOperatePermission,
  stringifyResourceRef,
  updateResourceRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { z } from 'zod';
import { streamResourceEvents } from '../../events/sse';
import { factsOf } from '../../permissions/ResourceAuthorizer';
import { rawTarget, routes } from '../route';
import {
  ApiServices,
  authorizedResource,
  publicResource,
  refOf,
  resourcePath,
} from './shared';

type Deps = Pick<
  ApiServices,
  | 'delivery'
  | 'resourceService'
  | 'resources'
  | 'operations'
  | 'events'
  | 'cost'
  | 'authorizer'
  | 'background'
  | 'eventStream'
>;

const route = routes<Deps>();

/** A resource with what the GitOps tool delivering its cluster reports (when one does). */
async function delivered<
  R extends Awaited<ReturnType<Deps['resourceService']['getLive']>>,
>(resource: R, delivery: Deps['delivery']): Promise<R> {
  const status = await delivery.statusOf(resource);
  return status
    ? { ...resource, status: { ...resource.status, delivery: status } }
    : resource;
}

/** The audit target of a request on a resource, before its name is validated. */
const resourceTarget = ({ params }: { params: Record<string, string> }) =>
  rawTarget('resource', params.namespace, params.name);

/** A read of one resource the caller may read, answered with `answer(resource)`. */
function resourceRead<S extends z.ZodType>(spec: {
  suffix: string;
  operationId: string;
  summary: string;
  schema: S;
  answer: (
    resource: Awaited<ReturnType<Deps['resourceService']['getLive']>>,
    deps: Deps,
    credentials: BackstageCredentials,
  ) => Promise<unknown> | unknown;
}) {
  return route({
    method: 'get',
    path: `/resources/{namespace}/{name}${spec.suffix}`,
    operationId: spec.operationId,
    summary: spec.summary,
    permission: resourceReadPermission,
    request: { params: resourcePath },
    response: { status: 200, schema: spec.schema, description: spec.summary },
    run: async ({ params, ctx }, deps) => {
      const resource = await authorizedResource(
        deps,
        ctx.credentials,
        refOf(params),
        resourceReadPermission,
      );
      return { body: await spec.answer(resource, deps, ctx.credentials) };
    },
  });
}

export const resourceRoutes = [
  route({
    method: 'get',
    path: '/resources',
    operationId: 'listResources',
    summary: 'Resources the caller may read, filtered, a page at a time',
    permission: resourceReadPermission,
    request: { query: listResourcesQuerySchema },
    response: {
      status: 200,
      schema: resourcePageSchema,
      description: 'A page',
    },
    run: async ({ query, ctx }, { authorizer, resources }) => {
      const restrict = await authorizer.listRestriction(
        ctx.credentials,
        resourceReadPermission,
      );
      const page = await resources.list(
        {
          ...query,
          ...(query.owner ? { owner: normalizeEntityRef(query.owner) } : {}),
          ...(query.component
            ? { component: normalizeEntityRef(query.component) }
            : {}),
          restrict,
        },
        { limit: query.limit, cursor: query.cursor },
      );
      return { body: { ...page, items: page.items.map(publicResource) } };
    },
  }),

  route({
    method: 'post',
    path: '/resources',
    operationId: 'createResource',
    summary:
      'Ask for a resource: validated, then committed to the state repository',
    permission: resourceCreatePermission,
    request: { body: createResourceRequestSchema },
    response: {
      status: 201,
      schema: resourceSchema,
      description: 'Accepted; PENDING until the control plane provisions it',
    },
    command: {
      action: 'resource.create',
      target: ({ body }) =>
        rawTarget(
          'resource',
          body?.namespace ?? 'default',
          String(body?.name ?? ''),
        ),
      parsed: ({ body }) => ({
        target: stringifyResourceRef({
          namespace: body.namespace ?? 'default',
          name: body.name,
        }),
      }),
      idempotency: 'generated',
      reviewable: true,
    },
    check: async ({ body, ctx }, { resourceService, authorizer }) => {
      const manifest = resourceService.manifestForCreate(body);
      const ref = stringifyResourceRef(manifest.metadata);
      await authorizer.authorizeResources(
        ctx.credentials,
        resourceCreatePermission,
        [],
        [factsOf({ ref, spec: manifest.spec })],
      );
      await resourceService.check(
        ref,
        [manifest],
        await authorizer.view(ctx.credentials),
      );
      return manifest;
    },
    run: async ({ ctx }, { resourceService }, manifest) => ({
      body: publicResource(await resourceService.create(manifest, ctx)),
    }),
  }),

  resourceRead({
    suffix: '',
    operationId: 'getResource',
    summary: 'A resource: its desired spec and observed status',
    schema: resourceSchema,
    answer: async (r, { delivery }) =>
      publicResource(await delivered(r, delivery)),
  }),
  resourceRead({
    suffix: '/status',
    operationId: 'getResourceStatus',
    summary: 'Observed state',
    schema: resourceStatusResponseSchema,
    answer: async (r, { delivery }) => {
      const { status } = await delivered(r, delivery);
      return { ref: r.ref, ...status };
    },
  }),
  resourceRead({
    suffix: '/history',
    operationId: 'getResourceHistory',
    summary: 'Every state transition, oldest first',
    schema: resourceHistorySchema,
    answer: async (r, { resources }) => ({
      ref: r.ref,
      transitions: await resources.history(r.uid),
    }),
  }),
  resourceRead({
    suffix: '/placement',
    operationId: 'getResourcePlacement',
    summary:
      'The latest placement decision: every candidate, why rejected, scores',
    schema: placementDecisionSchema,
    answer: (r, { cost }) => cost.placement(r),
  }),
  resourceRead({
    suffix: '/blockers',
    operationId: 'getResourceBlockers',
    summary: 'What the resource waits for',
    schema: blockersResponseSchema,
    answer: async (r, { resourceService, authorizer }, credentials) =>
      resourceService.blockers(r.ref, await authorizer.view(credentials)),
  }),
  resourceRead({
    suffix: '/operations',
    operationId: 'listResourceOperations',
    summary: 'Operations on the resource, newest first',
    schema: operationListSchema,
    answer: async (r, { operations }) => ({
      items: await operations.listForResource(r.uid),
    }),
  }),

  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/cost',
    operationId: 'getResourceCost',
    summary: 'Monthly estimate, cost this month, and the tightest budget',
    permission: costReadPermission,
    request: { params: resourcePath },
    response: {
      status: 200,
      schema: resourceCostSchema,
      description: 'The cost',
    },
    run: async ({ params, ctx }, deps) => {
      const resource = await authorizedResource(
        deps,
        ctx.credentials,
        refOf(params),
        costReadPermission,
      );
      return {
        body: await deps.cost.resourceCost(
          await deps.resourceService.current(),
          resource,
        ),
      };
    },
  }),

  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/events',
    operationId: 'streamResourceEvents',
    summary:
      'The events of the resource: a server-sent event stream that resumes after Last-Event-ID, or with Accept: application/json a page of the events so far',
    permission: resourceReadPermission,
    request: {
      params: resourcePath,
      query: resourceEventsQuerySchema,
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    response: {
      status: 200,
      schema: resourceEventPageSchema,
      description:
        'text/event-stream: each event has an id, an event (its type) and data (ResourceEvent JSON), and the stream goes on; application/json: the events after `after`, oldest first',
      content: {
        'text/event-stream': resourceEventSchema,
        'application/json': resourceEventPageSchema,
      },
    },
    run: async ({ params, query, ctx, req, res }, deps) => {
      const resource = await authorizedResource(
        deps,
        ctx.credentials,
        refOf(params),
        resourceReadPermission,
      );
      if (
        req.accepts(['text/event-stream', 'application/json']) ===
        'application/json'
      ) {
        const items = await deps.events.since(
          resource.ref,
          query.after,
          query.limit,
        );
        return {
          body: {
            items,
            lastId: items.length ? items[items.length - 1].id : query.after,
          },
        };
      }
      await streamResourceEvents(
        req,
        res,
        deps.events,
        resource.ref,
        deps.eventStream,
      );
      return undefined;
    },
  }),

  route({
    method: 'patch',
    path: '/resources/{namespace}/{name}',
    operationId: 'updateResource',
    summary: "Change a resource's desired spec",
    permission: resourceUpdatePermission,
    permissionNote:
      'Checked on the resource as it is and as it would become (e.g. a new owner).',
    request: { params: resourcePath, body: updateResourceRequestSchema },
    response: {
      status: 200,
      schema: resourceSchema,
      description: 'The resource',
    },
    command: {
      action: 'resource.update',
      target: resourceTarget,
      parsed: ({ params }) => ({ target: refOf(params) }),
      idempotency: 'optional',
      reviewable: true,
    },
    check: async ({ params, body, ctx }, deps) => {
      const ref = refOf(params);
      const current = await deps.resourceService.getLive(ref);
      const { next, basis } = await deps.resourceService.planUpdate(ref, body);
      await deps.authorizer.authorizeResources(
        ctx.credentials,
        resourceUpdatePermission,
        [factsOf(current)],
        [factsOf({ ref, spec: next.spec })],
      );
      await deps.resourceService.check(
        ref,
        [next],
        await deps.authorizer.view(ctx.credentials),
      );
      return basis;
    },
    run: async ({ params, body, ctx }, { resourceService }, basis) => ({
      body: publicResource(
        await resourceService.update(refOf(params), body, ctx, basis),
      ),
    }),
  }),

  route({
    method: 'delete',
    path: '/resources/{namespace}/{name}',
    operationId: 'deleteResource',
    summary: 'Delete a resource; with cascade=true its dependents first',
    permission: resourceDeletePermission,
    permissionNote: 'With cascade, checked on every dependent deleted too.',
    request: {
      params: resourcePath,
      query: z.object({ cascade: z.enum(['true', 'false']).optional() }),
    },
    response: {
      status: 202,
      schema: deleteResourceResponseSchema,
      description: 'Deletion accepted',
    },
    command: {
      action: 'resource.delete',
      target: resourceTarget,
      parsed: ({ params }) => ({ target: refOf(params) }),
      idempotency: 'optional',
      reviewable: true,
    },
    check: async ({ params, query, ctx }, deps) => {
      const ref = refOf(params);
      const view = await deps.authorizer.view(ctx.credentials);
      const plan = await deps.resourceService.deletionPlan(
        ref,
        query.cascade === 'true',
        view,
      );
      await deps.authorizer.authorizeResources(
        ctx.credentials,
        resourceDeletePermission,
        plan.map(factsOf),
      );
      return { planned: plan.map(p => p.ref), view };
    },
    run: async (
      { params, query, ctx },
      { resourceService },
      { planned, view },
    ) => ({
      body: await resourceService.delete(
        refOf(params),
        query.cascade === 'true',
        ctx,
        planned,
        view,
      ),
    }),
  }),

  route({
    method: 'post',
    path: '/resources/{namespace}/{name}/retry',
    operationId: 'retryResource',
    summary: 'Try a failed generation again',
    permission: resourceOperatePermission,
    request: { params: resourcePath },
    response: {
      status: 202,
      schema: resourceSchema,
      description: 'The resource',
    },
    command: {
      action: 'resource.retry',
      target: resourceTarget,
      parsed: ({ params }) => ({ target: refOf(params) }),
      idempotency: 'optional',
    },
    check: async ({ params, ctx }, deps) =>
      authorizedResource(
        deps,
        ctx.credentials,
        refOf(params),
        resourceOperatePermission,
      ),
    run: async ({ ctx }, { resourceService, background }, resource) => {
      await resourceService.retry(resource, ctx);
      background.reconcile();
      return {
        body: publicResource(await resourceService.getLive(resource.ref)),
      };
    },
  }),
];
