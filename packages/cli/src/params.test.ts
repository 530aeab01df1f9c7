import { collectParam } from './params';

describe('-p key=value', () => {
  it('nests dotted keys', () => {
    expect(collectParam('a.b=2', collectParam('size=large'))).toEqual({
      size: 'large',
      a: { b: 2 },
    });
  });

  it.each(['__proto__.polluted=1', 'constructor.prototype.polluted=1'])(
    'keeps %s a parameter, not a change to every object',
    raw => {
      const params = collectParam(raw);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(params)).toEqual([raw.split('.')[0]]);
      // What the CLI sends: the key as a key.
      expect(JSON.stringify(params)).toBe(
        raw.startsWith('__proto__')
          ? '{"__proto__":{"polluted":1}}'
          : '{"constructor":{"prototype":{"polluted":1}}}',
      );
    },
  );
});
