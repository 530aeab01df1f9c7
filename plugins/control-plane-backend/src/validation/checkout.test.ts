import {
  manifestKey,
  manifestPath,
} from '@idp-multicloud/plugin-control-plane-common';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git } from '../__testUtils__/git';
import { bootstrapManifests } from '../gitops/bootstrap';
import { validateCheckout } from './checkout';
import { serializeManifest } from '../gitops/manifestCodec';

jest.setTimeout(60_000);

const redis = (
  name: string,
  namespace: string,
  extra = '',
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  product: redis
  owner: group:default/${namespace}
  tier: medium
  cell: cell-eu
  params:
    size: small
${extra}`;

const webapp = (
  name: string,
  namespace: string,
  dependsOn: string[],
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  product: webapp
  owner: group:default/${namespace}
  tier: medium
  cell: cell-eu
  params:
    image: ghcr.io/acme/app
    version: 1.0.0
  dependsOn: [${dependsOn.join(', ')}]
`;

const quota = `apiVersion: idp.multicloud/v1
kind: Quota
metadata:
  name: payments-budget
spec:
  scope: { kind: namespace, name: payments }
  limits: { maxInstances: 2 }
`;

/** A checkout of a state repository: the bootstrap objects and a few resources, committed. */
function stateCheckout() {
  const dir = mkdtempSync(join(tmpdir(), 'idp-checkout-'));
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  for (const m of bootstrapManifests('simulator')) {
    write(manifestPath(manifestKey(m)), serializeManifest(m));
  }
  write('resources/payments/sessions.yaml', redis('sessions', 'payments'));
  write(
    'resources/shop/storefront.yaml',
    webapp('storefront', 'shop', ['payments/sessions']),
  );
  write('quotas/payments-budget.yaml', quota);
  git(dir, 'init', '--quiet', '--initial-branch=main');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'base');
  return { dir, write, remove: (path: string) => rmSync(join(dir, path)) };
}

describe('validateCheckout', () => {
  let checkout: ReturnType<typeof stateCheckout>;
  beforeEach(() => {
    checkout = stateCheckout();
  });
  afterEach(() => rmSync(checkout.dir, { recursive: true, force: true }));

  it('passes a valid checkout and plans nothing against its own head', async () => {
    const report = await validateCheckout({ dir: checkout.dir, base: 'HEAD' });
    expect(report.findings).toEqual([]);
    expect(report.plan.changes).toEqual([]);
    expect(report.base).toBe(git(checkout.dir, 'rev-parse', 'HEAD'));
  });

  it('finds a broken manifest, a dangling reference, a quota exceeded and a breaking change, each with its file', async () => {
    // schema: a tier that does not exist in the enum of tiers, and an unknown field type
    checkout.write(
      'resources/payments/broken.yaml',
      redis('broken', 'payments').replace('tier: medium', 'tier: 7'),
    );
    // reference: depends on a resource that is not there
    checkout.write(
      'resources/payments/api.yaml',
      webapp('api', 'payments', ['payments/nothing']),
    );
    // quota: a third instance in payments
    checkout.write(
      'resources/payments/cache-2.yaml',
      redis('cache-2', 'payments'),
    );
    checkout.write(
      'resources/payments/cache-3.yaml',
      redis('cache-3', 'payments'),
    );
    // breaking: sessions is replaced (another cell), which shop's storefront depends on
    checkout.write(
      'resources/payments/sessions.yaml',
      redis('sessions', 'payments').replace('cell: cell-eu', 'cell: cell-us'),
    );
    const report = await validateCheckout({ dir: checkout.dir, base: 'main' });
    const by = (check: string) =>
      report.findings.filter(f => f.check === check);
    expect(by('schema')).toEqual([
      expect.objectContaining({
        file: 'resources/payments/broken.yaml',
        severity: 'error',
      }),
    ]);
    expect(by('reference')).toEqual([
      expect.objectContaining({
        file: 'resources/payments/api.yaml',
        ref: 'resource:payments/api',
        message: expect.stringContaining('resource:payments/nothing'),
      }),
    ]);
    expect(by('policy')).toContainEqual(
      expect.objectContaining({ code: 'quota.maxInstances' }),
    );
    expect(by('breaking')).toEqual([
      expect.objectContaining({
        file: 'resources/payments/sessions.yaml',
        code: 'resource.replaced',
        severity: 'breaking',
      }),
    ]);
    expect(report.impact).toEqual([
      {
        ref: 'resource:payments/sessions',
        dependents: ['resource:shop/storefront'],
      },
    ]);
    const created = report.plan.changes.find(
      c => c.ref === 'resource:payments/cache-2',
    );
    expect(created?.action).toBe('create');
    expect(created?.cost?.after).toBeGreaterThan(0);
    expect(report.plan.cost?.delta).toBeGreaterThan(0);
  });

  it('reports a deletion as breaking, and a deletion others depend on as an error', async () => {
    checkout.remove('resources/payments/sessions.yaml');
    const report = await validateCheckout({ dir: checkout.dir, base: 'main' });
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          check: 'breaking',
          code: 'resource.deleted',
          ref: 'resource:payments/sessions',
        }),
        expect.objectContaining({
          check: 'reference',
          file: 'resources/shop/storefront.yaml',
          message: expect.stringContaining('resource:payments/sessions'),
        }),
      ]),
    );
  });
});

