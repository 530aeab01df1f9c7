import { tierIds } from '@idp-multicloud/plugin-control-plane-common';

const rank = (tier: string) => {
  const i = (tierIds as readonly string[]).indexOf(tier);
  return i < 0 ? tierIds.length : i;
};

/** Tiers by criticality, most critical first (critical, high, medium, low); others last. */
export function byCriticality<T>(
  tiers: readonly T[],
  idOf: (tier: T) => string = String,
): T[] {
  return [...tiers].sort(
    (a, b) =>
      rank(idOf(a)) - rank(idOf(b)) || idOf(a).localeCompare(idOf(b), 'en'),
  );
}
