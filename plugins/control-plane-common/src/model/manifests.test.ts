import {
  keyForPath,
  manifestKey,
  manifestPath,
  manifestSchema,
} from './manifests';
import {
  normalizeEntityRef,
  parseResourceRef,
  stringifyResourceRef,
} from './names';

describe('manifests', () => {
  const resource = {
    apiVersion: 'idp.multicloud/v1',
    kind: 'Resource',
    metadata: { name: 'orders-db' },
    spec: {
      product: 'mysql',
      owner: 'group:payments',
      tier: 'critical',
      cell: 'cell-us',
    },
  };

  it('fills defaults and places a resource under its namespace', () => {
    const parsed = manifestSchema.parse(resource);
    expect(parsed.metadata).toEqual({
      name: 'orders-db',
      namespace: 'default',
      labels: {},
    });
    expect(manifestPath(manifestKey(parsed))).toBe(
      'resources/default/orders-db.yaml',
    );
  });

  it.each([
    [
      'resources/payments/orders-db.yaml',
      { kind: 'Resource', namespace: 'payments', name: 'orders-db' },
    ],
    [
      'tiers/critical.yaml',
      { kind: 'Tier', namespace: 'default', name: 'critical' },
    ],
    [
      'clusters/aws-us-east-1a.yml',
      { kind: 'Cluster', namespace: 'default', name: 'aws-us-east-1a' },
    ],
    [
      'projects/payments/project.yaml',
      { kind: 'Project', namespace: 'default', name: 'payments' },
    ],
    [
      'projects/payments/products/mysql.yaml',
      { kind: 'ProjectProduct', namespace: 'payments', name: 'mysql' },
    ],
    ['projects/payments.yaml', undefined],
    ['projects/payments/products/deep/mysql.yaml', undefined],
    ['README.md', undefined],
    ['resources/orders-db.yaml', undefined],
    ['widgets/x.yaml', undefined],
  ])('maps %s to its object', (path, key) => {
    expect(keyForPath(path)).toEqual(key);
  });

  it('refuses an unknown kind and a misspelt field', () => {
    expect(
      manifestSchema.safeParse({ ...resource, kind: 'Widget' }).success,
    ).toBe(false);
    const misspelt = manifestSchema.safeParse({
      ...resource,
      metadata: { name: 'x', lables: {} },
    });
    expect(misspelt.success).toBe(false);
  });

  it('refuses a tier manifest whose name is not a tier', () => {
    const tier = manifestSchema.safeParse({
      apiVersion: 'idp.multicloud/v1',
      kind: 'Tier',
      metadata: { name: 'platinum' },
      spec: {},
    });
    expect(tier.success).toBe(false);
    expect(JSON.stringify(tier.error?.issues.map(i => i.path))).toContain(
      '"metadata","name"',
    );
  });
});

describe('refs', () => {
  it.each([
    [
      'resource:payments/orders-db',
      { namespace: 'payments', name: 'orders-db' },
    ],
    ['payments/orders-db', { namespace: 'payments', name: 'orders-db' }],
    ['orders-db', { namespace: 'default', name: 'orders-db' }],
  ])('parses %s', (ref, parsed) => {
    expect(parseResourceRef(ref)).toEqual(parsed);
    expect(stringifyResourceRef(parsed)).toBe(
      `resource:${parsed.namespace}/${parsed.name}`,
    );
  });

  it.each([
    ['group:payments', 'group:default/payments'],
    ['Group:team-x/payments', 'group:team-x/payments'],
    ['component:default/checkout', 'component:default/checkout'],
  ])('normalizes %s', (ref, normal) => {
    expect(normalizeEntityRef(ref)).toBe(normal);
  });
});

describe('project manifests', () => {
  it.each([
    [
      {
        kind: 'Project',
        metadata: { name: 'payments' },
        spec: { compliance: ['pci-dss'] },
      },
      'projects/payments/project.yaml',
    ],
    [
      {
        kind: 'ProjectProduct',
        metadata: { name: 'mysql', namespace: 'payments' },
        spec: { extends: 'mysql' },
      },
      'projects/payments/products/mysql.yaml',
    ],
  ])('a %o lives at %s, and its path maps back to it', (m, path) => {
    const parsed = manifestSchema.parse({
      apiVersion: 'idp.multicloud/v1',
      ...m,
    });
    const key = manifestKey(parsed);
    expect(manifestPath(key)).toBe(path);
    expect(keyForPath(path)).toEqual(key);
  });
});
