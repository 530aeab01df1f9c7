import { z } from 'zod';
import {
  componentRefSchema,
  nameSchema,
  namespaceSchema,
  ownerRefSchema,
  resourceRefSchema,
} from '../model/names';
import { operationStates, operationTypeSchema } from '../model/operations';
import { resourceStates } from '../model/resourceState';
import {
  labelsSchema,
  resourceSchema,
  resourceStatusSchema,
  resourceTransitionSchema,
} from '../model/resources';
import {
  scoreWeightsSchema,
  tierIdSchema,
  tierSpecSchema,
} from '../model/tiers';
import { productSpecSchema } from '../model/products';
import {
  cellSpecSchema,
  clusterSpecSchema,
  policySpecSchema,
  providerSpecSchema,
  quotaSpecSchema,
} from '../model/fleet';

/**
 * `POST /resources`: ask for a new resource.
 * @public
 */
export const createResourceRequestSchema = z
  .object({
    name: nameSchema,
    namespace: namespaceSchema.optional(),
    product: nameSchema,
    owner: ownerRefSchema,
    component: componentRefSchema.optional(),
    tier: tierIdSchema,
    cell: nameSchema,
    params: z.record(z.string(), z.unknown()).optional(),
    dependsOn: z.array(resourceRefSchema).optional(),
    labels: labelsSchema.optional(),
    placement: z
      .object({
        provider: nameSchema.optional(),
        cluster: nameSchema.optional(),
      })
      .strict()
      .optional(),
    driftPolicy: z.enum(['correct', 'warn']).optional(),
  })
  .strict()
  .meta({ id: 'CreateResourceRequest' });

/**
 * A request for a new resource.
 * @public
 */
export type CreateResourceRequest = z.input<typeof createResourceRequestSchema>;

/**
 * `PATCH /resources/{namespace}/{name}`: change a resource's desired spec. `params` are
 * merged into the current ones (a `null` value removes a parameter); the product and cell
 * cannot change here (a cell change is the `migrate` operation).
 * @public
 */
export const updateResourceRequestSchema = z
  .object({
    owner: ownerRefSchema.optional(),
    component: componentRefSchema.nullable().optional(),
    tier: tierIdSchema.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    dependsOn: z.array(resourceRefSchema).optional(),
    labels: labelsSchema.optional(),
    driftPolicy: z.enum(['correct', 'warn']).nullable().optional(),
  })
  .strict()
  .meta({ id: 'UpdateResourceRequest' });

/**
 * A change to a resource's desired spec.
 * @public
 */
export type UpdateResourceRequest = z.input<typeof updateResourceRequestSchema>;

/**
 * `GET /resources` query: filters and cursor pagination.
 * @public
 */
export const listResourcesQuerySchema = z
  .object({
    owner: z.string().optional(),
    component: z.string().optional(),
    product: z.string().optional(),
    cell: z.string().optional(),
    tier: tierIdSchema.optional(),
    state: z.enum(resourceStates).optional(),
    namespace: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().optional(),
  })
  .strict();

/**
 * Filters of a resource listing.
 * @public
 */
export type ListResourcesQuery = z.input<typeof listResourcesQuerySchema>;

/**
 * A page of resources.
 * @public
 */
export const resourcePageSchema = z
  .object({
    items: z.array(resourceSchema),
    nextCursor: z
      .string()
      .optional()
      .describe('pass as cursor for the next page'),
  })
  .meta({ id: 'ResourcePage' });

/**
 * A page of resources.
 * @public
 */
export type ResourcePage = z.infer<typeof resourcePageSchema>;

/**
 * `DELETE /resources/{namespace}/{name}` answer: what is being deleted, in order.
 * @public
 */
export const deleteResourceResponseSchema = z
  .object({
    deleting: z
      .array(z.string())
      .describe(
        'refs marked for deletion, dependents first (reverse topological order)',
      ),
    commit: z.string(),
  })
  .meta({ id: 'DeleteResourceResponse' });

/**
 * The answer to a delete.
 * @public
 */
export type DeleteResourceResponse = z.infer<
  typeof deleteResourceResponseSchema
