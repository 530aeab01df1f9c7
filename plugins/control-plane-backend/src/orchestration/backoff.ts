/**
 * Exponential backoff with full jitter: a delay drawn uniformly from
 * [0, min(max, base * 2^(attempt-1))], at least `floor`.
 */
export function backoffMs(
  attempt: number,
  options: { baseMs: number; maxMs: number; floorMs?: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    options.maxMs,
    options.baseMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.max(options.floorMs ?? 0, Math.round(random() * ceiling));
}
