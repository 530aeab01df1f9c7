import { defaultPriceList, monthlyCost } from './pricing';

const mysql = {
  product: 'mysql',
  category: 'database',
  replicasParameter: 'replicas',
  storageParameter: 'storageGi',
};

describe('monthlyCost', () => {
  it.each([
    // 1 primary + 1 replica of medium on aws: 0.178 × 730 × 2 = 259.88, + 20 GiB × 0.115 × 2 = 4.6
    [
      'aws',
      { ...mysql, params: { size: 'medium', replicas: 1, storageGi: 20 } },
      264.48,
    ],
    // same on oci: compute × 0.78, storage 0.0255
    [
      'oci',
      { ...mysql, params: { size: 'medium', replicas: 1, storageGi: 20 } },
      203.73,
    ],
    [
      'aws',
      { ...mysql, params: { size: 'xlarge', replicas: 0, storageGi: 1000 } },
      845,
    ],
    [
      'aws',
      {
        product: 'webapp',
        category: 'compute',
        replicasParameter: 'replicas',
        params: { size: 'small', replicas: 3 },
      },
      26.28,
    ],
    [
      'gcp',
      {
        product: 'object-bucket',
        category: 'storage',
        params: { storageGi: 1000, storageClass: 'standard' },
      },
      22.08,
    ],
    [
      'aws',
      {
        product: 'object-bucket',
        category: 'storage',
        params: { storageGi: 1000, storageClass: 'archive', replication: true },
      },
      8,
    ],
  ])('on %s: %j costs $%d', (provider, input, cost) => {
    expect(monthlyCost(defaultPriceList, provider, input)).toBe(cost);
  });

  it('makes bigger sizes cost more on every provider', () => {
    for (const provider of Object.keys(defaultPriceList.providers)) {
      const costs = ['small', 'medium', 'large', 'xlarge'].map(size =>
        monthlyCost(defaultPriceList, provider, {
          ...mysql,
          params: { size, replicas: 0 },
        }),
      );
      expect([...costs].sort((a, b) => a - b)).toEqual(costs);
    }
  });
});
