import { z } from 'zod';
import { nameSchema } from '../model/names';
import { tierIdSchema } from '../model/tiers';
import { listOf } from './lists';

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
