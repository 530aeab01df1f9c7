import { TestDatabases } from '@backstage/backend-test-utils';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const paymentsMysql = (versions = "['8.4']") => `apiVersion: idp.multicloud/v1
kind: ProjectProduct
metadata:
  name: mysql
  namespace: payments
spec:
  extends: mysql
  versions: ${versions}
  parameters:
    size:
      default: small
      enum: [small, medium]
    parameters:
      default:
        require_secure_transport: 'ON'
`;

const paymentsProject = `apiVersion: idp.multicloud/v1
kind: Project
metadata:
  name: payments
spec:
  system: system:default/payments
  compliance: [pci-dss]
  audit:
    retentionDays: 400
  approvals:
    breaking: [group:default/platform-team, group:default/security-team]
    versionBump: [group:default/payments]
  sla:
    critical:
      supportHours: 24/7
`;

const ordersDb = (params: Record<string, unknown> = {}) => ({
  namespace: 'payments',
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'low',
  cell: 'cell-us',
  params,
});

describe.each(databases.eachSupportedId())('projects on %s', databaseId => {
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  beforeAll(async () => {
    cp = await startControlPlane(databases, databaseId);
    await callAs(cp.server, users.ana)
      .post('/manifests/apply')
      .send({
        yaml: `${paymentsMysql()}---\n${paymentsProject}`,
        // A project definition changes what the project sees: the plan calls it breaking.
        acknowledgeBreaking: true,
      })
      .expect(200);
  });
  afterAll(() => cp.cleanup());

  it('Done means: GET /projects/payments/products/mysql is the effective definition, with each field’s origin', async () => {
    const res = await callAs(cp.server, users.bruno)
      .get('/projects/payments/products/mysql')
      .expect(200);
    const fields = new Map<string, any>(
      res.body.fields.map((f: any) => [f.path, f]),
    );
    expect(fields.get('parameters.size.default')).toEqual({
      path: 'parameters.size.default',
      value: 'small',
      origin: {
        from: 'project',
        project: 'payments',
        definition: 'mysql',
        path: 'projects/payments/products/mysql.yaml',
      },
    });
    expect(fields.get('parameters.engineVersion.enum')).toMatchObject({
      value: ['8.4'],
      origin: { from: 'project' },
    });
    expect(fields.get('parameters.storageGi.default')).toMatchObject({
      value: 20,
      origin: { from: 'global', source: 'builtin', product: 'mysql' },
    });
    expect(res.body.spec.parameters.properties.size.enum).toEqual([
      'small',
      'medium',
    ]);
    // Another project sees the global mysql.
    const shop = await callAs(cp.server, users.bruno)
      .get('/projects/shop/products/mysql')
      .expect(200);
    expect(shop.body.chain).toEqual([
      { from: 'global', source: 'builtin', product: 'mysql' },
    ]);
    expect(shop.body.spec.parameters.properties.size.default).toBe('medium');
  });

  it('Done means: a resource of payments is validated against the effective definition, refusals naming the field and the project rule', async () => {
    const bruno = callAs(cp.server, users.bruno);
    const version = await bruno
      .post('/resources')
      .send(ordersDb({ engineVersion: '8.0' }))
      .expect(400);
    expect(version.body.error.message).toMatch(/params\.engineVersion: /);
    expect(version.body.error.message).toContain(
      'params.engineVersion: refused by the definition of mysql in project payments: project payments narrows it in projects/payments/products/mysql.yaml',
    );
    // Done means: the PCI-DSS project refuses an unencrypted database, naming the rule.
    const unencrypted = await bruno
      .post('/resources')
      .send(ordersDb({ encryption: false }))
      .expect(400);
    expect(unencrypted.body.error.message).toContain(
      'params.encryption: compliance.pci-dss.encryption-at-rest: resource:payments/orders-db has encryption: false',
    );
    await bruno.post('/resources').send(ordersDb()).expect(201);
    const report = await bruno.get('/projects/payments/compliance').expect(200);
    expect(report.body).toMatchObject({
      project: 'payments',
      declared: true,
      regimes: ['pci-dss'],
      approvals: {
        breaking: [
          'group:default/platform-team',
          'group:default/security-team',
        ],
      },
      resources: ['resource:payments/orders-db'],
      summary: { pass: 3, fail: 0, unverified: 0 },
    });
    expect(report.body.sla.critical.supportHours).toEqual({
      value: '24/7',
      from: 'project',
    });
    expect(report.body.sla.critical.availability).toMatchObject({
      from: 'tier',
    });
    // eve may read nothing of the catalog.
    await callAs(cp.server, users.eve)
      .get('/projects/payments/compliance')
      .expect(403);
  });

  it('bad input is a 4xx naming the field, changing nothing', async () => {
    const bruno = callAs(cp.server, users.bruno);
    const bad = await bruno
      .get('/projects/Not_A_Name/products/mysql')
      .expect(400);
    expect(bad.body.error.message).toMatch(/project/);
    const missing = await bruno
      .get('/projects/payments/products/nosuch')
      .expect(404);
    expect(missing.body.error.message).toBe(
      'No product nosuch in project payments nor in the global registry',
    );
    // A widening definition through the API: refused, naming the field; nothing changes.
    const widening = await callAs(cp.server, users.ana)
      .post('/manifests/apply')
      .send({
        yaml: paymentsMysql("['8.4', '9.0']"),
        acknowledgeBreaking: true,
      })
      .expect(400);
    expect(widening.body.error.message).toMatch(
      /spec\.versions: widens what is allowed: "9\.0" is not allowed/,
    );
    // A developer may not write project definitions.
    await bruno
      .post('/manifests/apply')
      .send({
        acknowledgeBreaking: true,
        yaml: paymentsMysql("['8.4']").replace(
          'size:\n      default: small',
          'size:\n      default: medium',
        ),
      })
      .expect(403);
    const after = await bruno
      .get('/projects/payments/products/mysql')
      .expect(200);
    expect(after.body.spec.parameters.properties.engineVersion.enum).toEqual([
      '8.4',
    ]);
    expect(after.body.spec.parameters.properties.size.default).toBe('small');
  });

  it('a widening override pushed with git is refused as a whole, naming the field', async () => {
    const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
    try {
      git(work, 'clone', '--quiet', cp.repoPath, 'state');
      const dir = join(work, 'state');
      const path = 'projects/payments/products/mysql.yaml';
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), paymentsMysql("['8.0', '8.4', '9.0']"));
      git(dir, 'commit', '--quiet', '-am', 'payments: allow mysql 9.0');
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
      const head = git(dir, 'rev-parse', 'HEAD');
      const sync = await callAs(cp.server, users.ana)
        .post('/gitops/sync')
        .expect(200);
      expect(sync.body.result).toMatchObject({
        status: 'rejected',
        commit: head,
        errors: expect.arrayContaining([
          expect.stringMatching(
            /^ProjectProduct:payments\/mysql spec\.versions: widens what is allowed: "9\.0" is not allowed by the parent definition/,
          ),
          'Resource:payments/orders-db spec.product: the definition of mysql in project payments is refused (see ProjectProduct:payments/mysql)',
        ]),
      });
      const still = await callAs(cp.server, users.bruno)
        .get('/projects/payments/products/mysql')
        .expect(200);
      expect(still.body.spec.parameters.properties.engineVersion.enum).toEqual([
        '8.4',
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe.each(databases.eachSupportedId())(
  'the plan of project manifests on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeAll(async () => {
      cp = await startControlPlane(databases, databaseId);
    });
    afterAll(() => cp.cleanup());

    it('names each project definition with its project, and the project', async () => {
      const yaml = [
        paymentsMysql(),
        paymentsMysql().replace('namespace: payments', 'namespace: billing'),
        paymentsProject,
      ].join('---\n');
      const plan = await callAs(cp.server, users.ana)
        .post('/manifests/plan')
        .send({ yaml })
        .expect(200);
      expect(
        plan.body.changes.map((c: any) => `${c.action} ${c.kind} ${c.ref}`),
      ).toEqual(
        expect.arrayContaining([
          'create ProjectProduct projectproduct:payments/mysql',
          'create ProjectProduct projectproduct:billing/mysql',
          'create Project project:payments',
        ]),
      );
    });
  },
);
