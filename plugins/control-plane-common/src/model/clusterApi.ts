/**
 * Requests and answers of the cluster lifecycle API (`/clusters`).
 */
import { z } from 'zod';
import {
  clusterChannels,
  clusterPhases,
  kubernetesVersionSchema,
  maintenanceWindowSchema,
  nodeCountSchema,
  nodePoolSchema,
} from './clusters';
import { nameSchema } from './names';
import { labelsSchema } from './resources';

// the manifest's labels (a request's labels are written to it), without its default
const labels = labelsSchema.unwrap().optional();

/**
 * `POST /clusters`: a new cluster, written to `clusters/<name>.yaml` and provisioned.
 * @public
 */
export const clusterCreateRequestSchema = z
  .object({
    name: nameSchema,
    cell: nameSchema,
    provider: nameSchema,
    region: z.string().min(1),
    zones: z.array(z.string().min(1)).min(1),
    version: kubernetesVersionSchema,
    nodePools: z.array(nodePoolSchema.strict()).min(1),
    channel: z.enum(clusterChannels).optional(),
    maintenanceWindow: maintenanceWindowSchema.optional(),
    labels,
    capacity: z
      .object({
        cpu: z.number().positive(),
        memoryGi: z.number().positive(),
        storageGi: z.number().nonnegative(),
        maxResources: z.number().int().positive(),
      })
      .optional()
      .describe('what it may hold; derived from the node pools when left out'),
  })
  .strict()
  .meta({ id: 'ClusterCreateRequest' });

/**
 * A cluster creation request.
 * @public
 */
export type ClusterCreateRequest = z.infer<typeof clusterCreateRequestSchema>;

/**
 * `PATCH /clusters/{name}`: a new version upgrades it, new pool sizes scale it; channel and
 * window only change what automation does. `null` removes a channel or window.
 * @public
 */
export const clusterPatchRequestSchema = z
  .object({
    version: kubernetesVersionSchema.optional(),
    nodePools: z
      .array(
        z
          .object({
            name: nameSchema,
            count: nodeCountSchema,
            min: nodeCountSchema.optional(),
            max: nodeCountSchema.optional(),
          })
          .strict(),
      )
      .min(1)
      .optional(),
    channel: z.enum(clusterChannels).nullable().optional(),
    maintenanceWindow: z.union([maintenanceWindowSchema, z.null()]).optional(),
    labels,
    when: z
      .enum(['now', 'window'])
      .optional()
      .describe(
        'with a new version: start the upgrade now (the default), or when the maintenance window next opens',
      ),
  })
  .strict()
  .refine(b => Object.keys(b).some(k => k !== 'when'), {
    message:
      'change at least one of version, nodePools, channel, maintenanceWindow, labels',
  })
  .meta({ id: 'ClusterPatchRequest' });

/**
 * A cluster change request.
 * @public
 */
export type ClusterPatchRequest = z.infer<typeof clusterPatchRequestSchema>;

/**
 * `POST /clusters/{name}/drain`: move everything placed on it to other clusters of its cell.
 * @public
 */
export const clusterDrainRequestSchema = z
  .object({
    reason: z.string().max(500).optional(),
  })
  .strict()
  .meta({ id: 'ClusterDrainRequest' });

/**
 * A condition of a cluster (control plane, nodes, certificates), as its driver reports it.
 * @public
 */
export const clusterConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
});

/**
 * What the control plane observed of a cluster.
 * @public
 */
export const clusterObservedSchema = z
  .object({
    phase: z.enum(clusterPhases),
    controlPlaneVersion: z.string().nullable(),
    pools: z.array(
      z.object({
        name: z.string(),
        version: z.string().nullable(),
        nodes: z.number().int().nonnegative(),
        ready: z.number().int().nonnegative(),
      }),
    ),
    nodesReady: z.number().int().nonnegative(),
    nodesTotal: z.number().int().nonnegative(),
    conditions: z.array(clusterConditionSchema),
    certificatesExpireAt: z.string().nullable(),
    phaseChangedAt: z.string(),
    observedAt: z.string(),
  })
  .meta({ id: 'ClusterObserved' });

/**
 * What was observed of a cluster.
 * @public
 */
export type ClusterObserved = z.infer<typeof clusterObservedSchema>;

/**
 * A cluster's health score, 0 (failing) to 100, and what made it.
 * @public
 */
export const clusterHealthSchema = z
  .object({
    score: z.number().min(0).max(100),
    breakdown: z.array(
      z.object({
        factor: z.string(),
        weight: z.number(),
        score: z
          .number()
          .min(0)
          .max(1)
          .describe('1: nothing to fault on this factor'),
        detail: z.string(),
      }),
    ),
  })
  .meta({ id: 'ClusterHealth' });

