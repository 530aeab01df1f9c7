import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import {
  auditPageSchema,
  auditVerificationSchema,
  blockersResponseSchema,
  chargebackQuerySchema,
  chargebackSchema,
  costEstimateRequestSchema,
  costEstimateSchema,
  createExperimentRequestSchema,
  experimentListSchema,
  experimentSchema,
  featureFlagListSchema,
  featureFlagSchema,
  featureFlagScopeSchema,
  setFeatureFlagRequestSchema,
  placementDecisionSchema,
  policyListSchema,
  quotaUsageListSchema,
  resourceCostSchema,
  cellListSchema,
  clusterListSchema,
  createOperationRequestSchema,
  createResourceRequestSchema,
  deleteResourceResponseSchema,
  errorResponseSchema,
  gitopsStatusSchema,
  gitopsSyncResponseSchema,
  healthResponseSchema,
  listAuditQuerySchema,
  listResourcesQuerySchema,
  manifestsRequestSchema,
  nameSchema,
  namespaceSchema,
  operationListSchema,
  operationSchema,
  planSchema,
  productListSchema,
  productSchema,
  providerListSchema,
  quotaListSchema,
  reconcilerRunRequestSchema,
  reconcilerRunResponseSchema,
  resourceEventPageSchema,
  resourceEventSchema,
  resourceEventsQuerySchema,
  resourceHistorySchema,
  resourcePageSchema,
  resourceSchema,
  resourceStatusResponseSchema,
  tierListSchema,
  updateResourceRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const errors = {
  400: json(
    errorResponseSchema,
    'A bad request; `error.issues` names each field',
  ),
  401: json(errorResponseSchema, 'No or invalid credentials'),
  403: json(errorResponseSchema, 'Not allowed by the permission policy'),
  404: json(errorResponseSchema, 'No such object'),
  409: json(
    errorResponseSchema,
    'Conflicts with the current state, or a request with this Idempotency-Key is in flight',
  ),
  422: json(
    errorResponseSchema,
    'This Idempotency-Key was used for a different request, or a quota or budget would be exceeded (`error.name` QuotaExceededError)',
  ),
};

const resourcePath = z.object({ namespace: namespaceSchema, name: nameSchema });
const idempotencyHeader = z.object({
  'idempotency-key': z.string().optional().meta({
    description:
      'Replays the first response of a request with the same key and body',
  }),
  'x-request-id': z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/)
    .optional()
    .meta({
      description:
        'Identifies the request in the audit log and the commit it makes (1 to 64 printable ASCII characters; generated when left out, answered in the same header)',
    }),
});

/**
 * The OpenAPI 3.1 document of the control plane API, generated from the zod schemas the
 * router validates with (plugins/control-plane-common).
 */
