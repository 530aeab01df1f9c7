import { z } from 'zod';
import { filterTextSchema } from './lists';
import {
  componentRefSchema,
  nameSchema,
  namespaceSchema,
  ownerRefSchema,
  resourceRefSchema,
} from '../model/names';
import { resourceStates } from '../model/resourceState';
import {
  labelsSchema,
  resourceSchema,
  resourceStatusSchema,
  resourceTransitionSchema,
} from '../model/resources';
import { tierIdSchema } from '../model/tiers';
import { rolloutSpecSchema } from '../model/deployments';

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
    rollout: rolloutSpecSchema.optional(),
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
    rollout: rolloutSpecSchema
      .nullable()
      .optional()
      .describe('how new versions roll out; null: the defaults'),
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
    owner: filterTextSchema.optional(),
    component: filterTextSchema.optional(),
    product: filterTextSchema.optional(),
    cell: filterTextSchema.optional(),
    tier: tierIdSchema.optional(),
    state: z.enum(resourceStates).optional(),
    namespace: filterTextSchema.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: filterTextSchema.optional(),
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
 * `GET /resources/{namespace}/{name}/status`.
 * @public
 */
export const resourceStatusResponseSchema = resourceStatusSchema
  .extend({ ref: z.string() })
  .meta({ id: 'ResourceStatusResponse' });
