import { z } from 'zod';
import { deploymentPhases, deploymentStrategies } from '../model/deployments';
import { filterTextSchema, listOf } from './lists';

/**
 * One metric of one measurement of an analysis: the new version against the stable one over
 * the measurement's window, with the samples behind the verdict (for the plots).
 * @public
 */
export const deploymentMetricSchema = z.object({
  metric: z.string(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  reasons: z.array(z.string()),
  threshold: z
    .object({ limit: z.number(), kind: z.enum(['max', 'min']) })
    .optional(),
  canaryMedian: z.number().optional(),
  baselineMedian: z.number().optional(),
  pValue: z.number().optional().describe('Mann-Whitney U, one-sided'),
  effectSize: z
    .number()
    .optional()
    .describe(
      'probability that a new-version sample is worse than a stable one',
    ),
  canary: z
    .array(z.array(z.number()).length(2))
    .describe('samples of the new version, each [time ms, value]'),
  baseline: z
    .array(z.array(z.number()).length(2))
    .describe('samples of the stable version, each [time ms, value]'),
});

/**
 * A measurement of an analysis step.
 * @public
 */
export const deploymentMeasurementSchema = z.object({
  step: z.number().int().describe('the index of the analysis step'),
  index: z.number().int().describe('1 for the first measurement of the step'),
  cell: z.string().optional(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  metrics: z.array(deploymentMetricSchema),
  startedAt: z.string(),
  endedAt: z.string(),
});

/**
 * A measurement.
 * @public
 */
export type DeploymentMeasurement = z.infer<typeof deploymentMeasurementSchema>;

/**
 * One step of a deployment's plan, and where it stands.
 * @public
 */
export const deploymentStepSchema = z.object({
  index: z.number().int(),
  kind: z.enum([
    'start',
    'setWeight',
    'pause',
    'analysis',
    'approval',
    'batch',
    'switch',
    'scaleDown',
    'promote',
  ]),
  description: z.string(),
  wave: z
    .number()
    .int()
    .optional()
    .describe('the wave it belongs to (0-based)'),
  cells: z.array(z.string()).optional(),
  weight: z.number().int().optional(),
  state: z.enum(['pending', 'running', 'succeeded', 'failed', 'compensated']),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

/**
 * A deployment: one rollout of a resource from its stable version to a new one.
 * @public
 */
export const deploymentSchema = z
  .object({
    id: z.string(),
    resourceRef: z.string(),
    operationId: z.string(),
    fromVersion: z.string(),
    toVersion: z.string(),
    generation: z.number().int(),
    strategy: z.enum(deploymentStrategies),
    phase: z.enum(deploymentPhases),
    message: z.string().optional(),
    currentStep: z.number().int().describe('index of the step in progress'),
    steps: z.array(deploymentStepSchema),
    weights: z.object({
      canary: z.number().int().describe('the new version’s share, percent'),
      cells: z.record(z.string(), z.number().int()).optional(),
      headerMatch: z.object({ name: z.string(), value: z.string() }).optional(),
    }),
    trafficRouter: z.string().optional(),
    metricsProvider: z.string().optional(),
    measurements: z.array(deploymentMeasurementSchema),
    approvals: z.array(
      z.object({ step: z.number().int(), by: z.string(), at: z.string() }),
    ),
    actor: z.string(),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    durationMs: z.number().optional(),
  })
  .meta({ id: 'Deployment' });

/**
 * A deployment.
 * @public
 */
export type Deployment = z.infer<typeof deploymentSchema>;

/**
 * `GET /resources/{namespace}/{name}/deployments`: newest first, without samples.
 * @public
 */
export const deploymentListSchema = listOf(deploymentSchema, 'DeploymentList');

/**
 * `POST /deployments/{id}/{action}`: what a person does to a running deployment.
 * @public
 */
export const deploymentActions = [
  'promote',
  'pause',
  'resume',
  'abort',
  'approve',
] as const;

/**
 * A deployment action.
 * @public
 */
export type DeploymentAction = (typeof deploymentActions)[number];

/**
 * The body of a deployment action.
 * @public
 */
export const deploymentActionRequestSchema = z
  .object({
    reason: z.string().max(500).optional(),
    full: z
      .boolean()
      .optional()
      .describe('promote: skip every remaining step, not only a pause'),
  })
  .strict()
  .meta({ id: 'DeploymentActionRequest' });

/**
 * `POST /resources/{namespace}/{name}/rollback`: roll back to an earlier succeeded version.
 * @public
 */
export const rollbackRequestSchema = z
  .object({
    toVersion: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe(
        'an earlier version that succeeded; the one before the running one when left out',
      ),
  })
  .strict()
  .meta({ id: 'RollbackRequest' });

/**
 * `GET /versions`: which version runs where.
 * @public
 */
export const versionQuerySchema = z
  .object({
    namespace: filterTextSchema.optional(),
    component: filterTextSchema.optional(),
    product: filterTextSchema.optional(),
    cell: filterTextSchema.optional(),
    provider: filterTextSchema.optional(),
  })
  .strict();

/**
 * One running resource and its version.
 * @public
 */
export const versionEntrySchema = z.object({
  resourceRef: z.string(),
  product: z.string(),
  component: z.string().optional(),
  cell: z.string(),
  provider: z.string().optional(),
  cluster: z.string().optional(),
  version: z.string().optional(),
  deploying: z
    .object({ id: z.string(), toVersion: z.string(), canaryWeight: z.number() })
    .optional(),
});

/**
 * `GET /versions`.
 * @public
 */
export const versionListSchema = listOf(versionEntrySchema, 'VersionList');
