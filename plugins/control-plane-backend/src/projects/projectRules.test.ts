import {
  Manifest,
  manifestKey,
  manifestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { bootstrapManifests } from '../gitops/bootstrap';
import { DesiredState, validateChange } from '../gitops/DesiredState';
import { keyString } from '../gitops/manifestCodec';
import { effectiveParamsOf } from '../governance/usage';
import { effectiveParams } from '../orchestration/driverAccess';
import { ResourceRecord } from '../resources/ResourceStore';
import { complianceReport, effectiveDefinitionView } from './projectRules';

const m = (doc: Record<string, unknown>): Manifest =>
  manifestSchema.parse({ apiVersion: 'idp.multicloud/v1', ...doc });

const paymentsMysql = (spec: Record<string, unknown> = {}) =>
  m({
    kind: 'ProjectProduct',
    metadata: { name: 'mysql', namespace: 'payments' },
    spec: {
      extends: 'mysql',
      versions: ['8.4'],
      parameters: { size: { default: 'small', enum: ['small', 'medium'] } },
      ...spec,
    },
  });

const paymentsProject = (spec: Record<string, unknown> = {}) =>
  m({
    kind: 'Project',
    metadata: { name: 'payments' },
    spec: {
      compliance: ['pci-dss'],
      audit: { retentionDays: 400 },
      ...spec,
    },
  });

const db = (
  name: string,
  params: Record<string, unknown>,
  more: Record<string, unknown> = {},
  namespace = 'payments',
) =>
  m({
    kind: 'Resource',
    metadata: { name, namespace },
    spec: {
      product: 'mysql',
      owner: 'group:default/payments',
      tier: 'low',
      cell: 'cell-us',
      params,
      ...more,
    },
  });

const secure = { parameters: { require_secure_transport: 'ON' } };

/** The issues of writing `put` over the bootstrap state with `base`, as `Key path: message`. */
function issuesOf(base: Manifest[], put: Manifest[]): string[] {
  const state = DesiredState.create('c0', [
    ...bootstrapManifests('simulator'),
    ...base,
  ]);
  const next = state.with(put);
  return validateChange(next, put.map(manifestKey), []).map(
    i => `${keyString(i.key)} ${i.path}: ${i.message}`,
  );
}

describe('project definitions against the desired state', () => {
  it('Done means: payments overrides the global mysql; a resource is validated against the effective definition', () => {
    // The default size is the project's; the versions the project allows are enforced.
    expect(issuesOf([paymentsMysql()], [db('orders-db', {})])).toEqual([]);
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      paymentsMysql(),
    ]);
    expect(
      state.product('mysql', 'payments')!.spec.parameters.properties,
    ).toMatchObject({
      size: { default: 'small' },
      engineVersion: { enum: ['8.4'] },
    });
    // Elsewhere, the global mysql: 8.0 is allowed.
    expect(
      issuesOf(
        [paymentsMysql()],
        [db('x', { engineVersion: '8.0' }, {}, 'shop')],
      ),
    ).toEqual([]);

    const refused = issuesOf(
      [paymentsMysql()],
      [db('orders-db', { engineVersion: '8.0' })],
    );
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Resource:payments\/orders-db spec\.params\.engineVersion: /,
        ),
        'Resource:payments/orders-db spec.params.engineVersion: refused by the definition of mysql in project payments: project payments narrows it in projects/payments/products/mysql.yaml',
      ]),
    );
    expect(
      issuesOf([paymentsMysql()], [db('orders-db', { size: 'large' })]),
    ).toContain(
      'Resource:payments/orders-db spec.params.size: refused by the definition of mysql in project payments: project payments narrows it in projects/payments/products/mysql.yaml',
    );
  });

  it("applies the project's defaults where the resource is provisioned, costed and counted", () => {
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      paymentsMysql(),
    ]);
    const record = (namespace: string) => {
      const r = db('orders-db', {}, {}, namespace) as any;
      return {
        ...r,
        ref: `resource:${namespace}/orders-db`,
      } as unknown as ResourceRecord;
    };
    expect(effectiveParams(state, record('payments'))).toMatchObject({
      size: 'small',
      engineVersion: '8.4',
    });
    expect(effectiveParams(state, record('shop'))).toMatchObject({
      size: 'medium',
    });
    expect(
      effectiveParamsOf(state, {
        namespace: 'payments',
        spec: { ...(record('payments') as any).spec },
      }),
    ).toMatchObject({ size: 'small' });
  });

  it('shows where each field of the effective definition came from', () => {
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      paymentsMysql(),
    ]);
    const resolution = state.definition('payments', 'mysql');
    if (!resolution?.ok) throw new Error('not resolved');
    const fields = new Map(
      effectiveDefinitionView(resolution).fields.map(f => [f.path, f]),
    );
    expect(fields.get('parameters.size.default')).toMatchObject({
      value: 'small',
      origin: {
        from: 'project',
        path: 'projects/payments/products/mysql.yaml',
      },
    });
    expect(fields.get('parameters.storageGi.default')).toMatchObject({
      value: 20,
      origin: { from: 'global', source: 'builtin' },
    });
  });

  it('refuses a widening definition and a definition in a cycle, naming the field', () => {
    expect(issuesOf([], [paymentsMysql({ versions: ['8.4', '9.0'] })])).toEqual(
      [
        expect.stringMatching(
          /^ProjectProduct:payments\/mysql spec\.versions: widens what is allowed: "9\.0" is not allowed/,
        ),
      ],
    );
    const a = m({
      kind: 'ProjectProduct',
      metadata: { name: 'a', namespace: 'payments' },
      spec: { extends: 'b' },
    });
    const b = m({
      kind: 'ProjectProduct',
      metadata: { name: 'b', namespace: 'payments' },
      spec: { extends: 'a' },
    });
    expect(issuesOf([], [a, b])).toEqual([
      'ProjectProduct:payments/a spec.extends: extends cycle in project payments: a → b → a',
      'ProjectProduct:payments/b spec.extends: extends cycle in project payments: b → a → b',
    ]);
  });

  it('a definition change that would make a resource invalid is refused on that resource', () => {
    expect(
      issuesOf(
        [paymentsMysql(), db('orders-db', { size: 'medium' })],
        [
          paymentsMysql({
            parameters: { size: { enum: ['small'], default: 'small' } },
          }),
        ],
      ),
    ).toContain(
      'Resource:payments/orders-db spec.params.size: refused by the definition of mysql in project payments: project payments narrows it in projects/payments/products/mysql.yaml',
    );
  });

  it('every requires names a definition the project has', () => {
    const webapp = m({
      kind: 'ProjectProduct',
      metadata: { name: 'webapp', namespace: 'payments' },
      spec: { extends: 'webapp', requires: ['mysql-ledger'] },
    });
    expect(issuesOf([], [webapp])).toEqual([
      expect.stringMatching(
        /^ProjectProduct:payments\/webapp spec\.requires: widens/,
      ),
    ]);
    const ledger = m({
      kind: 'ProjectProduct',
      metadata: { name: 'mysql-ledger', namespace: 'payments' },
      spec: { extends: 'mysql' },
    });
    expect(issuesOf([], [webapp, ledger])).toEqual([]);
  });

  it('a resource depending on another project needs that project’s published definition', () => {
    const checkout = (dep: string) =>
      m({
        kind: 'Resource',
        metadata: { name: 'checkout', namespace: 'shop' },
        spec: {
          product: 'webapp',
          owner: 'group:default/shop',
          tier: 'low',
          cell: 'cell-us',
          params: { image: 'ghcr.io/acme/checkout', version: '1.0.0' },
          dependsOn: [dep],
        },
      });
    const base = [paymentsMysql(), db('orders-db', {})];
    expect(issuesOf(base, [checkout('resource:payments/orders-db')])).toEqual([
      expect.stringMatching(
        /^Resource:shop\/checkout spec\.dependsOn\.0: resource:payments\/orders-db is in project payments, which does not publish its mysql definition/,
      ),
    ]);
    expect(
      issuesOf(
        [paymentsMysql({ publish: true }), db('orders-db', {})],
        [checkout('resource:payments/orders-db')],
      ),
    ).toEqual([]);
    // Unpublishing it is refused while another project depends on it.
    expect(
      issuesOf(
        [
          paymentsMysql({ publish: true }),
          db('orders-db', {}),
          checkout('resource:payments/orders-db'),
        ],
        [paymentsMysql({ publish: false })],
      ),
    ).toEqual([
      expect.stringMatching(/^Resource:shop\/checkout spec\.dependsOn\.0: /),
    ]);
  });
});

