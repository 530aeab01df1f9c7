import {
  builtinProducts,
  ProductSpec,
} from '@idp-multicloud/plugin-control-plane-common';
import { affectedBy, compareDefinitions } from './definitionChanges';

type Props = Record<string, Record<string, unknown>>;

/** mysql as built in, its parameters changed by `edit`, other fields by `rest`. */
function mysql(
  edit: (properties: Props) => void = () => {},
  rest: Partial<ProductSpec> = {},
): ProductSpec {
  const spec = structuredClone(builtinProducts.mysql);
  edit((spec.parameters as unknown as { properties: Props }).properties);
  return { ...spec, ...rest };
}

const codes = (before: ProductSpec, after: ProductSpec) =>
  compareDefinitions(before, after).map(f => [f.code, f.subject, f.breaking]);

describe('compareDefinitions', () => {
  const base = mysql();

  it.each<[string, ProductSpec, [string, string, boolean][]]>([
    ['nothing', mysql(), []],
    [
      'a parameter removed',
      mysql(p => delete p.highAvailability),
      [['parameter.removed', 'highAvailability', true]],
    ],
    [
      'an optional parameter added',
      mysql(p => (p.tls = { type: 'boolean', default: true })),
      [['parameter.added', 'tls', false]],
    ],
    [
      'a nested parameter narrowed',
      mysql(p => ((p.backups.properties as Props).retentionDays.maximum = 14)),
      [['parameter.range-narrowed', 'backups.retentionDays', true]],
    ],
    [
      'a range widened',
      mysql(p => (p.replicas.maximum = 9)),
      [['parameter.range-widened', 'replicas', false]],
    ],
    [
      'a version removed (the version parameter)',
      mysql(p => (p.engineVersion.enum = ['8.4'])),
      [['version.removed', 'engineVersion', true]],
    ],
    [
      'a value added and a value removed',
      mysql(p => (p.size.enum = ['medium', 'large', 'xlarge', 'huge'])),
      [
        ['parameter.values-removed', 'size', true],
        ['parameter.values-added', 'size', false],
      ],
    ],
    [
      'a default changed',
      mysql(p => (p.encryption.default = false)),
      [['parameter.default-changed', 'encryption', true]],
    ],
    [
      'a type changed',
      mysql(p => (p.storageGi.type = 'string')),
      [['parameter.type-changed', 'storageGi', true]],
    ],
    [
      'a tier and an operation removed',
      mysql(undefined, {
        tiers: ['critical', 'high', 'medium'],
        operations: base.operations.filter(o => o !== 'restore'),
      }),
      [
        ['tier.removed', 'low', true],
        ['operation.removed', 'restore', true],
      ],
    ],
  ])('%s', (_what, after, expected) => {
    expect(codes(base, after)).toEqual(expected);
  });

  it('finds a parameter newly required without a default breaking', () => {
    const after = mysql(p => (p.owner = { type: 'string' }));
    (after.parameters as { required?: string[] }).required = ['owner'];
    expect(codes(base, after)).toEqual([['parameter.required', 'owner', true]]);
  });
});

describe('affectedBy', () => {
  const before = mysql();
  const resource = (params: Record<string, unknown>, tier = 'medium') => ({
    tier,
    params,
  });
  const only = (after: ProductSpec) =>
    compareDefinitions(before, after).find(f => f.breaking)!;

  it('reaches every resource for a removed parameter', () => {
    const f = only(mysql(p => delete p.highAvailability));
    expect(affectedBy(f, resource({}), before, mysql())).toBe(true);
  });

  it('reaches only resources whose value (set, else the default) is out of a narrowed range', () => {
    const after = mysql(p => (p.storageGi.maximum = 100));
    const f = only(after);
    expect(affectedBy(f, resource({ storageGi: 500 }), before, after)).toBe(
      true,
    );
    expect(affectedBy(f, resource({ storageGi: 50 }), before, after)).toBe(
      false,
    );
    // default 20: within
    expect(affectedBy(f, resource({}), before, after)).toBe(false);
  });

  it('reaches resources on a removed version, by their value or the default', () => {
    const after = mysql(p => {
      p.engineVersion.enum = ['8.0'];
      p.engineVersion.default = '8.0';
    });
    const f = compareDefinitions(before, after).find(
      x => x.code === 'version.removed',
    )!;
    expect(
      affectedBy(f, resource({ engineVersion: '8.0' }), before, after),
    ).toBe(false);
    // left out: it ran the old default, 8.4, which is gone
    expect(affectedBy(f, resource({}), before, after)).toBe(true);
  });

  it('reaches resources that leave a changed default out, and those of a removed tier', () => {
    const changed = mysql(p => (p.encryption.default = false));
    const f = only(changed);
    expect(affectedBy(f, resource({}), before, changed)).toBe(true);
    expect(affectedBy(f, resource({ encryption: true }), before, changed)).toBe(
      false,
    );
    const noLow = mysql(undefined, { tiers: ['critical', 'high', 'medium'] });
    const t = only(noLow);
    expect(affectedBy(t, resource({}, 'low'), before, noLow)).toBe(true);
    expect(affectedBy(t, resource({}, 'medium'), before, noLow)).toBe(false);
  });
});