>;

/**
 * `GET /resources/{namespace}/{name}/blockers`: what a resource waits for.
 * @public
 */
export const blockersResponseSchema = z
  .object({
    ref: z.string(),
    blocked: z.boolean(),
    blockers: z.array(
      z.object({
        ref: z.string(),
        state: z.enum([...resourceStates, 'MISSING']),
        reason: z.string(),
      }),
    ),
  })
  .meta({ id: 'Blockers' });

/**
 * What a resource waits for.
 * @public
 */
export type BlockersResponse = z.infer<typeof blockersResponseSchema>;

/**
 * `GET /resources/{namespace}/{name}/history`: every state transition, oldest first.
 * @public
 */
export const resourceHistorySchema = z
  .object({ ref: z.string(), transitions: z.array(resourceTransitionSchema) })
  .meta({ id: 'ResourceHistory' });

/**
 * `POST /resources/{namespace}/{name}/operations`: run an operation of the unified contract.
 * @public
 */
export const createOperationRequestSchema = z
  .object({
    type: operationTypeSchema,
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .meta({ id: 'CreateOperationRequest' });

/**
 * A request to run an operation.
 * @public
 */
export type CreateOperationRequest = z.input<
  typeof createOperationRequestSchema
>;

/**
 * One entry of an operation's timeline.
 * @public
 */
export const operationEventSchema = z.object({
  id: z.number().int(),
  type: z
    .string()
    .describe(
      'e.g. operation.accepted, step.started, step.retried, step.compensated',
    ),
  step: z.string().optional(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  at: z.string(),
});

/**
 * A timeline entry.
 * @public
 */
export type OperationEvent = z.infer<typeof operationEventSchema>;

/**
 * An operation: one durable run acting on a resource.
 * @public
 */
export const operationSchema = z
  .object({
    id: z.string(),
    type: z.enum([
      'create',
      'update',
      'delete',
      ...operationTypeSchema.options,
    ]),
    resourceRef: z.string(),
    state: z.enum(operationStates),
    params: z.record(z.string(), z.unknown()),
    actor: z.string(),
    reason: z.string().optional(),
    traceId: z.string().optional(),
    error: z.string().optional().describe('why it failed or needs attention'),
    cancelRequested: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        state: z.enum([
          'running',
          'succeeded',
          'failed',
          'compensating',
          'compensated',
          'compensation-failed',
        ]),
        attempts: z.number().int(),
        compensationAttempts: z.number().int(),
        error: z.string().optional(),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
      }),
    ),
    timeline: z.array(operationEventSchema),
  })
  .meta({ id: 'Operation' });

/**
 * An operation.
 * @public
 */
export type Operation = z.infer<typeof operationSchema>;

/**
 * `POST /manifests/plan` and `/manifests/apply`: a multi-document YAML.
 * @public
 */
export const manifestsRequestSchema = z
  .object({
    yaml: z.string().min(1, 'must not be empty').max(1_000_000),
    prune: z
      .boolean()
      .default(false)
      .describe(
        'also delete resources of the namespaces in the YAML that it leaves out',
      ),
  })
  .strict()
  .meta({ id: 'ManifestsRequest' });

/**
 * A manifests request.
 * @public
 */
export type ManifestsRequest = z.input<typeof manifestsRequestSchema>;

/**
 * One field that a plan changes.
 * @public
 */
