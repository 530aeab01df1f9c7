import { ownValue } from '@idp-multicloud/plugin-control-plane-common';
import { DesiredState } from '../gitops/DesiredState';

/** What a resource asks of its cluster. */
export interface Demand {
  cpu: number;
  memoryGi: number;
  storageGi: number;
}

/**
 * CPU, memory and storage a resource asks of its cluster: its size class per replica
 * (databases and caches run a primary besides their read replicas), and its storage on each.
 * Pure: the scheduler counts cluster usage with it, quotas count storage.
 */
export function demandOf(
  desired: DesiredState,
  product: string,
  params: Record<string, any>,
): Demand {
  const spec = desired.product(product)?.spec;
  const size = ownValue(spec?.sizes, String(params.size ?? 'medium')) ?? {
    cpu: 0.5,
    memoryGi: 1,
  };
  const primary =
    spec?.category === 'database' || spec?.category === 'cache' ? 1 : 0;
  const declared = spec?.replicasParameter
    ? Number(ownValue(params, spec.replicasParameter) ?? 1)
    : 1;
  const replicas = Math.max(1, declared + primary);
  const storage = spec?.storageParameter
    ? Number(ownValue(params, spec.storageParameter) ?? 0)
    : 0;
  return {
    cpu: size.cpu * replicas,
    memoryGi: size.memoryGi * replicas,
    storageGi: storage * replicas,
  };
}
