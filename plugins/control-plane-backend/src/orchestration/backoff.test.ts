import { backoffMs } from './backoff';

describe('backoffMs', () => {
  const options = { baseMs: 100, maxMs: 5000, floorMs: 10 };
  it.each([
    [1, 1, 100],
    [2, 1, 200],
    [4, 1, 800],
    [10, 1, 5000],
    [3, 0.5, 200],
    [1, 0, 10],
  ])('attempt %i with random %d waits %i ms', (attempt, random, expected) => {
    expect(backoffMs(attempt, options, () => random)).toBe(expected);
  });

  it('spreads retries of the same attempt (jitter)', () => {
    const delays = new Set(
      Array.from({ length: 50 }, () => backoffMs(5, options)),
    );
    expect(delays.size).toBeGreaterThan(20);
    for (const d of delays) expect(d).toBeLessThanOrEqual(1600);
  });
});
