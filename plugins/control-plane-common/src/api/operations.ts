import { z } from 'zod';
import { operationStates, operationTypeSchema } from '../model/operations';
import { listOf } from './lists';

/**
 * `POST /resources/{namespace}/{name}/operations`: run an operation of the unified contract.
 * @public
 */
export const createOperationRequestSchema = z
  .object({
    type: operationTypeSchema,
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .meta({ id: 'CreateOperationRequest' });

/**
 * A request to run an operation.
 * @public
 */
export type CreateOperationRequest = z.input<
  typeof createOperationRequestSchema
>;

/**
 * One entry of an operation's timeline.
 * @public
 */
export const operationEventSchema = z.object({
  id: z.number().int(),
  type: z
    .string()
    .describe(
      'e.g. operation.accepted, step.started, step.retried, step.compensated',
    ),
  step: z.string().optional(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  at: z.string(),
});

/**
 * A timeline entry.
 * @public
 */
export type OperationEvent = z.infer<typeof operationEventSchema>;

/**
 * An operation: one durable run acting on a resource.
 * @public
 */
export const operationSchema = z
  .object({
    id: z.string(),
    type: z.enum([
      'create',
      'update',
      'delete',
      'deploy',
      ...operationTypeSchema.options,
    ]),
    resourceRef: z.string(),
    state: z.enum(operationStates),
    params: z.record(z.string(), z.unknown()),
    actor: z.string(),
    reason: z.string().optional(),
    traceId: z.string().optional(),
    error: z.string().optional().describe('why it failed or needs attention'),
    cancelRequested: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        state: z.enum([
          'running',
          'succeeded',
          'failed',
          'compensating',
          'compensated',
          'compensation-failed',
        ]),
        attempts: z.number().int(),
        compensationAttempts: z.number().int(),
        error: z.string().optional(),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
      }),
    ),
    timeline: z.array(operationEventSchema),
  })
  .meta({ id: 'Operation' });

/**
 * An operation.
 * @public
 */
export type Operation = z.infer<typeof operationSchema>;

/**
 * `GET /resources/{namespace}/{name}/operations`.
 * @public
 */
export const operationListSchema = listOf(operationSchema, 'OperationList');

/**
 * `POST /reconciler/run`.
 * @public
 */
export const reconcilerRunRequestSchema = z
  .object({
    drift: z
      .boolean()
      .default(false)
      .describe('also ask the drivers for the actual state of READY resources'),
  })
  .strict()
  .meta({ id: 'ReconcilerRunRequest' });

/**
 * The answer of `POST /reconciler/run`: the operations the pass started, and the drift found.
 * @public
 */
export const reconcilerRunResponseSchema = z
  .object({
    started: z.array(
      z.object({ ref: z.string(), type: z.string(), operationId: z.string() }),
    ),
    drift: z
      .object({
        checked: z.number().int().nonnegative(),
        drifted: z.array(
          z.object({
            ref: z.string(),
            fields: z.array(z.string()),
            corrected: z.boolean(),
          }),
        ),
      })
      .optional()
      .describe('present when drift was asked for'),
  })
  .meta({ id: 'ReconcilerRunResponse' });
