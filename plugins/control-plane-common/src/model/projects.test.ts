import { builtinProducts, ProductSpec } from './products';
import {
  applyProjectDefinition,
  definitionFields,
  ProjectProductSpec,
  projectProductSpecSchema,
  resolveProjectDefinition,
} from './projects';

const mysql = builtinProducts.mysql;
const postgres = builtinProducts.postgres;
const override = (spec: Record<string, unknown>): ProjectProductSpec =>
  projectProductSpecSchema.parse({ extends: 'mysql', ...spec });
const prop = (spec: ProductSpec, name: string) =>
  (spec.parameters.properties as Record<string, Record<string, unknown>>)[name];

describe('applyProjectDefinition: the merge rules', () => {
  it.each([
    [
      'a scalar replaces (default size)',
      { parameters: { size: { default: 'small' } } },
      (s: ProductSpec) => prop(s, 'size').default,
      'small',
    ],
    [
      'a map merges deeply (the size keeps its enum and description)',
      { parameters: { size: { default: 'small' } } },
      (s: ProductSpec) => [prop(s, 'size').enum, prop(s, 'size').description],
      [
        ['small', 'medium', 'large', 'xlarge'],
        'size class: CPU and memory per replica',
      ],
    ],
    [
      'a list replaces (allowed versions)',
      { versions: ['8.4'] },
      (s: ProductSpec) => prop(s, 'engineVersion').enum,
      ['8.4'],
    ],
    [
      'an enum list replaces',
      { parameters: { size: { enum: ['small', 'medium'] } } },
      (s: ProductSpec) => prop(s, 'size').enum,
      ['small', 'medium'],
    ],
    [
      'tiers narrow',
      { tiers: ['critical', 'high'] },
      (s: ProductSpec) => s.tiers,
      ['critical', 'high'],
    ],
    [
      'a minimum rises, a maximum falls',
      {
        parameters: { storageGi: { minimum: 50, maximum: 500, default: 100 } },
      },
      (s: ProductSpec) => [
        prop(s, 'storageGi').minimum,
        prop(s, 'storageGi').maximum,
        prop(s, 'storageGi').default,
      ],
      [50, 500, 100],
    ],
    [
      'nested properties merge one level down',
      {
        parameters: {
          backups: {
            properties: { retentionDays: { minimum: 14, default: 14 } },
          },
        },
      },
      (s: ProductSpec) => {
        const backups = prop(s, 'backups') as {
          properties: Record<string, Record<string, unknown>>;
        };
        return [
          backups.properties.retentionDays.minimum,
          backups.properties.retentionDays.maximum,
          backups.properties.enabled.default,
        ];
      },
      [14, 35, true],
    ],
    [
      'the object default follows a nested default',
      {
        parameters: {
          backups: {
            properties: { retentionDays: { minimum: 14, default: 14 } },
          },
        },
      },
      (s: ProductSpec) => prop(s, 'backups').default,
      { enabled: true, retentionDays: 14, window: '02:00-03:00' },
    ],
    [
      'a list marked $append adds to the parent’s (required)',
      { parameters: { backups: { required: { $append: ['window'] } } } },
      (s: ProductSpec) => prop(s, 'backups').required,
      ['window'],
    ],
    [
      'title replaces; what is not said stays global',
      { title: 'MySQL for payments' },
      (s: ProductSpec) => [s.title, s.description, s.tiers.length],
      ['MySQL for payments', mysql.description, 4],
    ],
  ])('%s', (_name, spec, read, expected) => {
    const { spec: merged, issues } = applyProjectDefinition(
      mysql,
      override(spec),
    );
    expect(issues).toEqual([]);
    expect(read(merged)).toEqual(expected);
  });

  it.each([
    [
      'a version the global definition does not allow',
      { versions: ['8.4', '9.0'] },
      'spec.versions',
      /"9\.0" is not allowed by the parent definition/,
    ],
    [
      'an enum value appended',
      { parameters: { size: { enum: { $append: ['huge'] } } } },
      'spec.parameters.size.enum',
      /"huge" is not allowed/,
    ],
    [
      'a lower minimum',
      { parameters: { storageGi: { minimum: 5 } } },
      'spec.parameters.storageGi.minimum',
      /below the parent definition's 10/,
    ],
    [
      'a higher maximum',
      { parameters: { replicas: { maximum: 9 } } },
      'spec.parameters.replicas.maximum',
      /above the parent definition's 5/,
    ],
    [
      'a parameter the product does not have',
      { parameters: { shards: { default: 3 } } },
      'spec.parameters.shards',
      /a project cannot add parameters/,
    ],
    [
      'a default outside what is allowed',
      { parameters: { size: { enum: ['small'], default: 'large' } } },
      'spec.parameters.size.default',
      /"large" is not a value this parameter accepts/,
    ],
    [
      'versions narrowed past the global default, with no default of its own',
      { versions: ['8.0'] },
      'spec.versions',
      /the default "8\.4"/,
    ],
    [
      'a dependency the product may not have',
      { requires: ['kafka'] },
      'spec.requires',
      /kafka is not a dependency the parent definition allows/,
    ],
    [
      'a changed pattern',
      {
        parameters: { backups: { properties: { window: { pattern: '.*' } } } },
      },
      'spec.parameters.backups.properties.window.pattern',
      /cannot replace the parent definition's pattern/,
    ],
  ])('refuses widening: %s, naming the field', (_name, spec, path, message) => {
    const { issues } = applyProjectDefinition(mysql, override(spec));
    expect(issues).toEqual([
      expect.objectContaining({
        path,
        message: expect.stringMatching(message),
      }),
    ]);
  });

  it('refuses an attribute that is not for projects (type), by the schema', () => {
    expect(
      projectProductSpecSchema.safeParse({
        extends: 'mysql',
        parameters: { size: { type: 'integer' } },
      }).success,
    ).toBe(false);
  });

  it('takes $append of a tier already offered as no widening', () => {
    expect(
      applyProjectDefinition(
        mysql,
        override({ tiers: { $append: ['critical'] } }),
      ).issues,
    ).toEqual([]);
  });

  it('refuses a tier the parent (already narrowed) no longer offers', () => {
    const narrowed = applyProjectDefinition(
      mysql,
      override({ tiers: ['critical'] }),
    ).spec;
    const { issues } = applyProjectDefinition(
      narrowed,
      override({ tiers: ['critical', 'low'] }),
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'spec.tiers',
        message: expect.stringMatching(/tier low is not offered/),
      }),
    ]);
  });

  it('narrows the items of a list parameter (postgres extensions)', () => {
    const { spec, issues } = applyProjectDefinition(
      postgres,
      override({
        extends: 'postgres',
        parameters: { extensions: { items: { enum: ['pgcrypto'] } } },
      }),
    );
    expect(issues).toEqual([]);
    expect((prop(spec, 'extensions').items as { enum: string[] }).enum).toEqual(
      ['pgcrypto'],
    );
  });
});