describe('compliance', () => {
  it('Done means: a PCI-DSS project refuses an unencrypted database, naming the rule', () => {
    expect(
      issuesOf(
        [paymentsProject()],
        [db('orders-db', { encryption: false, ...secure })],
      ),
    ).toEqual([
      'Resource:payments/orders-db spec.params.encryption: compliance.pci-dss.encryption-at-rest: resource:payments/orders-db has encryption: false',
    ]);
    expect(
      issuesOf([paymentsProject()], [db('orders-db', { ...secure })]),
    ).toEqual([]);
    // Connections too: MySQL's require_secure_transport.
    expect(issuesOf([paymentsProject()], [db('orders-db', {})])).toEqual([
      'Resource:payments/orders-db spec.params.parameters.require_secure_transport: compliance.pci-dss.encryption-in-transit: resource:payments/orders-db has parameters.require_secure_transport: null (must be "ON")',
    ]);
  });

  it.each([
    [
      'PCI-DSS: audit retention under a year',
      { audit: { retentionDays: 90 } },
      'Project:default/payments spec.audit.retentionDays: compliance.pci-dss.audit-retention: project:payments keeps audit records 90 days; PCI-DSS requires at least 365',
    ],
    [
      'HIPAA: under six years',
      { compliance: ['hipaa'], audit: { retentionDays: 400 } },
      'Project:default/payments spec.audit.retentionDays: compliance.hipaa.audit-retention: project:payments keeps audit records 400 days; HIPAA requires at least 2190',
    ],
    [
      'an SLA beyond the tier',
      { sla: { critical: { availability: 99.999 } } },
      'Project:default/payments spec.sla.critical.availability: 99.999 promises more than tier critical targets (99.99); a project cannot promise more than its tier',
    ],
    [
      'a cell that does not exist',
      { cells: ['cell-mars'] },
      'Project:default/payments spec.cells.0: no cell cell-mars',
    ],
  ])('refuses a project: %s', (_name, spec, expected) => {
    expect(issuesOf([], [paymentsProject(spec)])).toEqual([expected]);
  });

  it('GDPR keeps resources in EU cells; a project may list its cells', () => {
    const gdpr = paymentsProject({ compliance: ['gdpr'] });
    expect(issuesOf([gdpr], [db('orders-db', {})])).toEqual([
      'Resource:payments/orders-db spec.cell: compliance.gdpr.data-residency: resource:payments/orders-db runs in cell cell-us (geo us); GDPR allows cells in the EU only',
    ]);
    expect(
      issuesOf([gdpr], [db('orders-db', {}, { cell: 'cell-eu' })]),
    ).toEqual([]);
    // A project turning GDPR on is refused while its resources are outside the EU.
    expect(issuesOf([db('orders-db', {})], [gdpr])).toHaveLength(1);
    expect(
      issuesOf(
        [paymentsProject({ compliance: [], cells: ['cell-eu'] })],
        [db('orders-db', {})],
      ),
    ).toEqual([
      'Resource:payments/orders-db spec.cell: project.cells: resource:payments/orders-db runs in cell cell-us; the project allows cell-eu',
    ]);
  });

  it('reports each rule for the project and each resource, pass, fail or unverified', () => {
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      paymentsProject(),
      db('orders-db', secure),
      m({
        kind: 'Resource',
        metadata: { name: 'events', namespace: 'payments' },
        spec: {
          product: 'postgres',
          owner: 'group:default/payments',
          tier: 'low',
          cell: 'cell-us',
          params: {},
        },
      }),
    ]);
    const report = complianceReport(state, 'payments', () => true);
    expect(report.checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rule: 'compliance.pci-dss.audit-retention',
          subject: 'project:payments',
          status: 'pass',
        }),
        expect.objectContaining({
          rule: 'compliance.pci-dss.encryption-at-rest',
          subject: 'resource:payments/orders-db',
          status: 'pass',
        }),
        expect.objectContaining({
          rule: 'compliance.pci-dss.encryption-in-transit',
          subject: 'resource:payments/events',
          status: 'unverified',
        }),
      ]),
    );
    expect(report.summary).toEqual({ pass: 4, fail: 0, unverified: 1 });
    // What the caller cannot read is not in it.
    expect(
      complianceReport(state, 'payments', r => r.metadata.name !== 'events')
        .resources,
    ).toEqual(['resource:payments/orders-db']);
  });
});

