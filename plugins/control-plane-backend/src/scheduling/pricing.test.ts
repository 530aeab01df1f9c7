import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapManifests } from '../gitops/bootstrap';
import { DesiredState } from '../gitops/DesiredState';
import {
  defaultPriceList,
  mergePrices,
  monthlyCost,
  Pricing,
  readPriceFiles,
} from './pricing';

const mysql = {
  product: 'mysql',
  category: 'database',
  replicasParameter: 'replicas',
  storageParameter: 'storageGi',
};

describe('the shipped price tables', () => {
  const prices = defaultPriceList();

  it('price every product and size on every provider, and providers without a table as default', () => {
    expect(Object.keys(prices).sort()).toEqual([
      'aws',
      'azure',
      'default',
      'gcp',
      'oci',
    ]);
    for (const table of Object.values(prices)) {
      expect(Object.keys(table.hourly).sort()).toEqual([
        'kafka',
        'mysql',
        'postgres',
        'redis',
        'webapp',
      ]);
      for (const sizes of Object.values(table.hourly)) {
        expect(Object.keys(sizes)).toEqual([
          'small',
          'medium',
          'large',
          'xlarge',
        ]);
      }
    }
    const onprem = monthlyCost(prices, 'onprem', {
      ...mysql,
      params: { size: 'large', replicas: 0 },
    });
    expect(onprem).toBe(
      monthlyCost(prices, 'default', {
        ...mysql,
        params: { size: 'large', replicas: 0 },
      }),
    );
  });

  it.each([
    // 1 primary + 1 replica of medium on aws: 0.178 × 730 × 2 = 259.88, + 20 GiB × 0.115 × 2 = 4.6
    [
      'aws',
      { ...mysql, params: { size: 'medium', replicas: 1, storageGi: 20 } },
      264.48,
    ],
    // on oci: 0.1388 × 730 × 2 = 202.648, + 20 GiB × 0.0255 × 2 = 1.02
    [
      'oci',
      { ...mysql, params: { size: 'medium', replicas: 1, storageGi: 20 } },
      203.67,
    ],
    // the primary alone: 1.0 × 730 + 1000 × 0.115
    [
      'aws',
      { ...mysql, params: { size: 'xlarge', replicas: 0, storageGi: 1000 } },
      845,
    ],
    // three web replicas: 0.012 × 730 × 3
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
    // Cloud Storage Standard: 1000 × 0.020
    [
      'gcp',
      {
        product: 'object-bucket',
        category: 'storage',
        params: { storageGi: 1000, storageClass: 'standard' },
      },
      20,
    ],
    // two copies in Glacier class: 1000 × 0.004 × 2
    [
      'aws',
      {
        product: 'object-bucket',
        category: 'storage',
        params: { storageGi: 1000, storageClass: 'archive', replication: true },
      },
      8,
    ],
  ])('on %s: %j costs $%d a month', (provider, input, cost) => {
    expect(monthlyCost(prices, provider, input)).toBe(cost);
  });

  it('makes bigger sizes cost more on every provider', () => {
    for (const provider of Object.keys(prices)) {
      const costs = ['small', 'medium', 'large', 'xlarge'].map(size =>
        monthlyCost(prices, provider, {
          ...mysql,
          params: { size, replicas: 0 },
        }),
      );
      expect([...costs].sort((a, b) => a - b)).toEqual(costs);
    }
  });
});

describe('names of Object.prototype', () => {
  const prices = defaultPriceList();
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

  it.each(names)(
    'a provider named %s is priced as a provider without a table of its own',
    provider => {
      const input = { ...mysql, params: { size: 'large', storageGi: 100 } };
      expect(monthlyCost(prices, provider, input)).toBe(
        monthlyCost(prices, 'default', input),
      );
    },
  );

  it.each(names)(
    'a product, size or storage class named %s costs nothing rather than throwing',
    name => {
      for (const input of [
        { ...mysql, product: name, params: {} },
        { ...mysql, params: { size: name } },
        {
          product: 'object-bucket',
          category: 'storage',
          params: { storageGi: 10, storageClass: name },
        },
      ]) {
        expect(Number.isFinite(monthlyCost(prices, 'aws', input))).toBe(true);
      }
    },
  );

  it('an override for a provider named __proto__ is a table of its own, and changes no other', () => {
    const merged = mergePrices(
      prices,
      JSON.parse('{"__proto__": {"storagePerGiMonth": 9}}'),
    );
    expect(Object.keys(merged)).toContain('__proto__');
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(merged.aws.storagePerGiMonth).toBe(prices.aws.storagePerGiMonth);
  });
});