/**
 * A cluster's health.
 * @public
 */
export type ClusterHealth = z.infer<typeof clusterHealthSchema>;

/**
 * The lifecycle operations of a cluster.
 * @public
 */
export const clusterOperationTypes = [
  'create',
  'upgrade',
  'scale',
  'drain',
  'decommission',
] as const;

/**
 * A lifecycle operation's type.
 * @public
 */
export type ClusterOperationType = (typeof clusterOperationTypes)[number];

/**
 * The states of a cluster operation.
 * @public
 */
export const clusterOperationStates = [
  'pending',
  'running',
  'succeeded',
  'compensated',
  'failed',
] as const;

/**
 * A lifecycle operation of a cluster: a saga of steps, each recorded as it runs.
 * @public
 */
export const clusterOperationSchema = z
  .object({
    id: z.string(),
    cluster: z.string(),
    type: z.enum(clusterOperationTypes),
    state: z.enum(clusterOperationStates),
    params: z.record(z.string(), z.unknown()),
    actor: z.string(),
    error: z.string().nullable(),
    steps: z.array(
      z.object({
        name: z.string(),
        state: z.enum([
          'pending',
          'running',
          'succeeded',
          'failed',
          'compensated',
        ]),
        attempts: z.number().int(),
        result: z.unknown().optional(),
        error: z.string().optional(),
      }),
    ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ClusterOperation' });

/**
 * A cluster operation.
 * @public
 */
export type ClusterOperation = z.infer<typeof clusterOperationSchema>;

/**
 * The answer to a request that started a cluster operation (202), or changed only what
 * automation does (200, no operation).
 * @public
 */
export const clusterAcceptedSchema = z
  .object({
    cluster: z.string(),
    commit: z.string().nullable(),
    operation: clusterOperationSchema
      .optional()
      .describe(
        'the operation it started; none when it only changed automation',
      ),
  })
  .meta({ id: 'ClusterAccepted' });

/**
 * `GET /clusters/{name}/health`: the score now and its series.
 * @public
 */
export const clusterHealthHistorySchema = z
  .object({
    cluster: z.string(),
    health: clusterHealthSchema,
    series: z.array(z.object({ at: z.string(), score: z.number() })),
  })
  .meta({ id: 'ClusterHealthHistory' });

/**
 * `GET /clusters/{name}/operations`.
 * @public
 */
export const clusterOperationListSchema = z
  .object({ items: z.array(clusterOperationSchema) })
  .meta({ id: 'ClusterOperationList' });

/**
 * `POST /clusters/automation/run`: what a pass of channel automation found and started, per
 * channel.
 * @public
 */
export const clusterAutomationReportSchema = z
  .object({
    channels: z.array(
      z.object({
        channel: z.enum(clusterChannels),
        target: z.string(),
        waves: z.array(z.array(z.string())),
        wave: z
          .number()
          .int()
          .describe('the wave under way; waves.length when all are done'),
        start: z
          .array(z.string())
          .describe('clusters whose upgrade this pass started'),
        halted: z.string().optional().describe('why the rollout stopped'),
        refused: z.array(z.object({ cluster: z.string(), reason: z.string() })),
        nextWindows: z
          .record(z.string(), z.string().nullable())
          .describe('when each cluster still to upgrade may next be upgraded'),
        awaitingApproval: z
          .array(z.string())
          .describe('minors that wait for a platform engineer to approve them'),
      }),
    ),
    idle: z
      .array(
        z.object({
          cluster: z.string(),
          emptySince: z.string(),
          proposal: z
            .string()
            .nullable()
            .describe('the change proposed to decommission it'),
        }),
      )
      .describe('managed clusters empty for longer than the idle time'),
    proposed: z
      .array(z.string())
      .describe('idle clusters this pass proposed for decommission'),
    decommissioning: z
      .array(z.string())
      .describe(
        'clusters whose desired lifecycle is decommissioned, whose decommission this pass started',
      ),
  })
  .meta({ id: 'ClusterAutomationReport' });

/**
 * `POST /clusters/channels/{channel}/approvals`: a new minor the channel's clusters may move to.
 * @public
 */
export const clusterMinorApprovalSchema = z
  .object({
    minor: z.string().regex(/^1\.\d{1,2}$/, 'must be a minor like 1.32'),
  })
  .strict()
  .meta({ id: 'ClusterMinorApproval' });
