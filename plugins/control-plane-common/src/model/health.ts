import { z } from 'zod';

/**
 * The answer of `GET /api/control-plane/health`.
 * @public
 */
export const healthResponseSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    database: z.object({
      client: z
        .string()
        .describe('the knex client in use, e.g. better-sqlite3 or pg'),
      migrations: z.object({
        applied: z.array(z.string()),
        pending: z.array(z.string()),
      }),
    }),
  })
  .meta({ id: 'Health' });

/**
 * The answer of `GET /api/control-plane/health`.
 * @public
 */
export type HealthResponse = z.infer<typeof healthResponseSchema>;
