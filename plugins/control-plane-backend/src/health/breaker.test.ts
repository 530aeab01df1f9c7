import { BreakerRecord, defaultBreakerPolicy, nextBreaker } from './breaker';

const closed: BreakerRecord = {
  state: 'closed',
  consecutiveFailures: 0,
  probeSuccesses: 0,
};
const t0 = 1_000_000;

describe('nextBreaker', () => {
  it.each<
    [
      string,
      BreakerRecord,
      boolean[],
      { calls: number; failures: number },
      number,
      BreakerRecord['state'],
    ]
  >([
    [
      'stays closed on success',
      closed,
      [true, true],
      { calls: 2, failures: 0 },
      t0,
      'closed',
    ],
    [
      'opens after 5 failures in a row',
      closed,
      [false, false, false, false, false],
      { calls: 5, failures: 5 },
      t0,
      'open',
    ],
    [
      'stays closed at 4 in a row',
      closed,
      [false, false, false, false],
      { calls: 4, failures: 4 },
      t0,
      'closed',
    ],
    [
      'opens on a failure rate over the window',
      closed,
      [true, false],
      { calls: 20, failures: 10 },
      t0,
      'open',
    ],
    [
      'ignores the rate below the minimum of calls',
      closed,
      [false, true],
      { calls: 6, failures: 5 },
      t0,
      'closed',
    ],
    [
      'waits out the cooldown',
      {
        state: 'open',
        consecutiveFailures: 5,
        probeSuccesses: 0,
        openedAt: t0,
      },
      [],
      { calls: 0, failures: 0 },
      t0 + 29_000,
      'open',
    ],
    [
      'half-opens after the cooldown',
      {
        state: 'open',
        consecutiveFailures: 5,
        probeSuccesses: 0,
        openedAt: t0,
      },
      [],
      { calls: 0, failures: 0 },
      t0 + 30_000,
      'half-open',
    ],
    [
      'closes after 3 probes succeed',
      { state: 'half-open', consecutiveFailures: 0, probeSuccesses: 0 },
      [true, true, true],
      { calls: 3, failures: 0 },
      t0,
      'closed',
    ],
    [
      're-opens when a probe fails',
      { state: 'half-open', consecutiveFailures: 0, probeSuccesses: 2 },
      [false],
      { calls: 1, failures: 1 },
      t0,
      'open',
    ],
  ])('%s', (_name, current, outcomes, window, now, state) => {
    expect(
      nextBreaker(current, outcomes, window, now, defaultBreakerPolicy).state,
    ).toBe(state);
  });

  it('remembers when it opened and why', () => {
    const opened = nextBreaker(
      closed,
      Array(5).fill(false),
      { calls: 5, failures: 5 },
      t0,
    );
    expect(opened).toMatchObject({
      state: 'open',
      openedAt: t0,
      reason: '5 failures in a row',
    });
  });
});
