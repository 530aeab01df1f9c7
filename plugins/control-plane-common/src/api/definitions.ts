import { z } from 'zod';
import { definitionFindingSchema, definitionImpactSchema } from './manifests';

/**
 * A breaking change of a product definition as it was applied: its findings, whom they
 * reach, and the migration guide the owners were notified about.
 * @public
 */
export const definitionChangeSchema = z
  .object({
    id: z.string(),
    product: z.string(),
    commit: z
      .string()
      .describe('the commit of the state repository that made it'),
    actor: z.string(),
    findings: z.array(definitionFindingSchema),
    affected: definitionImpactSchema.shape.affected,
    guide: z.string().describe('the migration guide, Markdown'),
    createdAt: z.string(),
    notifiedAt: z
      .string()
      .optional()
      .describe('when the affected owners were notified'),
  })
  .meta({ id: 'DefinitionChange' });

/**
 * A breaking change of a product definition.
 * @public
 */
export type DefinitionChange = z.infer<typeof definitionChangeSchema>;

/**
 * `GET /definition-changes`.
 * @public
 */
export const definitionChangeListSchema = z
  .object({ items: z.array(definitionChangeSchema) })
  .meta({ id: 'DefinitionChangeList' });

/**
 * `GET /definition-changes` query.
 * @public
 */
export const definitionChangeQuerySchema = z
  .object({
    product: z.string().max(63).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

const deprecation = z.object({
  removalDate: z.string(),
  message: z.string().optional(),
});

/**
 * Who uses a product: each resource (those the caller may read), its version, and whether
 * that version is deprecated; the product's deprecation.
 * @public
 */
export const productUsageSchema = z
  .object({
    product: z.string(),
    deprecated: deprecation
      .extend({ replacement: z.string().optional() })
      .optional(),
    deprecatedVersions: z.record(z.string(), deprecation).optional(),
    resources: z.array(
      z.object({
        ref: z.string(),
        project: z.string().describe('the namespace'),
        owner: z.string(),
        component: z.string().optional(),
        tier: z.string(),
        version: z.string().optional(),
        deprecatedVersion: z
          .boolean()
          .describe('it runs a version the product deprecated'),
      }),
    ),
    owners: z.array(z.string()),
    projects: z.array(z.string()),
  })
  .meta({ id: 'ProductUsage' });

/**
 * Who uses a product.
 * @public
 */
export type ProductUsage = z.infer<typeof productUsageSchema>;
