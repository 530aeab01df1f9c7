import { builtinProducts } from './products';
import { defaultTiers } from './tiers';
import { featureFlagDefinitions } from '../api/flags';
import { hasOwnKey, ownValue } from './lookup';

const inherited = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
];

describe('ownValue and hasOwnKey', () => {
  it.each(inherited)('find nothing named %s in the built-in tables', name => {
    for (const table of [
      builtinProducts,
      defaultTiers,
      featureFlagDefinitions,
    ]) {
      expect(ownValue<unknown>(table, name)).toBeUndefined();
      expect(hasOwnKey(table, name)).toBe(false);
      // What a plain lookup answers instead:
      expect((table as Record<string, unknown>)[name]).toBeDefined();
    }
  });

  it('find what the object holds as its own, a key named __proto__ included', () => {
    expect(ownValue(builtinProducts, 'mysql')?.title).toBe('MySQL');
    expect(hasOwnKey(defaultTiers, 'critical')).toBe(true);
    const own = Object.fromEntries([['__proto__', 1]]);
    expect(ownValue(own, '__proto__')).toBe(1);
    expect(ownValue(undefined, 'mysql')).toBeUndefined();
  });
});
