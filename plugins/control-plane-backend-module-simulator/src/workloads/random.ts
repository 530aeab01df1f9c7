/**
 * A seeded source of chance (mulberry32): the same seed gives the same draws, so simulated
 * traffic, its noise and the tests built on it are reproducible.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller) from a uniform source. */
export function normalDraw(random: () => number): number {
  const u = 1 - random(); // in (0, 1]
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Poisson draw of mean `mean` (Knuth's method for small means, normal beyond 30). */
export function poissonDraw(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normalDraw(random)));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}
