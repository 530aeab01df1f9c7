import { z } from 'zod';

/**
 * The body of every error answer (Backstage's error shape); a validation error lists each
 * offending field in `error.issues`.
 * @public
 */
export const errorResponseSchema = z
  .object({
    error: z
      .object({
        name: z.string(),
        message: z.string(),
        issues: z
          .array(z.object({ path: z.string(), message: z.string() }))
          .optional(),
      })
      .catchall(z.unknown()),
    request: z.object({ method: z.string(), url: z.string() }).optional(),
    response: z.object({ statusCode: z.number().int() }),
  })
  .meta({ id: 'ErrorResponse' });
