import { PolicyQuotaUsage } from '@idp-multicloud/plugin-control-plane-node';
import { quotaViolations } from './quotaCheck';

const usage = (
  limits: PolicyQuotaUsage['limits'],
  used: Partial<PolicyQuotaUsage['usage']>,
  request: Partial<PolicyQuotaUsage['request']>,
): PolicyQuotaUsage => ({
  quota: 'payments',
  scope: { kind: 'team', name: 'group:default/payments' },
  limits,
  usage: { instances: 0, storageGi: 0, monthlyCost: 0, ...used },
  request: { instances: 0, storageGi: 0, monthlyCost: 0, ...request },
});

describe('quotaViolations', () => {
  it.each<[string, PolicyQuotaUsage, string[]]>([
    [
      'within every limit',
      usage({ maxInstances: 2 }, { instances: 1 }, { instances: 1 }),
      [],
    ],
    [
      'one instance too many',
      usage({ maxInstances: 1 }, { instances: 1 }, { instances: 1 }),
      [
        'quota payments (team group:default/payments) allows maxInstances 1 instances; 1 in use, this request adds 1',
      ],
    ],
    [
      'storage and cost, the cost in dollars',
      usage(
        { maxStorageGi: 100, maxMonthlyCost: 300 },
        { storageGi: 80, monthlyCost: 250.5 },
        { storageGi: 40, monthlyCost: 99.999 },
      ),
      [
        'quota payments (team group:default/payments) allows maxStorageGi 100 GiB of storage; 80 in use, this request adds 40',
        'quota payments (team group:default/payments) allows maxMonthlyCost $300.00 USD per month; $250.50 in use, this request adds $100.00',
      ],
    ],
    // A scope already over its limit refuses only what makes it worse.
    [
      'over already, a request that adds nothing',
      usage({ maxInstances: 1 }, { instances: 3 }, { instances: 0 }),
      [],
    ],
    [
      'over already, a request that frees some',
      usage({ maxStorageGi: 10 }, { storageGi: 50 }, { storageGi: -20 }),
      [],
    ],
    // Sums of cents are not exact: reaching the limit exactly is within it.
    [
      'at the limit to the cent',
      usage(
        { maxMonthlyCost: 0.3 },
        { monthlyCost: 0.1 },
        { monthlyCost: 0.2 },
      ),
      [],
    ],
  ])('%s', (_case, u, messages) => {
    const violations = quotaViolations([u]);
    expect(violations.map(v => v.message)).toEqual(messages);
    expect(violations.every(v => v.quota === 'payments')).toBe(true);
  });

  it('names the limit in each violation code', () => {
    expect(
      quotaViolations([
        usage(
          { maxInstances: 0, maxStorageGi: 0, maxMonthlyCost: 0 },
          {},
          { instances: 1, storageGi: 1, monthlyCost: 1 },
        ),
      ]).map(v => v.code),
    ).toEqual([
      'quota.maxInstances',
      'quota.maxStorageGi',
      'quota.maxMonthlyCost',
    ]);
  });
});
