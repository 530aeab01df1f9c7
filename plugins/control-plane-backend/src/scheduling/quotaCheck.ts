import { PolicyQuotaUsage } from '@idp-multicloud/plugin-control-plane-node';

/** A limit a request would break, with the quota it belongs to. */
export interface QuotaViolation {
  code: string;
  message: string;
  quota: string;
}

const LIMITS = [
  ['maxInstances', 'instances', 'instances', ''],
  ['maxStorageGi', 'storageGi', 'GiB of storage', ''],
  ['maxMonthlyCost', 'monthlyCost', 'USD per month', '$'],
] as const;

/**
 * The limits a request would break: only those its own share makes worse. Pure: the
 * placement pipeline's `quota` filter, the quota guard and the built-in policy evaluator
 * all decide with it.
 */
export function quotaViolations(usages: PolicyQuotaUsage[]): QuotaViolation[] {
  const violations: QuotaViolation[] = [];
  for (const u of usages) {
    for (const [limitKey, field, unit, sign] of LIMITS) {
      const limit = u.limits[limitKey];
      const share = u.request[field];
      if (limit === undefined || share <= 0) continue;
      const after = u.usage[field] + share;
      if (after > limit + 1e-9) {
        const fmt = (v: number) =>
          sign ? `${sign}${v.toFixed(2)}` : `${Math.round(v * 100) / 100}`;
        violations.push({
          code: `quota.${limitKey}`,
          quota: u.quota,
          message: `quota ${u.quota} (${u.scope.kind} ${
            u.scope.name
          }) allows ${limitKey} ${fmt(limit)} ${unit}; ${fmt(
            u.usage[field],
          )} in use, this request adds ${fmt(share)}`,
        });
      }
    }
  }
  return violations;
}
