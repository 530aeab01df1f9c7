/**
 * Deployments: how a resource rolls out a new version, as data (Argo Rollouts' shape), and
 * the lifecycle of one rollout.
 *
 *   Progressing ⇄ Paused
 *   Progressing | Paused → Succeeded | RolledBack | Aborted | Failed
 */
import { z } from 'zod';
import { TierId } from './tiers';

/**
 * The phases of a deployment, in lifecycle order.
 * @public
 */
export const deploymentPhases = [
  'Progressing',
  'Paused',
  'Succeeded',
  'RolledBack',
  'Aborted',
  'Failed',
] as const;

/**
 * The phase of a deployment: `RolledBack` when an analysis failed and the stable version was
 * restored, `Aborted` when a person stopped it (also restoring the stable version), `Failed`
 * when a step failed for another reason.
 * @public
 */
export type DeploymentPhase = (typeof deploymentPhases)[number];

const deploymentTransitions: Record<
  DeploymentPhase,
  readonly DeploymentPhase[]
> = {
  Progressing: ['Paused', 'Succeeded', 'RolledBack', 'Aborted', 'Failed'],
  Paused: ['Progressing', 'RolledBack', 'Aborted', 'Failed'],
  Succeeded: [],
  RolledBack: [],
  Aborted: [],
  Failed: [],
};

/**
 * Whether a deployment may move from `from` to `to`.
 * @public
 */
export function canTransitionDeployment(
  from: DeploymentPhase,
  to: DeploymentPhase,
): boolean {
  return deploymentTransitions[from].includes(to);
}

/**
 * A deployment in a terminal phase is over.
 * @public
 */
export function isDeploymentOver(phase: DeploymentPhase): boolean {
  return deploymentTransitions[phase].length === 0;
}

/**
 * The strategies.
 * @public
 */
export const deploymentStrategies = [
  'rolling',
  'blue_green',
  'canary',
] as const;

/**
 * A rollout strategy.
 * @public
 */
export type DeploymentStrategy = (typeof deploymentStrategies)[number];

const durationPattern = /^([0-9]{1,6})(ms|s|m|h)$/;

/**
 * A duration as written in a rollout: `500ms`, `30s`, `5m`, `1h`.
 * @public
 */
export const rolloutDurationSchema = z
  .string()
  .regex(durationPattern, 'must be a duration such as 30s, 5m or 1h');

/**
 * The milliseconds of a rollout duration (`30s` → 30000).
 * @public
 */
export function rolloutDurationMs(value: string): number {
  const match = durationPattern.exec(value);
  if (!match) throw new TypeError(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[
    match[2] as 'ms' | 's' | 'm' | 'h'
  ];
  return Number(match[1]) * unit;
}

/**
 * A metric an analysis checks beyond the built-in error rate and p99 latency: a query of the
 * metrics provider (PromQL for Prometheus) with `{{namespace}}`, `{{name}}`, `{{version}}`,
 * `{{cell}}` and `{{step}}` placeholders, and the limit of its median.
 * @public
 */
export const customAnalysisQuerySchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a metric name'),
    query: z.string().min(1).max(4000),
    max: z.number().optional(),
    min: z.number().optional(),
  })
  .strict()
  .refine(q => q.max !== undefined || q.min !== undefined, {
    message: 'give the limit: max or min',
  });

/**
 * How an analysis judges a version: built-in checks (error rate at most `maxErrorRate`, p99
 * latency at most `maxLatencyP99Ms`; the tier's defaults, as Flagger's), custom queries,
 * sampled `count` times every `interval`, failing the deployment after `failureLimit` failed
 * measurements. `judge: mann-whitney` also compares the new version's samples with the
 * stable one's by rank, so a noisy metric does not flip the verdict on its own.
 * @public
 */
export const analysisSpecSchema = z
  .object({
    provider: z
      .string()
      .min(1)
      .optional()
      .describe('the metrics provider; the first one registered when left out'),
    interval: rolloutDurationSchema.default('30s'),
    count: z.number().int().min(1).max(100).default(3),
    failureLimit: z.number().int().min(1).max(100).default(1),
    maxErrorRate: z.number().min(0).max(1).optional(),
    maxLatencyP99Ms: z.number().positive().optional(),
    judge: z.enum(['threshold', 'mann-whitney']).default('mann-whitney'),
    queries: z.array(customAnalysisQuerySchema).max(10).default([]),
  })
  .strict();

/**
 * An analysis as written.
 * @public
 */
export type AnalysisSpec = z.input<typeof analysisSpecSchema>;

/**
 * An analysis as a rollout or one of its steps writes it: only what it sets (a step's
 * settings override the rollout's, which override the defaults).
 * @public
 */
export const analysisOverrideSchema = z
  .object({
    provider: z.string().min(1).optional(),
    interval: rolloutDurationSchema.optional(),
    count: z.number().int().min(1).max(100).optional(),
    failureLimit: z.number().int().min(1).max(100).optional(),
    maxErrorRate: z.number().min(0).max(1).optional(),
    maxLatencyP99Ms: z.number().positive().optional(),
    judge: z.enum(['threshold', 'mann-whitney']).optional(),
    queries: z.array(customAnalysisQuerySchema).max(10).optional(),
  })
  .strict();

