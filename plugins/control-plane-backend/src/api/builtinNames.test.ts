import { TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import { callAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

/**
 * Names every plain object answers to: a request, a manifest or config naming one must find
 * nothing (a 400 or 404 naming the field), never Object.prototype's member, and write nothing.
 */
const builtinNames = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
];

const mysql = {
  name: 'orders-db',
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
};

const resourceYaml = (field: string) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: probe-db
  namespace: default
spec:
  product: mysql
  owner: group:default/payments
  tier: medium
  cell: cell-us
  ${field}
`;

describe.each(databases.eachSupportedId())(
  'names of Object.prototype through the API on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    beforeAll(async () => {
      cp = await startControlPlane(databases, databaseId);
      const res = await callAs(cp.server, users.ana).post('/resources', mysql);
      if (res.status !== 201) {
        throw new Error(`expected 201, got ${res.status}: ${res.text}`);
      }
    });
    afterAll(() => cp.cleanup());

    const api = () => callAs(cp.server, users.ana);
    const count = async (table: string) =>
      Number((await cp.knex(table).count({ n: '*' }))[0].n);
    const written = async () => ({
      commits: execFileSync('git', ['rev-list', '--count', 'main'], {
        cwd: cp.repoPath,
      })
        .toString()
        .trim(),
      resources: await count('resources'),
      operations: await count('operations'),
      flags: await count('feature_flags'),
      experiments: await count('experiments'),
    });

    /** Expects a 4xx whose message names `field` first. */
    const refused = (
      res: { status: number; body: any },
      status: number,
      field: string,
    ) => {
      expect({ status: res.status, message: res.body.error?.message }).toEqual({
        status,
        message: expect.stringMatching(
          new RegExp(`^${field.replace(/\./g, '\\.')}: |${field}`),
        ),
      });
    };

    it('answers a body built to break String() with 400s, not a 500', async () => {
      const before = await written();
      for (const body of [
        { ...mysql, name: { toString: 1, valueOf: 1 } },
        { ...mysql, name: { toString: 'x' }, namespace: { valueOf: [] } },
      ]) {
        const res = await api().post('/resources', body);
        expect([res.status, res.body.error?.name]).toEqual([400, 'InputError']);
      }
      expect(await written()).toEqual(before);
    });

    it.each(builtinNames)(
      '%s is no product: resources, estimates and manifests answer 400 naming it, the catalog 404',
      async name => {
        const before = await written();
        refused(
          await api().post('/resources', {
            ...mysql,
            name: 'probe-db',
            product: name,
          }),
          400,
          'product',
        );
        refused(
          await api().post('/cost/estimate', { product: name }),
          400,
          'product',
        );
        for (const path of ['/manifests/plan', '/manifests/apply']) {
          const res = await api().post(path, {
            yaml: resourceYaml('params: {}').replace(
              'product: mysql',
              `product: ${JSON.stringify(name)}`,
            ),
          });
          expect(res.status).toBe(400);
          expect(res.body.error.message).toContain('spec.product');
        }
        const product = await api().get(`/products/${name}`);
        expect(product.status).toBe(404);
        expect(await written()).toEqual(before);
      },
    );

    it.each(builtinNames)(
      '%s is no provider, cluster or cell: a create pinned to it is a 400 naming the field',
      async name => {
        const before = await written();
        const create = (body: object) =>
          api().post('/resources', { ...mysql, name: 'probe-db', ...body });
        refused(
          await create({ placement: { provider: name } }),
          400,
          'placement.provider',
        );
        refused(
          await create({ placement: { cluster: name } }),
          400,
          'placement.cluster',
        );
        refused(await create({ cell: name }), 400, 'cell');
        refused(
          await api().post('/cost/estimate', { product: 'mysql', cell: name }),
          400,
          'cell',
        );
        const pinned = await api().post('/manifests/plan', {
          yaml: resourceYaml(
            `placement: { provider: ${JSON.stringify(name)} }`,
          ),
        });
        expect(pinned.status).toBe(400);
        expect(pinned.body.error.message).toContain('spec.placement.provider');
        expect(await written()).toEqual(before);
      },
    );

    it.each(builtinNames)(
      '%s is no operation, migration target, flag or flag and experiment cell: 400/404 naming the field, nothing written',
      async name => {
        const before = await written();
        const operate = (body: object) =>
          api().post('/resources/default/orders-db/operations', body);
        refused(await operate({ type: name }), 400, 'type');
        refused(
          await operate({ type: 'migrate', params: { provider: name } }),
          400,
          'params.provider',
        );
        refused(
          await operate({ type: 'migrate', params: { cluster: name } }),
          400,
          'params.cluster',
        );

        refused(
          await api().put(`/flags/${name}`, { value: false }),
          404,
          'No feature flag',
        );
        expect((await api().get(`/flags/${name}`)).status).toBe(404);
        refused(
          await api().put('/flags/drift.autoCorrect', {
            value: false,
            scope: { cell: name },
          }),
          400,
          'scope.cell',
        );

        refused(
          await api().post('/experiments', {
            name: 'probe',
            arms: [{ name: 'cheap', percent: 10, weights: { cost: 1 } }],
            scope: { cells: [name] },
          }),
          400,
          'scope.cells.0',
        );
        expect((await api().get(`/experiments/${name}`)).status).toBe(
          name === 'constructor' ? 404 : 400,
        );
        expect(await written()).toEqual(before);
      },
    );
  },
);
