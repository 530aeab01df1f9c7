import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  createOperationRequestSchema,
  operationSchema,
  resourceOperatePermission,
  resourceReadPermission,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { factsOf } from '../../permissions/ResourceAuthorizer';
import { rawTarget, routes } from '../route';
import {
  ApiServices,
  authorizedResource,
  refOf,
  ResourcePermissionOf,
  resourcePath,
} from './shared';

type Deps = Pick<
  ApiServices,
  'resourceService' | 'operations' | 'authorizer' | 'background'
>;

const route = routes<Deps>();
const operationPath = z.object({ id: z.string().uuid() });

/**
 * The operation `id`, when the caller holds `permission` on the resource it acts on. An
 * operation on a resource the caller cannot read does not exist for it (404, as a missing
 * one); when the resource's row is gone, only an unconditional decision allows it.
 */
async function authorizedOperation(
  deps: Deps,
  credentials: BackstageCredentials,
  permission: ResourcePermissionOf,
  id: string,
) {
  const operation = await deps.operations.get(id);
  const resource = await deps.resourceService.resourceOfOperation(id);
  const view = await deps.authorizer.view(credentials);
  if (resource ? !view.canRead(resource) : !view.all) {
    throw new NotFoundError(`No operation ${id}`);
  }
  if (resource) {
    await deps.authorizer.authorizeResources(credentials, permission, [
      factsOf(resource),
    ]);
  } else {
    await deps.authorizer.authorizeWithoutFacts(
      credentials,
      permission,
      operation.resourceRef,
    );
  }
  return operation;
}

/** Cancel or retry an operation. */
function operationCommand(spec: {
  verb: 'cancel' | 'retry';
  operationId: string;
  summary: string;
  act: (deps: Deps, id: string, actor: string) => Promise<void>;
}) {
  return route({
    method: 'post',
    path: `/operations/{id}/${spec.verb}`,
    operationId: spec.operationId,
    summary: spec.summary,
    permission: resourceOperatePermission,
    request: { params: operationPath },
    response: {
      status: 202,
      schema: operationSchema,
      description: 'The operation',
    },
    command: {
      action: `operation.${spec.verb}`,
      target: ({ params }) => rawTarget('operation', params.id),
      idempotency: 'optional',
    },
    check: async ({ params, ctx, audit }, deps) => {
      const operation = await authorizedOperation(
        deps,
        ctx.credentials,
        resourceOperatePermission,
        params.id,
      );
      audit.target = operation.resourceRef;
      return operation;
    },
    run: async ({ params, ctx }, deps, operation) => {
      await spec.act(deps, params.id, ctx.actor);
      deps.background.wakeEngine();
      return {
        body: await deps.operations.get(params.id),
        accepted: {
          reason: `operation ${params.id}`,
          target: operation.resourceRef,
        },
      };
    },
  });
}

export const operationRoutes = [
  route({
    method: 'post',
    path: '/resources/{namespace}/{name}/operations',
    operationId: 'createOperation',
    summary: 'Run an operation of the unified contract',
    permission: resourceOperatePermission,
    request: { params: resourcePath, body: createOperationRequestSchema },
    response: { status: 202, schema: operationSchema, description: 'Accepted' },
    command: {
      action: 'resource.operation',
      target: ({ params }) =>
        rawTarget('resource', params.namespace, params.name),
      parsed: ({ params, body }) => ({
        action: `resource.${body.type}`,
        target: refOf(params),
      }),
      idempotency: 'generated',
      reviewable: true,
    },
    check: async ({ params, body, ctx }, deps) => {
      const ref = refOf(params);
      await authorizedResource(
        deps,
        ctx.credentials,
        ref,
        resourceOperatePermission,
      );
      await deps.resourceService.checkOperation(ref, body);
    },
    run: async ({ params, body, ctx }, { resourceService, operations }) => {
      const started = await resourceService.operate(refOf(params), body, ctx);
      return {
        body: await operations.get(started.operationId),
        accepted: {
          reason: `operation ${started.operationId}`,
          beforeDigest: started.beforeDigest,
          afterDigest: started.afterDigest,
        },
      };
    },
  }),

  route({
    method: 'get',
    path: '/operations/{id}',
    operationId: 'getOperation',
    summary: 'An operation and its timeline',
    permission: resourceReadPermission,
    request: { params: operationPath },
    response: {
      status: 200,
      schema: operationSchema,
      description: 'The operation',
    },
    run: async ({ params, ctx }, deps) => ({
      body: await authorizedOperation(
        deps,
        ctx.credentials,
        resourceReadPermission,
        params.id,
      ),
    }),
  }),

  operationCommand({
    verb: 'cancel',
    operationId: 'cancelOperation',
    summary: 'Stop an operation in flight and undo what it did',
    act: (deps, id, actor) => deps.operations.requestCancel(id, actor),
  }),
  operationCommand({
    verb: 'retry',
    operationId: 'retryOperation',
    summary: 'Resume the compensation of an operation that needs attention',
    act: (deps, id, actor) => deps.operations.retryParked(id, actor),
  }),
];