export function createOpenApiDocument(): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
  });
  const route = (
    config: Omit<RouteConfig, 'responses'> & {
      responses: RouteConfig['responses'];
    },
  ) => registry.registerPath({ security: [{ bearer: [] }], ...config });

  registry.registerPath({
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    summary:
      'Whether the control plane is up, its database client and migrations',
    responses: { 200: json(healthResponseSchema, 'Health') },
  });

  for (const [path, schema, operationId, summary] of [
    [
      '/products',
      productListSchema,
      'listProducts',
      'Products, their parameters, tiers and operations',
    ],
    [
      '/tiers',
      tierListSchema,
      'listTiers',
      'Tiers: placement gates, SLA, required features',
    ],
    ['/cells', cellListSchema, 'listCells', 'Cells'],
    ['/providers', providerListSchema, 'listProviders', 'Providers'],
    ['/clusters', clusterListSchema, 'listClusters', 'Clusters'],
    ['/quotas', quotaListSchema, 'listQuotas', 'Quotas'],
    [
      '/quotas/usage',
      quotaUsageListSchema,
      'listQuotaUsage',
      'Quotas with what their scope uses now',
    ],
    [
      '/policies',
      policyListSchema,
      'listPolicies',
      'Policies of the state repository',
    ],
  ] as const) {
    route({
      method: 'get',
      path,
      operationId,
      summary,
      responses: {
        200: json(schema, summary),
        401: errors[401],
        403: errors[403],
      },
    });
  }
  route({
    method: 'get',
    path: '/products/{id}',
    operationId: 'getProduct',
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: json(productSchema, 'The product'),
      403: errors[403],
      404: errors[404],
    },
  });

  route({
    method: 'get',
    path: '/resources',
    operationId: 'listResources',
    summary: 'Resources the caller may read, filtered, a page at a time',
    request: {
      query: listResourcesQuerySchema.extend({
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(500)
          .optional()
          .meta({ type: 'integer' }),
      }),
    },
    responses: { 200: json(resourcePageSchema, 'A page'), 400: errors[400] },
  });
  route({
    method: 'post',
    path: '/resources',
    operationId: 'createResource',
    summary:
      'Ask for a resource: validated, then committed to the state repository',
    request: {
      headers: idempotencyHeader,
      body: {
        content: {
          'application/json': { schema: createResourceRequestSchema },
        },
      },
    },
    responses: {
      201: json(
        resourceSchema,
        'Accepted; PENDING until the control plane provisions it',
      ),
      ...errors,
    },
  });
  route({
    method: 'get',
    path: '/resources/{namespace}/{name}',
    operationId: 'getResource',
    request: { params: resourcePath },
    responses: {
      200: json(resourceSchema, 'The resource'),
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'patch',
    path: '/resources/{namespace}/{name}',
    operationId: 'updateResource',
    summary: "Change a resource's desired spec",
    request: {
      params: resourcePath,
      headers: idempotencyHeader,
      body: {
        content: {
          'application/json': { schema: updateResourceRequestSchema },
        },
      },
    },
    responses: { 200: json(resourceSchema, 'The resource'), ...errors },
  });
  route({
    method: 'delete',
    path: '/resources/{namespace}/{name}',
    operationId: 'deleteResource',
    summary: 'Delete a resource; with cascade=true its dependents first',
    request: {
      params: resourcePath,
      headers: idempotencyHeader,
      query: z.object({ cascade: z.enum(['true', 'false']).optional() }),
    },
    responses: {
      202: json(deleteResourceResponseSchema, 'Deletion accepted'),
      ...errors,
    },
  });
  for (const [suffix, schema, operationId, summary] of [
    [
      'status',
      resourceStatusResponseSchema,
      'getResourceStatus',
      'Observed state',
    ],
    [
      'history',
      resourceHistorySchema,
      'getResourceHistory',
      'Every state transition, oldest first',
    ],
    [
      'blockers',
      blockersResponseSchema,
      'getResourceBlockers',
      'What the resource waits for',
    ],
    [
      'operations',
      operationListSchema,
      'listResourceOperations',
      'Operations on the resource, newest first',
    ],
  ] as const) {
    route({
      method: 'get',
      path: `/resources/{namespace}/{name}/${suffix}`,
      operationId,
      summary,
      request: { params: resourcePath },
      responses: {
        200: json(schema, summary),
        403: errors[403],
        404: errors[404],
      },
    });
  }
  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/events',
    operationId: 'streamResourceEvents',
    summary:
      'The events of the resource: a server-sent event stream that resumes after Last-Event-ID, or with Accept: application/json a page of the events so far',
    request: {
      params: resourcePath,
      query: resourceEventsQuerySchema,
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    responses: {
      200: {
        description:
          'text/event-stream: each event has an id, an event (its type) and data (ResourceEvent JSON), and the stream goes on; application/json: the events after `after`, oldest first',
        content: {
          'text/event-stream': { schema: resourceEventSchema },
          'application/json': { schema: resourceEventPageSchema },
        },
      },
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'post',
    path: '/resources/{namespace}/{name}/operations',
    operationId: 'createOperation',
    summary: 'Run an operation of the unified contract',
    request: {
      params: resourcePath,
      headers: idempotencyHeader,
      body: {
        content: {
          'application/json': { schema: createOperationRequestSchema },
        },
      },
    },
    responses: { 202: json(operationSchema, 'Accepted'), ...errors },
  });
  route({
    method: 'get',
    path: '/operations/{id}',
    operationId: 'getOperation',
    summary: 'An operation and its timeline',
    request: { params: z.object({ id: z.string().uuid() }) },
    responses: {
      200: json(operationSchema, 'The operation'),
      403: errors[403],
      404: errors[404],
    },
  });
  for (const [verb, operationId, summary] of [
    [
      'cancel',
      'cancelOperation',
      'Stop an operation in flight and undo what it did',
    ],
    [
      'retry',
      'retryOperation',
      'Resume the compensation of an operation that needs attention',
    ],
  ] as const) {
    route({
      method: 'post',
      path: `/operations/{id}/${verb}`,
      operationId,
      summary,
      request: {
        params: z.object({ id: z.string().uuid() }),
        headers: idempotencyHeader,
      },
      responses: { 202: json(operationSchema, 'The operation'), ...errors },
    });
  }
  route({
    method: 'post',
    path: '/resources/{namespace}/{name}/retry',
    operationId: 'retryResource',
    summary: 'Try a failed generation again',
    request: { params: resourcePath, headers: idempotencyHeader },
    responses: { 202: json(resourceSchema, 'The resource'), ...errors },
  });
  route({
    method: 'post',
    path: '/reconciler/run',
    operationId: 'runReconciler',
    summary:
      'Run a reconciler pass now (and, when asked, look for drift); needs control-plane.cluster.manage',
    request: {
      headers: idempotencyHeader,
      body: {
        required: false,
        content: {
          'application/json': { schema: reconcilerRunRequestSchema },
        },
      },
    },
    responses: {
      200: json(reconcilerRunResponseSchema, 'What the pass did'),
      ...errors,
    },
  });
  for (const [path, operationId, summary] of [
    [
      '/manifests/plan',
      'planManifests',
      'Validate manifests and show the diff; writes nothing',
    ],
    [
      '/manifests/apply',
      'applyManifests',
      'Validate manifests and apply them as one commit',
    ],
  ] as const) {
    route({
      method: 'post',
      path,
      operationId,
      summary,
      request: {
        headers: idempotencyHeader,
        body: {
          content: { 'application/json': { schema: manifestsRequestSchema } },
        },
      },
      responses: { 200: json(planSchema, 'The plan'), ...errors },
    });
  }
  route({
    method: 'get',
    path: '/audit',
    operationId: 'listAuditEvents',
    summary: 'The audit log, newest first',
    request: {
      query: listAuditQuerySchema.extend({
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(500)
          .optional()
          .meta({ type: 'integer' }),
      }),
    },
    responses: {
      200: json(auditPageSchema, 'A page'),
      400: errors[400],
      403: errors[403],
    },
  });
  route({
    method: 'post',
    path: '/cost/estimate',
    operationId: 'estimateCost',
    summary: 'The monthly list price of a resource on each provider of a cell',
    request: {
      body: {
        content: { 'application/json': { schema: costEstimateRequestSchema } },
      },
    },
    responses: {
      200: json(costEstimateSchema, 'The estimate, cheapest first'),
      400: errors[400],
      401: errors[401],
      403: errors[403],
    },
  });
  route({
    method: 'get',
    path: '/cost/chargeback',
    operationId: 'getChargeback',
    summary:
      'Cost accrued over a window while resources were READY or DEGRADED, grouped; of the resources whose cost the caller may see (control-plane.cost.read)',
    request: { query: chargebackQuerySchema },
    responses: {
      200: json(chargebackSchema, 'The report'),
      400: errors[400],
      401: errors[401],
    },
  });
  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/placement',
    operationId: 'getResourcePlacement',
    summary:
      'The latest placement decision: every candidate, why rejected, scores',
    request: { params: resourcePath },
    responses: {
      200: json(placementDecisionSchema, 'The decision'),
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'get',
    path: '/resources/{namespace}/{name}/cost',
    operationId: 'getResourceCost',
    summary: 'Monthly estimate, cost this month, and the tightest budget',
    request: { params: resourcePath },
    responses: {
      200: json(resourceCostSchema, 'The cost'),
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'get',
    path: '/experiments',
    operationId: 'listExperiments',
    summary:
      'Placement experiments, newest first, with the outcomes of their arms',
    responses: {
      200: json(experimentListSchema, 'The experiments'),
      401: errors[401],
      403: errors[403],
    },
  });
  route({
    method: 'post',
    path: '/experiments',
    operationId: 'createExperiment',
    summary:
      'Start an experiment: shares of the placements in scope scored with other weights (control-plane.experiment.manage)',
    request: {
      headers: idempotencyHeader,
      body: {
        content: {
          'application/json': { schema: createExperimentRequestSchema },
        },
      },
    },
    responses: {
      201: json(experimentSchema, 'The experiment'),
      ...errors,
    },
  });
  route({
    method: 'get',
    path: '/experiments/{name}',
    operationId: 'getExperiment',
    summary:
      'An experiment with its outcomes per arm: placements, READY, failures, time to READY, cost',
    request: { params: z.object({ name: nameSchema }) },
    responses: {
      200: json(experimentSchema, 'The experiment'),
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'post',
    path: '/experiments/{name}/stop',
    operationId: 'stopExperiment',
    summary:
      "Stop an experiment: later placements keep their tier's weights (control-plane.experiment.manage)",
    request: {
      params: z.object({ name: nameSchema }),
      headers: idempotencyHeader,
    },
    responses: {
      200: json(experimentSchema, 'The stopped experiment'),
      ...errors,
    },
  });
  route({
    method: 'get',
    path: '/flags',
    operationId: 'listFeatureFlags',
    summary: 'Feature flags of platform behaviour, with their value per scope',
    responses: {
      200: json(featureFlagListSchema, 'The flags'),
      401: errors[401],
      403: errors[403],
    },
  });
  const flagPath = z.object({ name: z.string() });
  route({
    method: 'get',
    path: '/flags/{name}',
    operationId: 'getFeatureFlag',
    summary: 'A feature flag with its value per scope',
    request: { params: flagPath },
    responses: {
      200: json(featureFlagSchema, 'The flag'),
      403: errors[403],
      404: errors[404],
    },
  });
  route({
    method: 'put',
    path: '/flags/{name}',
    operationId: 'setFeatureFlag',
    summary:
      'Set a flag in a scope (everywhere, a cell, a tier, or both); takes effect without a restart (control-plane.experiment.manage)',
    request: {
      params: flagPath,
      headers: idempotencyHeader,
      body: {
        content: {
          'application/json': { schema: setFeatureFlagRequestSchema },
        },
      },
    },
    responses: { 200: json(featureFlagSchema, 'The flag'), ...errors },
  });
  route({
    method: 'delete',
    path: '/flags/{name}',
    operationId: 'unsetFeatureFlag',
    summary:
      "Remove a flag's value in a scope: the next more general one applies (control-plane.experiment.manage)",
    request: {
      params: flagPath,
      query: featureFlagScopeSchema,
      headers: idempotencyHeader,
    },
    responses: { 200: json(featureFlagSchema, 'The flag'), ...errors },
  });
  route({
    method: 'get',
    path: '/audit/verify',
    operationId: 'verifyAuditChain',
    summary: 'Walk the hash chain and name the first broken event',
    responses: {
      200: json(auditVerificationSchema, 'The verdict'),
      403: errors[403],
    },
  });
  route({
    method: 'get',
    path: '/gitops/status',
    operationId: 'getGitopsStatus',
    summary: 'The state repository head, the indexed commit, and refused heads',
    responses: {
      200: json(gitopsStatusSchema, 'Status'),
      403: errors[403],
    },
  });
  route({
    method: 'post',
    path: '/gitops/sync',
    operationId: 'syncGitops',
    summary: 'Index the state repository head now',
    request: { headers: idempotencyHeader },
    responses: {
      200: json(gitopsSyncResponseSchema, 'The sync'),
      ...errors,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    responses: {
      200: {
        description: 'The OpenAPI document',
        content: {
          'application/json': { schema: z.record(z.string(), z.unknown()) },
        },
      },
    },
  });

  const document = new OpenApiGeneratorV31(
    registry.definitions,
  ).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'IDP Multicloud control plane',
      version: '1',
      description:
        "The API of the control plane backend plugin, under /api/control-plane. Every error answers with Backstage's error body. Generated from the zod schemas in @idp-multicloud/plugin-control-plane-common.",
    },
    servers: [{ url: '/api/control-plane' }],
  });
  return document as unknown as Record<string, unknown>;
}
