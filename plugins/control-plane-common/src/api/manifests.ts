import { z } from 'zod';

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