describe('resolveProjectDefinition', () => {
  const global = (id: string) =>
    id === 'mysql' ? { spec: mysql, source: 'builtin' as const } : undefined;
  const defs =
    (specs: Record<string, Record<string, unknown>>) => (id: string) =>
      Object.hasOwn(specs, id)
        ? {
            spec: projectProductSpecSchema.parse(specs[id]),
            path: `projects/payments/products/${id}.yaml`,
          }
        : undefined;

  it('applies the chain over the global product, with each field’s origin', () => {
    const result = resolveProjectDefinition({
      project: 'payments',
      id: 'mysql-ledger',
      global,
      definition: defs({
        mysql: {
          extends: 'mysql',
          versions: ['8.4'],
          parameters: { size: { default: 'small' } },
        },
        'mysql-ledger': {
          extends: 'mysql',
          publish: true,
          parameters: { size: { default: 'large' } },
        },
      }),
    });
    if (!result?.ok) throw new Error(JSON.stringify(result));
    const { definition } = result;
    expect(definition.publish).toBe(true);
    expect(
      definition.chain.map(c =>
        c.from === 'project' ? c.definition : c.product,
      ),
    ).toEqual(['mysql', 'mysql', 'mysql-ledger']);
    const fields = new Map(definitionFields(definition).map(f => [f.path, f]));
    expect(fields.get('parameters.size.default')).toEqual({
      path: 'parameters.size.default',
      value: 'large',
      origin: {
        from: 'project',
        project: 'payments',
        definition: 'mysql-ledger',
        path: 'projects/payments/products/mysql-ledger.yaml',
      },
    });
    expect(fields.get('parameters.engineVersion.enum')).toMatchObject({
      value: ['8.4'],
      origin: { from: 'project', definition: 'mysql' },
    });
    expect(fields.get('parameters.storageGi.default')).toMatchObject({
      value: 20,
      origin: { from: 'global', source: 'builtin', product: 'mysql' },
    });
  });

  it('refuses a cycle of extends, naming it', () => {
    const result = resolveProjectDefinition({
      project: 'payments',
      id: 'a',
      global,
      definition: defs({
        a: { extends: 'b' },
        b: { extends: 'c' },
        c: { extends: 'a' },
      }),
    });
    expect(result).toMatchObject({
      ok: false,
      issues: [
        {
          path: 'spec.extends',
          message: 'extends cycle in project payments: a → b → c → a',
        },
      ],
    });
  });

  it('refuses extending what nothing defines, and knows nothing of an unknown id', () => {
    expect(
      resolveProjectDefinition({
        project: 'payments',
        id: 'a',
        global,
        definition: defs({ a: { extends: 'nosuch' } }),
      }),
    ).toMatchObject({
      ok: false,
      definition: 'a',
      issues: [
        {
          path: 'spec.extends',
          message: expect.stringMatching(/no product nosuch/),
        },
      ],
    });
    expect(
      resolveProjectDefinition({
        project: 'payments',
        id: 'nosuch',
        global,
        definition: defs({}),
      }),
    ).toBeUndefined();
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'treats %s as a name, not a property',
    name => {
      const { spec, issues } = applyProjectDefinition(
        mysql,
        override({ parameters: JSON.parse(`{"${name}": {"default": 1}}`) }),
      );
      // Refused as an unknown parameter, or dropped by the schema; never merged.
      expect(issues.every(i => i.path === `spec.parameters.${name}`)).toBe(
        true,
      );
      expect(Object.keys(spec.parameters.properties as object)).toEqual(
        Object.keys(mysql.parameters.properties as object),
      );
      expect(({} as Record<string, unknown>).default).toBeUndefined();
    },
  );
});
