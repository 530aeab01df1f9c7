import type { PlacedResource } from './clusterSagas';

const tierRank: Record<string, number> = {
  critical: 0,
  high: 1,
  medium: 2,
  low: 3,
};
const rank = (tier: string) =>
  Object.hasOwn(tierRank, tier) ? tierRank[tier] : 4;

/**
 * The order a drain moves resources in: what others depend on before them (a database before
 * the webapp that uses it), and among those free to go, the most critical tier first, then
 * by ref. Dependencies on resources not on the cluster do not hold anything back; a cycle
 * (refused by the desired state) would be moved in ref order.
 */
export function orderForDrain<T extends PlacedResource>(placed: T[]): T[] {
  const here = new Map(placed.map(r => [r.ref, r]));
  const done = new Set<string>();
  const order: T[] = [];
  const byPriority = (a: T, b: T) =>
    rank(a.tier) - rank(b.tier) || a.ref.localeCompare(b.ref);
  while (order.length < placed.length) {
    const ready = placed
      .filter(r => !done.has(r.ref))
      .filter(r => r.dependsOn.every(d => !here.has(d) || done.has(d)))
      .sort(byPriority);
    const next = ready.length
      ? ready
      : placed
          .filter(r => !done.has(r.ref))
          .sort(byPriority)
          .slice(0, 1);
    for (const r of next) {
      done.add(r.ref);
      order.push(r);
    }
  }
  return order;
}