describe('validateCheckout of projects', () => {
  let checkout: ReturnType<typeof stateCheckout>;
  beforeEach(() => {
    checkout = stateCheckout();
  });
  afterEach(() => rmSync(checkout.dir, { recursive: true, force: true }));

  const project = `apiVersion: idp.multicloud/v1
kind: Project
metadata:
  name: payments
spec:
  compliance: [pci-dss]
  audit: { retentionDays: 365 }
`;
  const redisDefinition = (spec: string) => `apiVersion: idp.multicloud/v1
kind: ProjectProduct
metadata:
  name: redis
  namespace: payments
spec:
  extends: redis
${spec}`;

  it('finds, offline, a widening definition, a compliance failure naming the rule, and a dependency on what a project does not publish', async () => {
    checkout.write('projects/payments/project.yaml', project);
    checkout.write(
      'projects/payments/products/redis.yaml',
      redisDefinition('  versions: ["7.4", "8.0"]\n'),
    );
    checkout.write(
      'resources/payments/sessions.yaml',
      redis('sessions', 'payments', '    encryption: false\n'),
    );
    const report = await validateCheckout({ dir: checkout.dir, base: 'HEAD' });
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'projects/payments/products/redis.yaml',
          ref: 'projectproduct:payments/redis',
          path: 'spec.versions',
          message: expect.stringMatching(/widens what is allowed: "8\.0"/),
        }),
      ]),
    );

    checkout.write(
      'projects/payments/products/redis.yaml',
      redisDefinition('  versions: ["7.4"]\n'),
    );
    const second = await validateCheckout({ dir: checkout.dir, base: 'HEAD' });
    // (A project definition is also a change of what the project sees: the breaking-change
    // detection may report it; only the errors are this test's.)
    const errors = (r: typeof second) =>
      r.findings.filter(f => f.severity === 'error');
    expect(
      errors(second).map(f => `${f.file} ${f.path}: ${f.message}`),
    ).toEqual([
      'resources/payments/sessions.yaml spec.params.encryption: compliance.pci-dss.encryption-at-rest: resource:payments/sessions has encryption: false',
      'resources/payments/sessions.yaml spec.params.encryption: compliance.pci-dss.encryption-in-transit: resource:payments/sessions has encryption: false (must be true)',
      expect.stringMatching(
        /^resources\/shop\/storefront\.yaml spec\.dependsOn\.0: resource:payments\/sessions is in project payments, which does not publish its redis definition/,
      ),
    ]);

    checkout.write(
      'projects/payments/products/redis.yaml',
      redisDefinition('  versions: ["7.4"]\n  publish: true\n'),
    );
    checkout.write(
      'resources/payments/sessions.yaml',
      redis('sessions', 'payments'),
    );
    const third = await validateCheckout({ dir: checkout.dir, base: 'HEAD' });
    expect(errors(third)).toEqual([]);
  });
});