describe('a project variant (a new id extending a product)', () => {
  const variant = (namespace: string, base: string) =>
    m({
      kind: 'ProjectProduct',
      metadata: { name: 'ledger-store', namespace },
      spec: { extends: base },
    });

  it('is known by its global product where no project is given (pricing, demand, operations)', () => {
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      paymentsMysql(),
      variant('payments', 'mysql'),
    ]);
    expect(state.product('ledger-store')?.spec).toBe(
      state.globalProduct('mysql')?.spec,
    );
    // In its project, it builds on payments' mysql: the project's defaults.
    expect(
      state.product('ledger-store', 'payments')?.spec.parameters.properties,
    ).toMatchObject({ size: { default: 'small' } });
    expect(state.product('ledger-store', 'shop')).toBeUndefined();
    expect(
      issuesOf(
        [paymentsMysql(), variant('payments', 'mysql')],
        [
          m({
            kind: 'Resource',
            metadata: { name: 'ledger', namespace: 'payments' },
            spec: {
              product: 'ledger-store',
              owner: 'group:default/payments',
              tier: 'low',
              cell: 'cell-us',
              params: { engineVersion: '8.0' },
            },
          }),
        ],
      ),
    ).toContain(
      'Resource:payments/ledger spec.params.engineVersion: refused by the definition of ledger-store in project payments: project payments narrows it in projects/payments/products/mysql.yaml',
    );
  });

  it('names one product across projects', () => {
    expect(
      issuesOf([variant('payments', 'mysql')], [variant('shop', 'redis')]),
    ).toEqual([
      'ProjectProduct:shop/ledger-store spec.extends: ledger-store builds on redis here but on mysql in project payments; a product id names one product across projects',
      'ProjectProduct:payments/ledger-store spec.extends: ledger-store builds on mysql here but on redis in project shop; a product id names one product across projects',
    ]);
  });
});
