import { z } from 'zod';
import { tierIdSchema } from '../model/tiers';

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
