import { z } from 'zod';

/**
 * `GET /gitops/status`: how the index follows the state repository.
 * @public
 */
export const gitopsStatusSchema = z
  .object({
    head: z.string().optional(),
    indexedCommit: z.string().optional(),
    inSync: z.boolean(),
    rejected: z.array(
      z.object({
        commit: z.string(),
        author: z.string(),
        message: z.string(),
        errors: z.array(z.string()),
        detectedAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'GitopsStatus' });

/**
 * The state repository's sync status.
 * @public
 */
export type GitopsStatus = z.infer<typeof gitopsStatusSchema>;

/**
 * `POST /gitops/sync`.
 * @public
 */
export const gitopsSyncResponseSchema = z
  .object({
    result: z.object({
      status: z.enum(['in-sync', 'indexed', 'rejected']),
      commit: z.string().optional(),
      errors: z.array(z.string()).optional(),
    }),
    status: gitopsStatusSchema,
  })
  .meta({ id: 'GitopsSyncResponse' });
