import { createServiceFactory } from '@backstage/backend-plugin-api';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  NotificationSendOptions,
  notificationService,
} from '@backstage/plugin-notifications-node';
import { builtinProducts } from '@idp-multicloud/plugin-control-plane-common';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  callAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(90_000);

/** mysql as built in, with `highAvailability` removed and 8.0 deprecated. */
function mysqlWithout(parameter: string) {
  const spec = structuredClone(builtinProducts.mysql);
  const properties = (
    spec.parameters as unknown as { properties: Record<string, unknown> }
  ).properties;
  delete properties[parameter];
  return spec;
}

const manifest = (kind: string, name: string, spec: object, ns?: string) => ({
  apiVersion: 'idp.multicloud/v1',
  kind,
  metadata: { name, ...(ns ? { namespace: ns } : {}) },
  spec,
});

const database = (namespace: string, name: string, params: object = {}) =>
  manifest(
    'Resource',
    name,
    {
      product: 'mysql',
      owner: `group:default/${namespace}`,
      tier: 'medium',
      cell: 'cell-eu',
      component: `component:default/${name}-api`,
      params: { size: 'small', ...params },
    },
    namespace,
  );

const yamlOf = (...docs: object[]) => docs.map(d => stringify(d)).join('---\n');

describe.each(databases.eachSupportedId())(
  'breaking changes of product definitions on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    let sent: NotificationSendOptions[];
    const ana = () => callAs(cp.server, users.ana);

    beforeEach(async () => {
      sent = [];
      cp = await startControlPlane(databases, databaseId, {
        features: [
          // Backstage's notifications, as the control plane calls them
          createServiceFactory({
            service: notificationService,
            deps: {},
            factory: () => ({
              send: async (options: NotificationSendOptions) => {
                sent.push(options);
              },
            }),
          }),
        ],
      });
      // mysql used by two projects, payments and orders; a postgres beside them
      await ana()
        .post('/manifests/apply', {
          yaml: yamlOf(
            database('payments', 'ledger-db'),
            database('orders', 'orders-db', { engineVersion: '8.0' }),
            manifest(
              'Resource',
              'search-db',
              {
                product: 'postgres',
                owner: 'group:default/search',
                tier: 'medium',
                cell: 'cell-eu',
                params: { size: 'small' },
              },
              'search',
            ),
          ),
        })
        .expect(200);
    });
    afterEach(() => cp.cleanup());

    const commits = () =>
      Number(
        execFileSync('git', ['rev-list', '--count', 'main'], {
          cwd: cp.repoPath,
        }).toString(),
      );
    const removal = yamlOf(
      manifest('Product', 'mysql', mysqlWithout('highAvailability')),
    );

    it('plans a removed parameter as breaking, naming both projects and owners, with a migration guide; refuses it without acknowledgement; applies it with one and notifies the owners', async () => {
      const plan = await ana()
        .post('/manifests/plan', { yaml: removal })
        .expect(200);
      expect(plan.body.breaking.acknowledgementRequired).toBe(true);
      const [impact] = plan.body.breaking.definitions;
      expect(impact).toMatchObject({
        product: 'mysql',
        affected: {
          projects: ['orders', 'payments'],
          owners: ['group:default/orders', 'group:default/payments'],
          components: [
            'component:default/ledger-db-api',
            'component:default/orders-db-api',
          ],
        },
      });
      expect(impact.findings).toContainEqual(
        expect.objectContaining({
          code: 'parameter.removed',
          subject: 'highAvailability',
          breaking: true,
        }),
      );
      expect(impact.affected.resources.map((r: any) => r.ref)).toEqual([
        'resource:orders/orders-db',
        'resource:payments/ledger-db',
      ]);
      expect(impact.guide).toContain('# Migration guide: product mysql');
      expect(impact.guide).toContain(
        "Take `highAvailability` out of each affected resource's `spec.params`",
      );
      expect(impact.guide).toContain(
        '| payments | `resource:payments/ledger-db` | component:default/ledger-db-api | group:default/payments | parameter.removed |',
      );
      expect(plan.body.breaking.changes).toContainEqual({
        ref: 'product:mysql',
        code: 'parameter.removed',
        message: expect.stringContaining(
          'affects 2 resources in orders, payments (owners group:default/orders, group:default/payments)',
        ),
      });

      // Without acknowledgement: refused, naming what breaks and whom; nothing written.
      const before = commits();
      const refused = await ana()
        .post('/manifests/apply', { yaml: removal })
        .expect(409);
      expect(refused.body.error.message).toContain(
        'product:mysql (parameter.removed highAvailability)',
      );
      expect(refused.body.error.message).toContain(
        'affecting 2 resources in orders, payments',
      );
      expect(refused.body.error.message).toContain('acknowledgeBreaking: true');
      expect(commits()).toBe(before);

      // Acknowledged: applied, with the trailer; recorded with its guide; owners notified.
      const applied = await ana()
        .post('/manifests/apply', { yaml: removal, acknowledgeBreaking: true })
        .expect(200);
      expect(
        git(
          cp.repoPath,
          'log',
          '-1',
          '--format=%(trailers:key=Breaking-Change,valueonly)',
        ),
      ).toBe('acknowledged');
      const list = await ana().get('/definition-changes').expect(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({
          product: 'mysql',
          commit: applied.body.commit,
          actor: users.ana,
          guide: expect.stringContaining('# Migration guide: product mysql'),
        }),
      ]);
      const [notice] = await until(
        async () => sent.length > 0 && sent,
        'the notification',
      );
      expect(sent).toHaveLength(1);
      expect(notice).toMatchObject({
        recipients: {
          type: 'entity',
          entityRef: ['group:default/orders', 'group:default/payments'],
        },
        payload: {
          title:
            'Breaking change of product mysql: 2 of your resources affected',
          link: `/control-plane/definition-changes?id=${list.body.items[0].id}`,
        },
      });
      const one = await ana()
        .get(`/definition-changes/${list.body.items[0].id}`)
        .expect(200);
      expect(one.body.notifiedAt).toBeDefined();
      // bruno (payments) sees only what he may read among the affected
      const mine = await callAs(cp.server, users.bruno)
        .get(`/definition-changes/${list.body.items[0].id}`)
        .expect(200);
      expect(mine.body.affected.projects).toEqual(['payments']);
    });

    it("needs the approval a project's policy names for breaking changes: refused without a pull request module", async () => {
      await ana()
        .post('/manifests/apply', {
          yaml: yamlOf(
            manifest('Project', 'payments', {
              approvals: { breaking: ['group:default/architects'] },
            }),
          ),
        })
        .expect(200);
      const refused = await ana()
        .post('/manifests/apply', { yaml: removal, acknowledgeBreaking: true })
        .expect(409);
      expect(refused.body.error.message).toContain(
        'A breaking change of product:mysql needs review as a pull request, approved by group:default/architects (project payments)',
      );
      const list = await ana().get('/definition-changes').expect(200);
      expect(list.body.items).toEqual([]);
    });

    it('needs no acknowledgement for a breaking finding no resource is reached by', async () => {
      // nobody runs a redis here
      const spec = structuredClone(builtinProducts.redis);
      delete (
        spec.parameters as unknown as { properties: Record<string, unknown> }
      ).properties.persistence;
      const yaml = yamlOf(manifest('Product', 'redis', spec));
      const plan = await ana().post('/manifests/plan', { yaml }).expect(200);
      expect(plan.body.breaking).toMatchObject({
        acknowledgementRequired: false,
        changes: [],
        definitions: [
          {
            product: 'redis',
            findings: [
              expect.objectContaining({
                code: 'parameter.removed',
                subject: 'persistence',
              }),
            ],
            affected: expect.objectContaining({ resources: [] }),
          },
        ],
      });
      await ana().post('/manifests/apply', { yaml }).expect(200);
      const list = await ana().get('/definition-changes').expect(200);
      expect(list.body.items).toEqual([]);
    });

    it('refuses a breaking change pushed by hand without the trailer, and applies it with one', async () => {
      const work = join(cp.dataDir, 'work');
      git(cp.dataDir, 'clone', '--quiet', cp.repoPath, 'work');
      mkdirSync(join(work, 'products'), { recursive: true });
      writeFileSync(
        join(work, 'products', 'mysql.yaml'),
        stringify(
          manifest('Product', 'mysql', mysqlWithout('highAvailability')),
        ),
      );
      git(work, 'add', '.');
      git(work, 'commit', '--quiet', '-m', 'mysql without HA');
      git(work, 'push', '--quiet', 'origin', 'HEAD:main');
      const status = await ana().post('/gitops/sync').expect(200);
      expect(JSON.stringify(status.body)).toContain(
        'breaking change (parameter.removed highAvailability) affecting 2 resource(s) without acknowledgement',
      );
      git(
        work,
        'commit',
        '--quiet',
        '--amend',
        '-m',
        'mysql without HA\n\nBreaking-Change: acknowledged',
      );
      git(work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
      await ana().post('/gitops/sync').expect(200);
      const list = await ana().get('/definition-changes').expect(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({
          product: 'mysql',
          actor: 'git:Carla Ops <carla@example.com>',
        }),
      ]);
    });

    it("names a project's own definition when its change breaks that project's resources", async () => {
      const override = (size: string) =>
        manifest(
          'ProjectProduct',
          'mysql',
          { extends: 'mysql', parameters: { size: { default: size } } },
          'payments',
        );
      await ana()
        .post('/manifests/apply', {
          yaml: yamlOf(
            override('medium'),
            database('payments', 'audit-db', { size: undefined }),
          ),
        })
        .expect(200);
      // audit-db leaves size out: payments' new default moves it; ledger-db sets it
      const plan = await ana()
        .post('/manifests/plan', { yaml: yamlOf(override('large')) })
        .expect(200);
      expect(plan.body.breaking.definitions).toEqual([
        expect.objectContaining({
          product: 'mysql',
          project: 'payments',
          findings: [
            expect.objectContaining({
              code: 'parameter.default-changed',
              subject: 'size',
              before: 'medium',
              after: 'large',
            }),
          ],
          affected: expect.objectContaining({
            resources: [
              expect.objectContaining({ ref: 'resource:payments/audit-db' }),
            ],
            projects: ['payments'],
          }),
          guide: expect.stringContaining(
            '# Migration guide: product mysql in project payments',
          ),
        }),
      ]);
      const refused = await ana()
        .post('/manifests/apply', { yaml: yamlOf(override('large')) })
        .expect(409);
      expect(refused.body.error.message).toContain(
        'projectproduct:payments/mysql (parameter.default-changed size)',
      );
      await ana()
        .post('/manifests/apply', {
          yaml: yamlOf(override('large')),
          acknowledgeBreaking: true,
        })
        .expect(200);
      const list = await ana().get('/definition-changes').expect(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({ product: 'payments/mysql' }),
      ]);
    });

    it('warns every plan that uses a deprecated version, and lists who still does', async () => {
      const spec = {
        ...structuredClone(builtinProducts.mysql),
        deprecatedVersions: {
          '8.0': { removalDate: '2027-06-30', message: 'end of life upstream' },
        },
      };
      const deprecating = await ana()
        .post('/manifests/plan', {
          yaml: yamlOf(manifest('Product', 'mysql', spec)),
        })
        .expect(200);
      // deprecating breaks nothing, but warns about who runs it
      expect(deprecating.body.breaking?.acknowledgementRequired ?? false).toBe(
        false,
      );
      expect(deprecating.body.warnings).toEqual([
        {
          ref: 'resource:orders/orders-db',
          code: 'version.deprecated',
          message: expect.stringMatching(
            /^mysql 8\.0 is deprecated, removal on 2027-06-30 \(in \d+ days\) \(end of life upstream\)$/,
          ),
        },
      ]);
      await ana()
        .post('/manifests/apply', {
          yaml: yamlOf(manifest('Product', 'mysql', spec)),
        })
        .expect(200);
      const usage = await ana().get('/products/mysql/usage').expect(200);
      expect(usage.body).toMatchObject({
        product: 'mysql',
        deprecatedVersions: { '8.0': { removalDate: '2027-06-30' } },
        projects: ['orders', 'payments'],
      });
      expect(
        usage.body.resources.map((r: any) => [
          r.ref,
          r.version,
          r.deprecatedVersion,
        ]),
      ).toEqual([
        ['resource:orders/orders-db', '8.0', true],
        ['resource:payments/ledger-db', '8.4', false],
      ]);
      // a plan of a resource on it warns too
      const plan = await ana()
        .post('/manifests/plan', {
          yaml: yamlOf(
            database('orders', 'orders-db', {
              engineVersion: '8.0',
              size: 'medium',
            }),
          ),
        })
        .expect(200);
      expect(plan.body.warnings).toEqual([
        expect.objectContaining({ code: 'version.deprecated' }),
      ]);
      await ana().get('/products/nope/usage').expect(404);
      await ana()
        .post('/manifests/plan', {
          yaml: yamlOf(
            manifest('Product', 'mysql', {
              ...spec,
              deprecatedVersions: { '8.0': { removalDate: 'next year' } },
            }),
          ),
        })
        .expect(400);
    });
  },
);
