import { z } from 'zod';
import { policySpecSchema, quotaSpecSchema } from '../model/fleet';
import { listOf } from './lists';

/**
 * `GET /quotas`.
 * @public
 */
export const quotaListSchema = listOf(
  quotaSpecSchema.extend({ id: z.string() }).meta({ id: 'Quota' }),
  'QuotaList',
);

/**
 * `GET /policies`.
 * @public
 */
export const policyListSchema = listOf(
  policySpecSchema.extend({ id: z.string() }).meta({ id: 'Policy' }),
  'PolicyList',
);

const usageSchema = z.object({
  instances: z.number().int().nonnegative(),
  storageGi: z.number().nonnegative(),
  monthlyCost: z.number().nonnegative().describe('USD per month'),
});

/**
 * `GET /quotas/usage`: every quota with what its scope uses now.
 * @public
 */
export const quotaUsageListSchema = listOf(
  quotaSpecSchema
    .extend({ id: z.string(), usage: usageSchema })
    .meta({ id: 'QuotaUsage' }),
  'QuotaUsageList',
);
