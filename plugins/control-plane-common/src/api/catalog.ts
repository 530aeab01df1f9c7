import {
  clusterHealthSchema,
  clusterObservedSchema,
  clusterOperationSchema,
} from '../model/clusterApi';
import { z } from 'zod';
import { tierIdSchema, tierSpecSchema } from '../model/tiers';
import { productSpecSchema } from '../model/products';
import {
  cellSpecSchema,
  clusterSpecSchema,
  providerSpecSchema,
} from '../model/fleet';
import { listOf } from './lists';

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
    .extend({
      id: z.string(),
      usage: clusterUsageSchema,
      labels: z.record(z.string(), z.string()).optional(),
      observed: clusterObservedSchema
        .optional()
        .describe('what the control plane observed; none: it never managed it'),
      health: clusterHealthSchema.optional(),
      nextMaintenanceWindow: z
        .string()
        .optional()
        .describe(
          'when its maintenance window next opens, ISO 8601 (now, while it is open); none without a window',
        ),
      operations: z
        .array(clusterOperationSchema)
        .optional()
        .describe('lifecycle operations running or waiting'),
      placed: z
        .array(z.string())
        .optional()
        .describe(
          'refs of the resources placed on it (only when one cluster is read)',
        ),
    })
    .meta({ id: 'Cluster' }),
  'ClusterList',
);
