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
    acknowledgeBreaking: z
      .boolean()
      .default(false)
      .describe(
        'the caller read the breaking changes of product definitions the plan lists (and their migration guides) and makes them anyway; without it such a change is refused (409)',
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
 * One difference between two versions of a product definition: breaking or not, and why.
 * @public
 */
export const definitionFindingSchema = z
  .object({
    code: z
      .string()
      .describe(
        'parameter.removed, parameter.required, parameter.type-changed, parameter.values-removed, parameter.range-narrowed, parameter.default-changed, version.removed, tier.removed, operation.removed, dependency.removed; or what breaks nothing: parameter.added, parameter.values-added, parameter.range-widened, version.added, tier.added, operation.added',
      ),
    breaking: z.boolean(),
    subject: z
      .string()
      .describe(
        "the parameter's dotted path, or the tier, operation or product",
      ),
    message: z.string(),
    bound: z.string().optional(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .meta({ id: 'DefinitionFinding' });

/**
 * What a change of one product definition does and to whom, with its migration guide.
 * @public
 */
export const definitionImpactSchema = z
  .object({
    product: z.string(),
    project: z
      .string()
      .optional()
      .describe(
        'the project whose own definition of the product this is about (absent: the global definition)',
      ),
    findings: z.array(definitionFindingSchema),
    affected: z.object({
      resources: z.array(
        z.object({
          ref: z.string(),
          project: z.string().describe('the namespace'),
          owner: z.string(),
          component: z.string().optional(),
          findings: z.array(z.string()),
        }),
      ),
      projects: z.array(z.string()),
      components: z.array(z.string()),
      owners: z.array(z.string()),
    }),
    guide: z.string().describe('the migration guide, Markdown'),
  })
  .meta({ id: 'DefinitionImpact' });

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
    breaking: z
      .object({
        changes: z
          .array(
            z.object({
              ref: z.string(),
              code: z.string(),
              message: z.string(),
            }),
          )
          .describe(
            'everything the change breaks: resources deleted or replaced, tiers lowered, definitions narrowed',
          ),
        definitions: z
          .array(definitionImpactSchema)
          .describe('each product definition the change touches'),
        acknowledgementRequired: z
          .boolean()
          .describe(
            'a definition breaks: apply needs acknowledgeBreaking: true',
          ),
      })
      .optional()
      .describe(
        'present when the change breaks something or touches a definition',
      ),
    warnings: z
      .array(
        z.object({ ref: z.string(), code: z.string(), message: z.string() }),
      )
      .optional()
      .describe(
        'what the change keeps using that is deprecated (a product or one of its versions), with its removal date',
      ),
  })
  .meta({ id: 'Plan' });

/**
 * A plan.
 * @public
 */
export type Plan = z.infer<typeof planSchema>;