export const fieldChangeSchema = z.object({
  path: z.string(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

/**
 * Estimated monthly cost (USD) before and after a change: on the provider a resource runs on
 * (or is pinned to), else the cheapest that can run it in its cell.
 * @public
 */
export const planCostSchema = z.object({
  before: z.number().describe('USD per month now (0 when it does not exist)'),
  after: z.number().describe('USD per month after the change (0 when deleted)'),
  delta: z.number().describe('after - before'),
});

/**
 * The plan of a manifests request: per object, what would happen.
 * @public
 */
export const planSchema = z
  .object({
    changes: z.array(
      z.object({
        kind: z.string(),
        ref: z.string(),
        action: z.enum(['create', 'update', 'delete', 'unchanged']),
        fields: z.array(fieldChangeSchema),
        cost: planCostSchema
          .optional()
          .describe(
            'resources only: the estimated monthly cost before and after the change',
          ),
      }),
    ),
    cost: planCostSchema
      .extend({ currency: z.literal('USD') })
      .optional()
      .describe('the monthly cost of every resource the plan touches'),
    summary: z.object({
      create: z.number().int(),
      update: z.number().int(),
      delete: z.number().int(),
      unchanged: z.number().int(),
    }),
    refusals: z
      .array(
        z.object({
          ref: z.string(),
          code: z
            .string()
            .describe('e.g. quota.maxInstances, product.notAllowed'),
          message: z.string(),
          field: z.string().optional(),
        }),
      )
      .describe(
        'what policy admission (quotas, budgets, policies) would refuse: apply refuses the whole change when any is listed',
      ),
    commit: z
      .string()
      .optional()
      .describe(
        'the commit that applied the plan (apply only, when something changed)',
      ),
  })
  .meta({ id: 'Plan' });

/**
 * A plan.
 * @public
 */
export type Plan = z.infer<typeof planSchema>;

/**
 * An audit event: who did what, when, from where, with what outcome; chained by hashes.
 * @public
 */
export const auditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.enum(['accepted', 'rejected', 'succeeded', 'failed']),
    reason: z.string().optional(),
    source: z.object({
      ip: z.string().optional(),
      userAgent: z.string().optional(),
    }),
    requestId: z.string().optional(),
    approvers: z.array(z.string()),
    commit: z.string().optional(),
    beforeDigest: z.string().optional(),
    afterDigest: z.string().optional(),
    hash: z.string(),
    prevHash: z.string(),
  })
  .meta({ id: 'AuditEvent' });

/**
 * An audit event.
 * @public
 */
export type AuditEvent = z.infer<typeof auditEventSchema>;

/**
 * `GET /audit` query.
 * @public
 */
export const listAuditQuerySchema = z
  .object({
    actor: z.string().optional(),
    action: z.string().optional(),
    target: z.string().optional(),
    outcome: z.enum(['accepted', 'rejected', 'succeeded', 'failed']).optional(),
    since: z.string().datetime({ offset: true }).optional(),
    until: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().optional(),
  })
  .strict();

/**
 * A page of audit events, newest first.
 * @public
 */
export const auditPageSchema = z
  .object({
    items: z.array(auditEventSchema),
    nextCursor: z.string().optional(),
  })
  .meta({ id: 'AuditPage' });

/**
 * `GET /audit/verify`: the result of walking the hash chain.
 * @public
 */
export const auditVerificationSchema = z
  .object({
    valid: z.boolean(),
    checked: z.number().int(),
    firstBroken: z
      .object({ id: z.number().int(), reason: z.string() })
      .optional()
      .describe('the first event whose hash does not match'),
  })
  .meta({ id: 'AuditVerification' });

/**
 * The result of verifying the audit chain.
 * @public
 */
export type AuditVerification = z.infer<typeof auditVerificationSchema>;

/**
 * `GET /gitops/status`: how the index follows the state repository.
 * @public
 */
export const gitopsStatusSchema = z
  .object({
    head: z.string().optional(),
    indexedCommit: z.string().optional(),
    inSync: z.boolean(),
    rejected: z.array(
      z.object({
        commit: z.string(),
        author: z.string(),
        message: z.string(),
        errors: z.array(z.string()),
        detectedAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'GitopsStatus' });

/**
 * The state repository's sync status.
 * @public
 */
export type GitopsStatus = z.infer<typeof gitopsStatusSchema>;

/**
 * An event of a resource, as the event stream sends it.
 * @public
 */
export const resourceEventSchema = z
  .object({
    id: z.number().int(),
    ref: z.string(),
    type: z
      .string()
      .describe('state.changed, operation.*, step.*, drift.detected, ...'),
    message: z.string(),
    state: z.enum(resourceStates).optional(),
    operationId: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    at: z.string(),
  })
  .meta({ id: 'ResourceEvent' });

/**
 * A resource event.
 * @public
 */
export type ResourceEvent = z.infer<typeof resourceEventSchema>;

/**
 * `GET /resources/{namespace}/{name}/events` asked for as JSON: the events so far.
 * @public
 */
export const resourceEventsQuerySchema = z
  .object({
    after: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('only events after this id'),
    limit: z.coerce.number().int().min(1).max(500).default(500),
  })
  .strict();

/**
 * A page of a resource's events, oldest first.
 * @public
 */
export const resourceEventPageSchema = z
  .object({
    items: z.array(resourceEventSchema),
    lastId: z
      .number()
      .int()
      .describe(
        'the id of the last event of the page; pass as after for the next',
      ),
  })
  .meta({ id: 'ResourceEventPage' });

/**
 * The body of every error answer (Backstage's error shape); a validation error lists each
 * offending field in `error.issues`.
 * @public
 */
export const errorResponseSchema = z
  .object({
    error: z
      .object({
        name: z.string(),
        message: z.string(),
        issues: z
          .array(z.object({ path: z.string(), message: z.string() }))
          .optional(),
      })
      .catchall(z.unknown()),
    request: z.object({ method: z.string(), url: z.string() }).optional(),
    response: z.object({ statusCode: z.number().int() }),
  })
  .meta({ id: 'ErrorResponse' });

/**
 * A product as `GET /products` lists it.
 * @public
 */
export const productSchema = productSpecSchema
  .extend({
    id: z.string(),
    source: z.enum(['state-repo', 'module', 'builtin']),
  })
  .meta({ id: 'Product' });

/**
 * A product as the API returns it.
 * @public
 */
export type Product = z.infer<typeof productSchema>;

const listOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item) }).meta({ id });

/**
 * `GET /products`.
 * @public
 */
export const productListSchema = listOf(productSchema, 'ProductList');

/**
 * `GET /tiers`.
 * @public
 */
export const tierListSchema = listOf(
  tierSpecSchema.extend({ id: tierIdSchema }).meta({ id: 'Tier' }),
  'TierList',
);

/**
 * `GET /cells`.
 * @public
 */
export const cellListSchema = listOf(
  cellSpecSchema.extend({ id: z.string() }).meta({ id: 'Cell' }),
  'CellList',
);

/**
 * The health of a provider: driver call outcomes over a sliding window, and its breaker.
 * @public
 */
export const providerHealthSchema = z
  .object({
    score: z
      .number()
      .min(0)
      .max(1)
      .describe('success rate × latency factor over the sliding window'),
    breaker: z.enum(['closed', 'open', 'half-open']),
    calls: z.number().int().nonnegative(),
    failures: z.number().int().nonnegative(),
    errorRate: z.number().min(0).max(1),
    latencyMs: z.number().nonnegative().describe('mean driver call latency'),
    latencyByCell: z
      .record(z.string(), z.number().nonnegative())
      .describe(
        "mean driver call latency to the provider's clusters in each cell: what placement scores",
      ),
    openedAt: z.string().optional(),
    reason: z.string().optional().describe('why the breaker opened'),
  })
  .meta({ id: 'ProviderHealth' });

/**
 * `GET /providers`: each provider with its health and circuit breaker.
 * @public
 */
export const providerListSchema = listOf(
  providerSpecSchema
    .extend({ id: z.string(), health: providerHealthSchema })
    .meta({ id: 'Provider' }),
  'ProviderList',
);

/**
 * What the resources placed on a cluster ask of it, observed by the control plane.
 * @public
 */
export const clusterUsageSchema = z
  .object({
    resources: z
      .number()
      .int()
      .nonnegative()
      .describe('resources placed on it and not deleted'),
    cpu: z.number().nonnegative(),
    memoryGi: z.number().nonnegative(),
    storageGi: z.number().nonnegative(),
    utilization: z
      .number()
      .nonnegative()
      .describe(
        'the highest of CPU, memory and storage asked over capacity, as the scheduler measures it (above 1: overcommitted)',
      ),
  })
  .meta({ id: 'ClusterUsage' });

/**
 * `GET /clusters`: each cluster with what is placed on it.
 * @public
 */
export const clusterListSchema = listOf(
  clusterSpecSchema
    .extend({ id: z.string(), usage: clusterUsageSchema })
    .meta({ id: 'Cluster' }),
  'ClusterList',
);

/**
 * `GET /quotas`.
 * @public
 */
export const quotaListSchema = listOf(
  quotaSpecSchema.extend({ id: z.string() }).meta({ id: 'Quota' }),
  'QuotaList',
);

/**
 * `GET /resources/{namespace}/{name}/status`.
 * @public
 */
export const resourceStatusResponseSchema = resourceStatusSchema
  .extend({ ref: z.string() })
  .meta({ id: 'ResourceStatusResponse' });

/**
 * `GET /resources/{namespace}/{name}/operations`.
 * @public
 */
export const operationListSchema = listOf(operationSchema, 'OperationList');

/**
 * `POST /gitops/sync`.
 * @public
 */
export const gitopsSyncResponseSchema = z
  .object({
    result: z.object({
      status: z.enum(['in-sync', 'indexed', 'rejected']),
      commit: z.string().optional(),
      errors: z.array(z.string()).optional(),
    }),
    status: gitopsStatusSchema,
  })
  .meta({ id: 'GitopsSyncResponse' });

/**
 * `POST /reconciler/run`.
 * @public
 */
export const reconcilerRunRequestSchema = z
  .object({
    drift: z
      .boolean()
      .default(false)
      .describe('also ask the drivers for the actual state of READY resources'),
  })
  .strict()
  .meta({ id: 'ReconcilerRunRequest' });

/**
 * The answer of `POST /reconciler/run`: the operations the pass started, and the drift found.
 * @public
 */
export const reconcilerRunResponseSchema = z
  .object({
    started: z.array(
      z.object({ ref: z.string(), type: z.string(), operationId: z.string() }),
    ),
    drift: z
      .object({
        checked: z.number().int().nonnegative(),
        drifted: z.array(
          z.object({
            ref: z.string(),
            fields: z.array(z.string()),
            corrected: z.boolean(),
          }),
        ),
      })
      .optional()
      .describe('present when drift was asked for'),
  })
  .meta({ id: 'ReconcilerRunResponse' });

/**
 * `GET /policies`.
 * @public
 */
export const policyListSchema = listOf(
  policySpecSchema.extend({ id: z.string() }).meta({ id: 'Policy' }),
  'PolicyList',
);

const usageSchema = z.object({
  instances: z.number().int().nonnegative(),
  storageGi: z.number().nonnegative(),
  monthlyCost: z.number().nonnegative().describe('USD per month'),
});

/**
 * `GET /quotas/usage`: every quota with what its scope uses now.
 * @public
 */
export const quotaUsageListSchema = listOf(
  quotaSpecSchema
    .extend({ id: z.string(), usage: usageSchema })
    .meta({ id: 'QuotaUsage' }),
  'QuotaUsageList',
);

/**
 * `POST /cost/estimate`: what a resource would cost, as a create request would ask for it.
 * @public
 */
export const costEstimateRequestSchema = z
  .object({
    product: z.string().min(1),
    tier: tierIdSchema.optional().describe('default medium'),
    cell: z.string().min(1).optional().describe('default: every cell'),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ id: 'CostEstimateRequest' });

/**
 * A cost estimate request.
 * @public
 */
export type CostEstimateRequest = z.infer<typeof costEstimateRequestSchema>;

const providerCostSchema = z.object({
  provider: z.string(),
  monthlyCost: z.number().nonnegative(),
});

/**
 * The answer of `POST /cost/estimate`: the monthly list price on each provider that can
 * run it in the cell, cheapest first.
 * @public
 */
export const costEstimateSchema = z
  .object({
    currency: z.literal('USD'),
    product: z.string(),
    tier: z.string(),
    cell: z.string().optional(),
    params: z.record(z.string(), z.unknown()),
    estimates: z.array(providerCostSchema),
    cheapest: providerCostSchema.optional(),
  })
  .meta({ id: 'CostEstimate' });

/**
 * A cost estimate.
 * @public
 */
export type CostEstimate = z.infer<typeof costEstimateSchema>;

/**
 * `GET /resources/{namespace}/{name}/cost`.
 * @public
 */
export const resourceCostSchema = z
  .object({
    ref: z.string(),
    currency: z.literal('USD'),
    provider: z.string().optional(),
    monthlyEstimate: z
      .number()
      .nonnegative()
      .describe('on its provider, or the cheapest in its cell until placed'),
    monthToDate: z
      .number()
      .nonnegative()
      .describe('accrued this calendar month (UTC) while READY or DEGRADED'),
    budget: z
      .object({
        quota: z.string(),
        limit: z.number(),
        used: z.number(),
      })
      .optional()
      .describe('the tightest monthly budget that applies'),
  })
  .meta({ id: 'ResourceCost' });

/**
 * The dimensions chargeback reports group by.
 * @public
 */
export const chargebackGroups = [
  'cell',
  'team',
  'tier',
  'product',
  'provider',
] as const;

/**
 * `GET /cost/chargeback` query.
 * @public
 */
export const chargebackQuerySchema = z
  .object({
    from: z
      .string()
      .datetime({ offset: true })
      .optional()
      .describe('default: the start of this month (UTC)'),
    to: z
      .string()
      .datetime({ offset: true })
      .optional()
      .describe('default: now'),
    groupBy: z.enum(chargebackGroups).default('team'),
  })
  .strict();

/**
 * A chargeback report: cost accrued over a window while resources were READY or DEGRADED.
 * @public
 */
export const chargebackSchema = z
  .object({
    currency: z.literal('USD'),
    from: z.string(),
    to: z.string(),
    groupBy: z.enum(chargebackGroups),
    total: z.number(),
    rows: z.array(
      z.object({
        key: z.string(),
        cost: z.number(),
        hours: z.number().describe('resource-hours billed'),
        resources: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Chargeback' });

/**
 * A chargeback report.
 * @public
 */
export type Chargeback = z.infer<typeof chargebackSchema>;

/**
 * `GET /resources/{namespace}/{name}/placement`: the latest placement decision, explained.
 * @public
 */
export const placementDecisionSchema = z
  .object({
    resourceRef: z.string(),
    operationId: z.string().optional(),
    decidedAt: z.string(),
    durationMs: z.number(),
    explanation: z.string(),
    outcome: z
      .enum(['placed', 'unschedulable'])
      .describe(
        'unschedulable: no cluster could take it; `candidates` say why',
      ),
    selected: z
      .object({
        cluster: z.string(),
        provider: z.string(),
        cell: z.string(),
        region: z.string(),
        zones: z.array(z.string()),
      })
      .optional(),
    candidates: z.array(
      z.object({
        cluster: z.string(),
        provider: z.string(),
        rejected: z.array(z.object({ filter: z.string(), reason: z.string() })),
        monthlyCost: z
          .number()
          .optional()
          .describe('estimated USD per month on this cluster'),
        scores: z.record(z.string(), z.number()).optional(),
        total: z.number().optional(),
      }),
    ),
    weights: z.record(z.string(), z.number()),
    experiment: z.object({ id: z.string(), arm: z.string() }).optional(),
  })
  .meta({ id: 'PlacementDecision' });

/**
 * One arm of a placement experiment: a share of placements scored with other weights.
 * @public
 */
export const experimentArmSchema = z
  .object({
    name: nameSchema.refine(n => n !== 'control', {
      message: "'control' is the name of the placements outside every arm",
    }),
    percent: z
      .number()
      .gt(0)
      .max(100)
      .describe('share of the placements in scope, percent'),
    weights: scoreWeightsSchema
      .partial()
      .refine(w => Object.keys(w).length > 0, {
        message: 'set at least one weight',
      })
      .describe("weights over the tier's for this arm's placements"),
  })
  .strict();

/**
 * `POST /experiments`: split placements between scoring policies.
 * @public
 */
export const createExperimentRequestSchema = z
  .object({
    name: nameSchema,
    description: z.string().max(1000).optional(),
    arms: z
      .array(experimentArmSchema)
      .min(1)
      .max(10)
      .refine(arms => new Set(arms.map(a => a.name)).size === arms.length, {
        message: 'arm names must be unique',
      })
      .refine(arms => arms.reduce((s, a) => s + a.percent, 0) <= 100, {
        message: 'the percents of the arms add up to more than 100',
      })
      .describe(
        "each arm's share of the placements; the rest (the control) keeps the tier's weights",
      ),
    scope: z
      .object({
        tiers: z.array(tierIdSchema).min(1).optional(),
        cells: z.array(nameSchema).min(1).optional(),
      })
      .strict()
      .optional()
      .describe('the placements that take part; every one when absent'),
  })
  .strict()
  .meta({ id: 'CreateExperimentRequest' });

/**
 * A create experiment request.
 * @public
 */
export type CreateExperimentRequest = z.input<
  typeof createExperimentRequestSchema
>;

/**
 * What the placements of one arm became.
 * @public
 */
export const experimentArmOutcomeSchema = z.object({
  arm: z.string(),
  placements: z.number().int().describe('decisions that selected a cluster'),
  unschedulable: z.number().int().describe('decisions that found none'),
  ready: z.number().int().describe('placements whose operation made it READY'),
  failed: z.number().int().describe('placements whose operation failed'),
  timeToReadyMs: z
    .object({ mean: z.number(), p50: z.number(), max: z.number() })
    .optional()
    .describe('from the operation start to READY'),
  monthlyCost: z
    .object({ total: z.number(), mean: z.number() })
    .describe('estimated USD per month of the placements, on their clusters'),
});

/**
 * A placement experiment, with the outcomes of its arms.
 * @public
 */
export const experimentSchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    status: z.enum(['running', 'stopped']),
    arms: z.array(experimentArmSchema),
    scope: z.object({
      tiers: z.array(z.string()).optional(),
      cells: z.array(z.string()).optional(),
    }),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    outcomes: z
      .array(experimentArmOutcomeSchema)
      .describe('per arm, the control first'),
  })
  .meta({ id: 'Experiment' });

/**
 * A placement experiment.
 * @public
 */
export type Experiment = z.infer<typeof experimentSchema>;

/**
 * `GET /experiments`.
 * @public
 */
export const experimentListSchema = listOf(experimentSchema, 'ExperimentList');

/**
 * The feature flags of platform behaviour, and what each does.
 * @public
 */
export const featureFlagDefinitions = {
  'drift.autoCorrect': {
    description:
      "Correct drift of the resources of a cell (or tier) that set no drift policy of their own (true), or only report it (false). Wins over the cell's driftPolicy.",
    default: true,
  },
  'placement.experiments': {
    description:
      "Placements in this cell (or tier) take part in running experiments (true), or all keep their tier's weights (false).",
    default: true,
  },
} as const;

/**
 * The name of a feature flag.
 * @public
 */
export type FeatureFlagName = keyof typeof featureFlagDefinitions;

/**
 * Where a flag's value applies: a cell, a tier, both, or (neither) everywhere. The most
 * specific value wins: cell and tier, then cell, then tier, then global, then the default.
 * @public
 */
export const featureFlagScopeSchema = z
  .object({ cell: nameSchema.optional(), tier: tierIdSchema.optional() })
  .strict();

/**
 * `PUT /flags/{name}`: set a flag's value in a scope.
 * @public
 */
export const setFeatureFlagRequestSchema = z
  .object({ scope: featureFlagScopeSchema.optional(), value: z.boolean() })
  .strict()
  .meta({ id: 'SetFeatureFlagRequest' });

/**
 * A feature flag with its value in every scope that sets one.
 * @public
 */
export const featureFlagSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    default: z.boolean(),
    values: z.array(
      z.object({
        scope: featureFlagScopeSchema,
        value: z.boolean(),
        updatedBy: z.string(),
        updatedAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'FeatureFlag' });

/**
 * A feature flag.
 * @public
 */
export type FeatureFlag = z.infer<typeof featureFlagSchema>;

/**
 * `GET /flags`.
 * @public
 */
export const featureFlagListSchema = listOf(
  featureFlagSchema,
  'FeatureFlagList',
);
