/** The circuit breaker of a provider, as data. */
export interface BreakerRecord {
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  probeSuccesses: number;
  openedAt?: number;
  reason?: string;
}

export interface BreakerPolicy {
  /** Calls in the window before the failure rate counts. @defaultValue 10 */
  minCalls: number;
  /** Failure rate in the window that opens the breaker. @defaultValue 0.5 */
  failureRate: number;
  /** Failures in a row that open the breaker. @defaultValue 5 */
  consecutiveFailures: number;
  /** How long an open breaker waits before it lets probes through. @defaultValue 30 s */
  cooldownMs: number;
  /** Successful probes in a row that close a half-open breaker. @defaultValue 3 */
  probeSuccesses: number;
}

export const defaultBreakerPolicy: BreakerPolicy = {
  minCalls: 10,
  failureRate: 0.5,
  consecutiveFailures: 5,
  cooldownMs: 30_000,
  probeSuccesses: 3,
};

/** Outcomes of calls, oldest first (true = success). */
export type Outcomes = boolean[];

/**
 * The next state of a breaker after some calls, given the window's totals. Pure:
 *
 * - closed → open after `consecutiveFailures` failures in a row, or when the window has at
 *   least `minCalls` calls and a failure rate of at least `failureRate`;
 * - open → half-open once `cooldownMs` passed since it opened;
 * - half-open → closed after `probeSuccesses` successes in a row; any failure re-opens it.
 */
export function nextBreaker(
  current: BreakerRecord,
  outcomes: Outcomes,
  window: { calls: number; failures: number },
  now: number,
  policy: BreakerPolicy = defaultBreakerPolicy,
): BreakerRecord {
  let next: BreakerRecord = { ...current };
  if (
    next.state === 'open' &&
    next.openedAt !== undefined &&
    now - next.openedAt >= policy.cooldownMs
  ) {
    next = {
      ...next,
      state: 'half-open',
      probeSuccesses: 0,
      reason: 'cooldown over: probing',
    };
  }
  for (const ok of outcomes) {
    next.consecutiveFailures = ok ? 0 : next.consecutiveFailures + 1;
    if (next.state === 'half-open') {
      if (ok) {
        next.probeSuccesses += 1;
        if (next.probeSuccesses >= policy.probeSuccesses) {
          next = {
            state: 'closed',
            consecutiveFailures: 0,
            probeSuccesses: 0,
            reason: `${policy.probeSuccesses} probes succeeded`,
          };
        }
      } else {
        next = {
          ...next,
          state: 'open',
          openedAt: now,
          probeSuccesses: 0,
          reason: 'a probe failed',
        };
      }
    } else if (
      next.state === 'closed' &&
      !ok &&
      next.consecutiveFailures >= policy.consecutiveFailures
    ) {
      next = {
        ...next,
        state: 'open',
        openedAt: now,
        reason: `${next.consecutiveFailures} failures in a row`,
      };
    }
  }
  if (
    next.state === 'closed' &&
    window.calls >= policy.minCalls &&
    window.failures / window.calls >= policy.failureRate
  ) {
    next = {
      ...next,
      state: 'open',
      openedAt: now,
      reason: `${window.failures} of ${window.calls} calls failed in the window`,
    };
  }
  return next;
}