describe('price overrides', () => {
  const prices = defaultPriceList();

  it('override single prices, keeping the rest of the table', () => {
    const merged = mergePrices(prices, {
      aws: { hourly: { mysql: { large: 0.3 } }, storagePerGiMonth: 0.08 },
      onprem: { hourly: { mysql: { large: 0.1 } } },
    });
    expect(merged.aws.hourly.mysql).toEqual({
      ...prices.aws.hourly.mysql,
      large: 0.3,
    });
    expect(merged.aws.hourly.redis).toEqual(prices.aws.hourly.redis);
    expect(merged.aws.storagePerGiMonth).toBe(0.08);
    // A provider without a table starts from default's.
    expect(merged.onprem.hourly.postgres).toEqual(
      prices.default.hourly.postgres,
    );
    expect(merged.onprem.hourly.mysql.large).toBe(0.1);
    expect(prices.aws.hourly.mysql.large).toBe(0.356);
  });

  it('refuse a price that is not a number, naming it', () => {
    expect(() =>
      mergePrices(prices, { aws: { hourly: { mysql: { large: 'cheap' } } } }),
    ).toThrow(/^controlPlane\.pricing\.aws: hourly\.mysql\.large: /);
  });

  it('refuse a price table whose file and provider disagree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-prices-'));
    try {
      const table = `provider: aws
currency: USD
hourly: { mysql: { small: 0.03 } }
storagePerGiMonth: 0.1
objectStoragePerGiMonth: { standard: 0.02 }
`;
      writeFileSync(join(dir, 'default.yaml'), table.replace('aws', 'default'));
      writeFileSync(join(dir, 'gcp.yaml'), table);
      expect(() => readPriceFiles(dir)).toThrow(
        'price table gcp.yaml is of provider aws',
      );
      writeFileSync(
        join(dir, 'gcp.yaml'),
        table.replace('currency: USD', 'currency: EUR'),
      );
      expect(() => readPriceFiles(dir)).toThrow(
        /^price table gcp\.yaml: currency: /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Pricing', () => {
  const desired = DesiredState.create(
    undefined,
    bootstrapManifests('simulated'),
  );
  const pricing = new Pricing(defaultPriceList());
  const params = { size: 'medium', replicas: 1, storageGi: 20 };

  it('prices a resource with its product as the desired state defines it', () => {
    expect(pricing.monthlyCost(desired, 'mysql', params, 'aws')).toBe(
      monthlyCost(defaultPriceList(), 'aws', { ...mysql, params }),
    );
  });

  it.each([
    ['every provider with a cluster', undefined],
    ['those with a cluster in the cell', 'cell-eu'],
  ])('estimates on %s, cheapest first', (_case, cell) => {
    const estimates = pricing.byProvider(desired, 'mysql', params, cell);
    expect(estimates.map(e => e.provider).sort()).toEqual(
      [
        ...new Set(
          desired
            .ofKind('Cluster')
            .filter(c => !cell || c.spec.cell === cell)
            .map(c => c.spec.provider),
        ),
      ].sort(),
    );
    for (const e of estimates) {
      expect(e.monthlyCost).toBe(
        pricing.monthlyCost(desired, 'mysql', params, e.provider),
      );
    }
    const costs = estimates.map(e => e.monthlyCost);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
  });

  it('estimates nothing in a cell without clusters', () => {
    expect(pricing.byProvider(desired, 'mysql', params, 'cell-mars')).toEqual(
      [],
    );
  });
});
