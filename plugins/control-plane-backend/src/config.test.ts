import { ConfigReader } from '@backstage/config';
import { readControlPlaneConfig } from './config';

const read = (controlPlane: object) =>
  readControlPlaneConfig(new ConfigReader({ controlPlane }));

describe('readControlPlaneConfig', () => {
  it('defaults the breaker, the health window, the probes and the weights', () => {
    const config = read({});
    expect(config.health.breaker).toEqual({
      consecutiveFailures: 5,
      failureRate: 0.5,
      minCalls: 10,
      cooldownMs: 30_000,
      probeSuccesses: 3,
    });
    expect(config.health.window.as('minutes')).toBe(5);
    expect(config.health.probeInterval.as('seconds')).toBe(5);
    expect(config.schedulingWeights).toEqual({});
    expect(config.pricing.aws.hourly.mysql.large).toBe(0.356);
  });

  it.each([
    [{}, 7 * 24],
    [{ clusters: { idleFor: { days: 14 } } }, 14 * 24],
    [{ clusters: { idleFor: 'PT36H' } }, 36],
  ])(
    'reads how long an empty cluster waits before it is proposed for decommission: %j',
    (controlPlane, hours) => {
      expect(read(controlPlane).clusters?.idleFor.as('hours')).toBe(hours);
    },
  );

  it('refuses an idle time that is not a duration', () => {
    expect(() => read({ clusters: { idleFor: 'a week' } })).toThrow(
      'controlPlane idleFor: not an ISO-8601 duration or HumanDuration: a week',
    );
  });

  it('reads them', () => {
    const config = read({
      health: {
        window: { minutes: 10 },
        probeInterval: 'PT2S',
        breaker: {
          consecutiveFailures: 3,
          failureRate: 0.25,
          minCalls: 20,
          openDuration: { minutes: 2 },
          probeSuccesses: 5,
        },
      },
      scheduling: { weights: { low: { cost: 1, health: 0 } } },
      pricing: { aws: { hourly: { mysql: { large: 0.3 } } } },
    });
    expect(config.health.breaker).toEqual({
      consecutiveFailures: 3,
      failureRate: 0.25,
      minCalls: 20,
      cooldownMs: 120_000,
      probeSuccesses: 5,
    });
    expect(config.health.window.as('minutes')).toBe(10);
    expect(config.health.probeInterval.as('seconds')).toBe(2);
    expect(config.schedulingWeights).toEqual({ low: { cost: 1, health: 0 } });
    expect(config.pricing.aws.hourly.mysql.large).toBe(0.3);
  });

  it.each([
    [
      { health: { breaker: { failureRate: 1.5 } } },
      'controlPlane.health: breaker.failureRate must be in (0, 1]',
    ],
    [
      { health: { breaker: { consecutiveFailures: 0 } } },
      'controlPlane.health: breaker.consecutiveFailures must be a whole number of at least 1',
    ],
    [
      { health: { window: { seconds: 10 } } },
      'controlPlane.health: window must be at least a minute',
    ],
    [
      { scheduling: { weights: { low: { cost: -1 } } } },
      'controlPlane.scheduling.weights.low: cost: ',
    ],
    [
      { scheduling: { weights: { low: { price: 1 } } } },
      'controlPlane.scheduling.weights.low: ',
    ],
    [
      { scheduling: { weights: { constructor: { cost: 1 } } } },
      'controlPlane.scheduling.weights.constructor: not a tier',
    ],
  ])('refuses %j naming the key', (controlPlane, message) => {
    expect(() => read(controlPlane)).toThrow(message);
  });

  it('reads the audit key and the keys it replaced; without a key, the key file is in the data directory', () => {
    expect(read({ dataDir: '/var/idp' }).audit).toEqual({
      previousKeys: [],
      keyFile: '/var/idp/audit.key',
    });
    expect(
      read({
        audit: {
          key: 'a key of enough length',
          previousKeys: ['the key of last year'],
        },
      }).audit,
    ).toMatchObject({
      key: 'a key of enough length',
      previousKeys: ['the key of last year'],
    });
    expect(() => read({ audit: { key: 'short' } })).toThrow(
      'controlPlane.audit.key must be at least 16 characters',
    );
  });
});
