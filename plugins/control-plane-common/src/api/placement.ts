import { z } from 'zod';
import { nameSchema } from '../model/names';
import { scoreWeightsSchema, tierIdSchema } from '../model/tiers';
import { listOf } from './lists';

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