/**
 * One step of a strategy. Each is idempotent and resumable:
 *
 * - `setWeight`: the new version's share of traffic, in percent;
 * - `pause`: for `duration`, or (without one) until a person promotes;
 * - `analysis`: measures the new version (the rollout's `analysis`, overridden here);
 * - `approval`: waits until someone of `group` approves;
 * - `promote`: the new version takes all traffic and becomes the stable one.
 *
 * @public
 */
export const rolloutStepSchema = z.union([
  z.object({ setWeight: z.number().int().min(0).max(100) }).strict(),
  z
    .object({
      pause: z.object({ duration: rolloutDurationSchema.optional() }).strict(),
    })
    .strict(),
  z.object({ analysis: analysisOverrideSchema }).strict(),
  z
    .object({
      approval: z
        .object({
          group: z
            .string()
            .regex(
              /^group:[a-z0-9._-]+\/[a-z0-9._-]+$|^[a-z0-9._-]+$/i,
              'must be a group reference, e.g. group:default/platform',
            ),
        })
        .strict(),
    })
    .strict(),
  z.object({ promote: z.object({}).strict() }).strict(),
]);

/**
 * A step as written.
 * @public
 */
export type RolloutStep = z.infer<typeof rolloutStepSchema>;

/**
 * One wave of a rollout across cells: the cells it reaches, and the error budget (the error
 * rate the new version may show there) that halts it.
 * @public
 */
export const rolloutWaveSchema = z
  .object({
    cells: z.array(z.string().min(1)).min(1),
    errorBudget: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * How a resource rolls out a new version (`spec.rollout`). Unset, the product and tier
 * defaults apply ({@link defaultRollout}).
 * @public
 */
export const rolloutSpecSchema = z
  .object({
    strategy: z.enum(deploymentStrategies),
    steps: z
      .array(rolloutStepSchema)
      .max(50)
      .optional()
      .describe('canary: the steps; default 5 → analysis → 25 → 50 → 100'),
    analysis: analysisOverrideSchema.optional(),
    headerMatch: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$/, 'a header name'),
        value: z.string().max(4096),
      })
      .strict()
      .optional()
      .describe('requests with this header reach the new version'),
    maxSurge: z.number().int().min(0).max(100).optional(),
    maxUnavailable: z.number().int().min(0).max(100).optional(),
    scaleDownDelay: rolloutDurationSchema.optional(),
    previewAnalysis: z.boolean().optional(),
    waves: z.array(rolloutWaveSchema).max(20).optional(),
    trafficRouter: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.steps && r.strategy !== 'canary') {
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: `only a canary takes steps (this rollout is ${r.strategy})`,
      });
    }
    if (r.maxSurge === 0 && r.maxUnavailable === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxUnavailable'],
        message: 'maxSurge and maxUnavailable cannot both be 0',
      });
    }
    const seen = new Set<string>();
    for (const [i, wave] of (r.waves ?? []).entries()) {
      for (const cell of wave.cells) {
        if (seen.has(cell)) {
          ctx.addIssue({
            code: 'custom',
            path: ['waves', i, 'cells'],
            message: `cell ${cell} is in two waves`,
          });
        }
        seen.add(cell);
      }
    }
  });

/**
 * A rollout as written in a resource's spec.
 * @public
 */
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

/**
 * The default canary steps: 5 → analysis → 25 → analysis → 50 → analysis → 100.
 * @public
 */
export const defaultCanarySteps: RolloutStep[] = [
  { setWeight: 5 },
  { analysis: {} },
  { setWeight: 25 },
  { analysis: {} },
  { setWeight: 50 },
  { analysis: {} },
  { promote: {} },
];

/**
 * The rollout a resource gets when its spec names none: a webapp of a critical or high tier
 * rolls out as a canary with analysis; a medium one rolling with analysis between batches; a
 * low one rolling. Other products (databases, caches) roll replica by replica.
 * @public
 */
export function defaultRollout(product: string, tier: TierId): RolloutSpec {
  if (product === 'webapp' && (tier === 'critical' || tier === 'high')) {
    return { strategy: 'canary' };
  }
  if (product === 'webapp' && tier === 'medium') {
    return { strategy: 'rolling', analysis: {} };
  }
  return { strategy: 'rolling' };
}

/**
 * The version a resource's parameters ask for: `engineVersion` (databases, caches), else
 * `version` (a webapp's image tag); undefined for a product without versions.
 * @public
 */
export function resourceVersionOf(
  params: Record<string, unknown> | undefined,
): string | undefined {
  const version = params?.[resourceVersionKey(params)];
  return version === undefined || version === null
    ? undefined
    : String(version);
}

/**
 * The parameter holding a resource's version (see {@link resourceVersionOf}): what a rollout
 * or a rollback changes.
 * @public
 */
export function resourceVersionKey(
  params: Record<string, unknown> | undefined,
): 'engineVersion' | 'version' {
  return params?.engineVersion !== undefined && params?.engineVersion !== null
    ? 'engineVersion'
    : 'version';
}
