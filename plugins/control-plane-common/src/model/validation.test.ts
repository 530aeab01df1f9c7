import { builtinProducts, ProductSpec } from './products';
import { defaultTiers, TierId } from './tiers';
import { validateResourceParameters } from './validation';

const check = (
  productId: keyof typeof builtinProducts,
  tierId: TierId,
  params: Record<string, unknown>,
  product: ProductSpec = builtinProducts[productId],
) =>
  validateResourceParameters({
    productId,
    product,
    tierId,
    tier: defaultTiers[tierId],
    params,
  });

describe('validateResourceParameters', () => {
  it('fills in product defaults', () => {
    expect(check('mysql', 'low', { size: 'large' })).toEqual({
      ok: true,
      params: expect.objectContaining({
        size: 'large',
        storageGi: 20,
        engineVersion: '8.4',
        backups: { enabled: true, retentionDays: 7, window: '02:00-03:00' },
      }),
    });
  });

  it.each([
    ['mysql', { size: 'huge' }, 'spec.params.size'],
    ['mysql', { storageGi: 5 }, 'spec.params.storageGi'],
    [
      'mysql',
      { backups: { retentionDays: 90 } },
      'spec.params.backups.retentionDays',
    ],
    ['mysql', { sise: 'large' }, 'spec.params'],
    ['webapp', { version: '1.0.0' }, 'spec.params.image'],
    ['webapp', { image: 'Not An Image', version: '1' }, 'spec.params.image'],
    [
      'kafka',
      { brokers: 2, replicationFactor: 3 },
      'spec.params.replicationFactor',
    ],
    ['redis', { persistence: 'sometimes' }, 'spec.params.persistence'],
  ] as const)('%s with %j is refused naming %s', (product, params, path) => {
    const result = check(product, 'medium', params);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map(i => i.path)).toContain(path);
  });

  it('switches on what the tier requires when the request leaves it out', () => {
    const result = check('mysql', 'critical', {});
    expect(result.ok && result.params).toMatchObject({
      highAvailability: true,
      encryption: true,
      backups: { enabled: true },
    });
  });

  it('refuses turning off what the tier requires, naming the field', () => {
    const result = check('postgres', 'critical', { highAvailability: false });
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'spec.params.highAvailability',
          message: 'tier critical requires multi-AZ; it cannot be turned off',
        },
      ],
    });
  });

  it('refuses a tier whose required feature the product cannot provide, naming the tier and the feature', () => {
    // A product declared without any backup parameter, asked for at a tier requiring backups.
    const product: ProductSpec = {
      ...builtinProducts.redis,
      features: { multiAZ: 'highAvailability', encryption: 'encryption' },
    };
    const result = check('redis', 'critical', {}, product);
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'spec.tier',
          message: expect.stringMatching(
            /^tier critical requires backups, which product redis does not provide/,
          ),
        },
      ],
    });
    // The same product at a tier that requires no backups is fine.
    expect(check('redis', 'low', {}, product).ok).toBe(true);
  });

  it('lets a product waive a feature that does not apply to it', () => {
    // A stateless webapp has nothing to back up or encrypt at rest: it says so.
    const webapp = check('webapp', 'critical', {
      image: 'ghcr.io/acme/checkout',
      version: '1.0.0',
    });
    expect(webapp.ok && webapp.params).toMatchObject({ multiAZ: true });
    const unwaived: ProductSpec = {
      ...builtinProducts.webapp,
      waivedFeatures: {},
    };
    const refused = check(
      'webapp',
      'critical',
      { image: 'ghcr.io/acme/checkout', version: '1.0.0' },
      unwaived,
    );
    expect(!refused.ok && refused.issues.map(i => i.message)).toEqual([
      expect.stringContaining('tier critical requires backups'),
      expect.stringContaining('tier critical requires encryption'),
    ]);
  });

  it('gives a critical redis backups, and refuses turning them off', () => {
    const result = check('redis', 'critical', {});
    expect(result.ok && result.params).toMatchObject({
      backups: { enabled: true },
      highAvailability: true,
    });
    expect(check('redis', 'critical', { backups: { enabled: false } })).toEqual(
      {
        ok: false,
        issues: [
          {
            path: 'spec.params.backups.enabled',
            message: 'tier critical requires backups; it cannot be turned off',
          },
        ],
      },
    );
  });

  it('refuses a tier the product does not offer', () => {
    const product = { ...builtinProducts.redis, tiers: ['low' as const] };
    const result = check('redis', 'critical', {}, product);
    expect(!result.ok && result.issues[0].path).toBe('spec.tier');
  });

  it('validates a product declared as data by its JSON Schema', () => {
    const declared: ProductSpec = {
      ...builtinProducts.redis,
      title: 'Memcached',
      parameters: {
        type: 'object',
        properties: {
          nodes: { type: 'integer', minimum: 1, maximum: 20, default: 2 },
        },
        additionalProperties: false,
      },
      features: {},
    };
    const ok = validateResourceParameters({
      productId: 'memcached',
      product: declared,
      tierId: 'low',
      tier: defaultTiers.low,
      params: {},
    });
    expect(ok).toEqual({ ok: true, params: { nodes: 2 } });
    const bad = validateResourceParameters({
      productId: 'memcached',
      product: declared,
      tierId: 'low',
      tier: defaultTiers.low,
      params: { nodes: 50 },
    });
    expect(!bad.ok && bad.issues[0].path).toBe('spec.params.nodes');
  });
});

describe('names that are properties of every object', () => {
  const declared = (features: ProductSpec['features']): ProductSpec => ({
    ...builtinProducts.redis,
    parameters: {
      type: 'object',
      properties: { size: { type: 'string' } },
    },
    features,
  });

  it('a feature parameter named through __proto__ is set on the parameters, never on every object (a product from the state repository cannot pollute Object.prototype)', () => {
    const result = validateResourceParameters({
      productId: 'legacy-cache',
      product: declared({
        ...builtinProducts.redis.features,
        backups: '__proto__.polluted',
      }),
      tierId: 'critical',
      tier: defaultTiers.critical,
      params: {},
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(result).toMatchObject({ ok: true });
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
