import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  callAs,
  fastSimulator,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(120_000);

/*
 * What can be known wrong before a commit is refused before it: a pin to a provider or
 * cluster the fleet does not have (or that is not where the resource lives), and a storage
 * shrink the product cannot do. The resource's status.reason follows its last operation.
 */

const mysql = (name: string, extra: object = {}) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  ...extra,
});

const resourceYaml = (
  name: string,
  spec: string,
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: default
spec:
  product: mysql
  owner: group:default/payments
  tier: medium
  cell: cell-us
${spec}
`;

/** Set-up that must succeed: throws (failing the hook) unless the request answered 201. */
async function created(pending: Promise<{ status: number; text: string }>) {
  const res = await pending;
  if (res.status !== 201) {
    throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  }
}

describe.each(databases.eachSupportedId())(
  'validation before a commit on %s',
  databaseId => {
    describe('without an engine', () => {
      let cp: Awaited<ReturnType<typeof startControlPlane>>;
      beforeAll(async () => {
        cp = await startControlPlane(databases, databaseId);
        const api = callAs(cp.server, users.ana);
        await created(
          api.post(
            '/resources',
            mysql('orders-db', { params: { storageGi: 100 } }),
          ),
        );
        await created(
          api.post('/resources', {
            ...mysql('assets'),
            product: 'object-bucket',
            params: { storageGi: 500 },
          }),
        );
      });
      afterAll(() => cp.cleanup());

      const api = () => callAs(cp.server, users.ana);
      const commits = () => git(cp.repoPath, 'rev-list', '--count', 'main');
      const operationRows = async () =>
        Number((await cp.knex('operations').count({ n: '*' }))[0].n);
      /** A request's answer, and whether it committed or created an operation. */
      const attempt = async (
        pending: Promise<{ status: number; body: any }>,
      ) => {
        const before = [commits(), await operationRows()];
        const res = await pending;
        const after = [commits(), await operationRows()];
        return {
          status: res.status,
          message: res.body.error?.message,
          wrote: JSON.stringify(after) !== JSON.stringify(before),
        };
      };
      const refusedWith = (message: string) => ({
        status: 400,
        message: expect.stringContaining(message),
        wrote: false,
      });

      it.each<[string, object, string]>([
        [
          'an unknown provider',
          { provider: 'nimbus' },
          'placement.provider: no provider nimbus',
        ],
        [
          'an unknown cluster',
          { cluster: 'aws-mars-1' },
          'placement.cluster: no cluster aws-mars-1',
        ],
        [
          'a cluster of another cell',
          { cluster: 'aws-eu-west-1' },
          'placement.cluster: cluster aws-eu-west-1 is in cell cell-eu, not cell-us',
        ],
        [
          'a cluster of another provider',
          { provider: 'aws', cluster: 'gcp-us-central1' },
          'placement.cluster: cluster gcp-us-central1 runs on provider gcp, not aws',
        ],
      ])(
        'a create pinned to %s is a 400 naming the field',
        async (_, placement, message) => {
          expect(
            await attempt(
              api().post('/resources', mysql('pinned-db', { placement })),
            ),
          ).toEqual(refusedWith(message));
          expect(
            await attempt(
              api().post('/manifests/apply', {
                yaml: resourceYaml(
                  'pinned-db',
                  `  placement: ${JSON.stringify(placement)}`,
                ),
              }),
            ),
          ).toEqual(refusedWith(`spec.${message}`));
        },
      );

      it('accepts a pin to a cluster of the cell on its provider, and refuses the same pin in another cell', async () => {
        const placement = { provider: 'aws', cluster: 'aws-us-east-1' };
        expect(
          await attempt(
            api().post(
              '/resources',
              mysql('pinned-db', { cell: 'cell-eu', placement }),
            ),
          ),
        ).toEqual(
          refusedWith(
            'placement.cluster: cluster aws-us-east-1 is in cell cell-us, not cell-eu',
          ),
        );
        const res = await api().post(
          '/resources',
          mysql('pinned-db', { placement }),
        );
        expect(res.status).toBe(201);
        expect(res.body.spec.placement).toEqual(placement);
      });

      it.each<[string, object, string]>([
        [
          'an unknown provider',
          { provider: 'nimbus' },
          'params.provider: no provider nimbus',
        ],
        [
          'an unknown cluster',
          { cluster: 'aws-mars-1' },
          'params.cluster: no cluster aws-mars-1',
        ],
        [
          'a cluster outside the target cell',
          { cell: 'cell-eu', cluster: 'aws-us-east-1' },
          'params.cluster: cluster aws-us-east-1 is in cell cell-us, not cell-eu',
        ],
      ])(
        'a migration to %s is a 400 naming the parameter',
        async (_, params, message) => {
          expect(
            await attempt(
              api().post('/resources/default/orders-db/operations', {
                type: 'migrate',
                params,
              }),
            ),
          ).toEqual(refusedWith(message));
        },
      );

      it("refuses shrinking a database's storage, by update or scale, naming both sizes, unless its product allows it", async () => {
        expect(
          await attempt(
            api().patch('/resources/default/orders-db', {
              params: { storageGi: 50 },
            }),
          ),
        ).toEqual(
          refusedWith(
            'params.storageGi: storage cannot shrink from 100 GiB to 50 GiB',
          ),
        );
        expect(
          await attempt(
            api().post('/resources/default/orders-db/operations', {
              type: 'scale',
              params: { storageGi: 50 },
            }),
          ),
        ).toEqual(
          refusedWith(
            'params.storageGi: storage cannot shrink from 100 GiB to 50 GiB',
          ),
        );
        // The product's default counts as the size a resource has when it names none.
        const small = await api().post('/resources', mysql('small-db'));
        expect(small.status).toBe(201);
        expect(
          await attempt(
            api().patch('/resources/default/small-db', {
              params: { storageGi: 10 },
            }),
          ),
        ).toEqual(
          refusedWith(
            'params.storageGi: storage cannot shrink from 20 GiB to 10 GiB',
          ),
        );
        // Growing is fine.
        const grown = await api().patch('/resources/default/orders-db', {
          params: { storageGi: 200 },
        });
        expect(grown.status).toBe(200);
        expect(grown.body.spec.params.storageGi).toBe(200);
        // A product that says its storage may shrink (a bucket: no volume) may.
        const bucket = await api().patch('/resources/default/assets', {
          params: { storageGi: 100 },
        });
        expect(bucket.status).toBe(200);
        expect(bucket.body.spec.params.storageGi).toBe(100);
      });

      it('refuses a shrink however it arrives: a manifest applied, or a push', async () => {
        const kept = await api().post(
          '/resources',
          mysql('kept-db', { params: { storageGi: 100 } }),
        );
        expect(kept.status).toBe(201);
        const shrunk = resourceYaml('kept-db', '  params: { storageGi: 40 }');
        expect(
          await attempt(api().post('/manifests/apply', { yaml: shrunk })),
        ).toEqual(
          refusedWith(
            'params.storageGi: storage cannot shrink from 100 GiB to 40 GiB',
          ),
        );
        const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
        try {
          git(work, 'clone', '--quiet', cp.repoPath, 'state');
          const dir = join(work, 'state');
          writeFileSync(join(dir, 'resources/default/kept-db.yaml'), shrunk);
          git(dir, 'commit', '--quiet', '-am', 'smaller disk');
          git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
          const sync = await api().post('/gitops/sync');
          expect(sync.body.result.status).toBe('rejected');
          expect(sync.body.status.rejected[0].errors).toEqual([
            expect.stringContaining(
              'spec.params.storageGi: storage cannot shrink from 100 GiB to 40 GiB',
            ),
          ]);
          const still = await api().get('/resources/default/kept-db');
          expect(still.body.spec.params.storageGi).toBe(100);
          // Reverting the push clears it.
          git(dir, 'revert', '--no-edit', 'HEAD');
          git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
          const cleared = await api().post('/gitops/sync');
          expect(cleared.body.result.status).toBe('indexed');
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      });

      it('rejects a pushed head pinning a resource to a provider or cluster that does not exist, or naming a product constructor', async () => {
        const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
        try {
          git(work, 'clone', '--quiet', cp.repoPath, 'state');
          const dir = join(work, 'state');
          const push = (files: Record<string, string>) => {
            for (const [path, content] of Object.entries(files)) {
              mkdirSync(dirname(join(dir, path)), { recursive: true });
              writeFileSync(join(dir, path), content);
            }
            git(dir, 'add', '.');
            git(dir, 'commit', '--quiet', '-m', 'hand push');
            git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
            return git(dir, 'rev-parse', 'HEAD');
          };
          const bad = push({
            'resources/default/pushed-a.yaml': resourceYaml(
              'pushed-a',
              '  placement: { provider: nimbus }',
            ),
            'resources/default/pushed-b.yaml': resourceYaml(
              'pushed-b',
              '  placement: { cluster: aws-eu-west-1 }',
            ),
            'resources/default/pushed-c.yaml': resourceYaml(
              'pushed-c',
              '',
            ).replace('product: mysql', 'product: constructor'),
          });
          const sync = await api().post('/gitops/sync');
          expect(sync.status).toBe(200);
          expect(sync.body.result).toMatchObject({
            status: 'rejected',
            commit: bad,
          });
          expect(sync.body.status.rejected[0].errors).toEqual(
            expect.arrayContaining([
              'Resource:default/pushed-a spec.placement.provider: no provider nimbus',
              'Resource:default/pushed-b spec.placement.cluster: cluster aws-eu-west-1 is in cell cell-eu, not cell-us',
              'Resource:default/pushed-c spec.product: no product constructor',
            ]),
          );
          for (const name of ['pushed-a', 'pushed-b', 'pushed-c']) {
            expect((await api().get(`/resources/default/${name}`)).status).toBe(
              404,
            );
          }
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      });
    });

    it("status.reason follows the resource's last operation", async () => {
      const cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [simulatorModule],
        controlPlane: { simulator: fastSimulator },
      });
      try {
        const api = callAs(cp.server, users.ana);
        expect((await api.post('/resources', mysql('orders-db'))).status).toBe(
          201,
        );
        const settled = (generation: number) =>
          until(async () => {
            const r = (await api.get('/resources/default/orders-db')).body;
            return r.status?.state === 'READY' &&
              r.status.observedGeneration >= generation
              ? r
              : undefined;
          }, `orders-db READY at generation ${generation}`);
        expect((await settled(1)).status.reason).toBe('create succeeded');

        const updated = await api.patch('/resources/default/orders-db', {
          params: { size: 'large' },
        });
        expect(updated.status).toBe(200);
        const afterUpdate = await until(async () => {
          const r = await settled(2);
          return r.status.reason !== 'create succeeded' ? r : undefined;
        }, 'the update to settle');
        expect(afterUpdate.status.reason).toBe('update succeeded');

        const backup = await api.post(
          '/resources/default/orders-db/operations',
          {
            type: 'backup',
            params: { label: 'nightly' },
          },
        );
        expect(backup.status).toBe(202);
        const afterBackup = await until(async () => {
          const r = (await api.get('/resources/default/orders-db')).body;
          return r.status.reason === 'backup succeeded' ? r : undefined;
        }, 'the backup to settle');
        expect(afterBackup.status.state).toBe('READY');

        // A failed operation is the last one too: its failure is the reason.
        expect(
          (
            await api.post('/simulator/faults', {
              kind: 'step-failure',
              step: 'snapshot',
              times: 1,
              message: 'snapshot quota exhausted',
            })
          ).status,
        ).toBe(201);
        const failed = await api.post(
          '/resources/default/orders-db/operations',
          { type: 'backup', params: { label: 'again' } },
        );
        expect(failed.status).toBe(202);
        const afterFailure = await until(async () => {
          const r = (await api.get('/resources/default/orders-db')).body;
          return r.status.reason !== 'backup succeeded' ? r : undefined;
        }, 'the failed backup to settle');
        expect(afterFailure.status.reason).toMatch(
          /^backup failed \(.*snapshot quota exhausted.*\); completed steps were undone$/,
        );
      } finally {
        await cp.cleanup();
      }
    });
  },
);
