import { z } from 'zod';
import { analysisOverrideSchema } from './deployments';

/**
 * The operations of the unified contract: what a product may let its owners do to a running
 * resource, besides create, update and delete.
 * @public
 */
export const operationTypes = [
  'failover',
  'migrate',
  'backup',
  'restore',
  'scale',
  'rotate-credentials',
  'upgrade-version',
] as const;

/**
 * An operation of the unified contract.
 * @public
 */
export type OperationType = (typeof operationTypes)[number];

/**
 * The operation type schema.
 * @public
 */
export const operationTypeSchema = z.enum(operationTypes);

/**
 * The parameters each operation accepts.
 * @public
 */
export const operationParamsSchemas = {
  failover: z
    .object({
      targetZone: z
        .string()
        .optional()
        .describe('zone to promote a replica in; the healthiest when left out'),
    })
    .strict(),
  migrate: z
    .object({
      cell: z
        .string()
        .optional()
        .describe('target cell; the current cell when left out'),
      provider: z.string().optional().describe('target provider'),
      cluster: z.string().optional().describe('target cluster'),
      weights: z
        .array(z.number().int().min(1).max(99))
        .min(1)
        .max(10)
        .optional()
        .describe(
          'move the traffic to the target in these steps (percent), each analysed, then all of it (analysed too) before the source goes; at once when left out',
        ),
      analysis: analysisOverrideSchema
        .optional()
        .describe('the analyses of a gradual migration (with weights)'),
    })
    .strict()
    .refine(p => p.cell || p.provider || p.cluster, {
      message: 'name a target: cell, provider or cluster',
    }),
  backup: z
    .object({
      label: z
        .string()
        .max(63)
        .optional()
        .describe('a name to find the backup by'),
    })
    .strict(),
  restore: z
    .object({
      backupId: z.string().min(1).describe('the backup to restore'),
      pointInTime: z
        .string()
        .datetime({ offset: true })
        .optional()
        .describe('restore to this instant instead of the backup time'),
    })
    .strict(),
  scale: z
    .object({
      replicas: z.number().int().min(0).max(100).optional(),
      size: z.enum(['small', 'medium', 'large', 'xlarge']).optional(),
      storageGi: z.number().int().min(1).max(65536).optional(),
    })
    .strict()
    .refine(p => p.replicas !== undefined || p.size || p.storageGi, {
      message: 'name what to scale: replicas, size or storageGi',
    }),
  'rotate-credentials': z.object({}).strict(),
  'upgrade-version': z
    .object({
      version: z
        .string()
        .min(1)
        .describe('the engine version or image tag to move to'),
    })
    .strict(),
} satisfies Record<OperationType, z.ZodType>;

/**
 * The lifecycle of an operation.
 * @public
 */
export const operationStates = [
  'pending',
  'running',
  'compensating',
  'succeeded',
  'failed',
  'compensated',
  'cancelled',
  'needs-attention',
] as const;

/**
 * The state of an operation.
 * @public
 */
export type OperationState = (typeof operationStates)[number];
