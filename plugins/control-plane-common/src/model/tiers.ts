import { z } from 'zod';

/**
 * The criticality tiers, most critical first.
 * @public
 */
export const tierIds = ['critical', 'high', 'medium', 'low'] as const;

/**
 * A criticality tier id.
 * @public
 */
export type TierId = (typeof tierIds)[number];

/**
 * The tier id schema.
 * @public
 */
export const tierIdSchema = z.enum(tierIds);

/**
 * How much each placement score counts: any non-negative numbers, normalised by their sum.
 * Scores are provider health, cost (cheapest is best), utilisation (emptiest is best),
 * latency to the cell (fastest is best) and spread (fewest of the resource's replicas nearby).
 * @public
 */
export const scoreWeightsSchema = z
  .object({
    health: z.number().nonnegative(),
    cost: z.number().nonnegative(),
    utilization: z.number().nonnegative(),
    latency: z.number().nonnegative(),
    spread: z.number().nonnegative(),
  })
  .strict();

/**
 * Score weights.
 * @public
 */
export type ScoreWeights = z.infer<typeof scoreWeightsSchema>;

/**
 * What a tier promises and demands: placement gates the scheduler enforces, the SLA it
 * targets, the features every resource of the tier must have, and how hard operations retry.
 * @public
 */
export const tierSpecSchema = z.object({
  description: z.string(),
  placement: z.object({
    minProviderHealth: z
      .number()
      .min(0)
      .max(1)
      .describe('lowest provider health score (0–1) a placement may use'),
    requireMultiAZ: z
      .boolean()
      .describe('only clusters spanning at least two zones'),
    maxClusterUtilization: z
      .number()
      .min(0)
      .max(1)
      .describe('skip clusters fuller than this'),
    allowedProviders: z
      .array(z.string())
      .optional()
      .describe('when set, only these providers'),
    weights: scoreWeightsSchema
      .partial()
      .optional()
      .describe(
        "how much each score counts for this tier's placements; unset weights come from controlPlane.scheduling.weights, then the built-in defaults",
      ),
  }),
  sla: z.object({
    availability: z
      .number()
      .min(90)
      .max(100)
      .describe('monthly availability target, percent'),
    p99LatencyMs: z.number().int().positive(),
    rtoMinutes: z
      .number()
      .int()
      .nonnegative()
      .describe('recovery time objective'),
    rpoMinutes: z
      .number()
      .int()
      .nonnegative()
      .describe('recovery point objective'),
  }),
  requiredFeatures: z.object({
    backups: z.boolean(),
    multiAZ: z.boolean(),
    encryption: z.boolean(),
  }),
  operations: z.object({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .describe('attempts per saga step for retryable errors'),
    stepTimeoutSeconds: z.number().int().positive(),
  }),
});

/**
 * A tier's specification.
 * @public
 */
export type TierSpec = z.infer<typeof tierSpecSchema>;

/**
 * The tiers a fresh state repository starts with.
 * @public
 */
export const defaultTiers: Record<TierId, TierSpec> = {
  critical: {
    description:
      'Revenue-critical: multi-AZ, backups and encryption, healthiest providers only',
    placement: {
      minProviderHealth: 0.9,
      requireMultiAZ: true,
      maxClusterUtilization: 0.7,
    },
    sla: {
      availability: 99.99,
      p99LatencyMs: 50,
      rtoMinutes: 15,
      rpoMinutes: 1,
    },
    requiredFeatures: { backups: true, multiAZ: true, encryption: true },
    operations: { maxAttempts: 8, stepTimeoutSeconds: 600 },
  },
  high: {
    description: 'Customer-facing: backups and encryption, healthy providers',
    placement: {
      minProviderHealth: 0.75,
      requireMultiAZ: true,
      maxClusterUtilization: 0.8,
    },
    sla: {
      availability: 99.95,
      p99LatencyMs: 100,
      rtoMinutes: 60,
      rpoMinutes: 15,
    },
    requiredFeatures: { backups: true, multiAZ: false, encryption: true },
    operations: { maxAttempts: 6, stepTimeoutSeconds: 600 },
  },
  medium: {
    description: 'Internal services: backups, any healthy-enough provider',
    placement: {
      minProviderHealth: 0.5,
      requireMultiAZ: false,
      maxClusterUtilization: 0.9,
    },
    sla: {
      availability: 99.9,
      p99LatencyMs: 250,
      rtoMinutes: 240,
      rpoMinutes: 60,
    },
    requiredFeatures: { backups: true, multiAZ: false, encryption: false },
    operations: { maxAttempts: 4, stepTimeoutSeconds: 900 },
  },
  low: {
    description: 'Development and experiments: best effort, cheapest placement',
    placement: {
      minProviderHealth: 0.25,
      requireMultiAZ: false,
      maxClusterUtilization: 0.95,
    },
    sla: {
      availability: 99,
      p99LatencyMs: 1000,
      rtoMinutes: 1440,
      rpoMinutes: 1440,
    },
    requiredFeatures: { backups: false, multiAZ: false, encryption: false },
    operations: { maxAttempts: 3, stepTimeoutSeconds: 900 },
  },
};
