import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { readControlPlaneConfig } from '../config';
import { createControlPlane } from '../controlPlane';
import { migrateUp } from '../database/migrations';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';
import { TRAILERS } from './StateIndexer';
import { ConfigReader } from '@backstage/config';
import { serializeManifest } from './manifestCodec';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Carla Ops',
      GIT_AUTHOR_EMAIL: 'carla@example.com',
      GIT_COMMITTER_NAME: 'Carla Ops',
      GIT_COMMITTER_EMAIL: 'carla@example.com',
    },
  })
    .toString()
    .trim();

const cacheManifest = (
  name: string,
  size: string,
) => `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: payments
spec:
  product: redis
  owner: group:default/payments
  tier: medium
  cell: cell-eu
  params:
    size: ${size}
`;

describe.each(databases.eachSupportedId())(
  'the declarative path on %s',
  databaseId => {
    it('picks up a manifest pushed with git push, and refuses an invalid head whole', async () => {
      const cp = await startControlPlane(databases, databaseId);
      const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
      try {
        git(work, 'clone', '--quiet', cp.repoPath, 'state');
        const dir = join(work, 'state');
        mkdirSync(join(dir, 'resources', 'payments'), { recursive: true });
        writeFileSync(
          join(dir, 'resources/payments/sessions.yaml'),
          cacheManifest('sessions', 'medium'),
        );
        git(dir, 'add', '.');
        git(
          dir,
          'commit',
          '--quiet',
          '-m',
          'add the sessions cache',
          '-m',
          'Approved-by: user:default/ana',
        );
        git(dir, 'push', '--quiet', 'origin', 'HEAD:main');

        const api = () => request(cp.server);
        await api()
          .post('/api/control-plane/gitops/sync')
          .set('authorization', authAs(users.ana))
          .expect(200);
        const got = await api()
          .get('/api/control-plane/resources/payments/sessions')
          .set('authorization', authAs(users.bruno));
        expect(got.status).toBe(200);
        expect(got.body).toMatchObject({
          spec: { product: 'redis', params: { size: 'medium' } },
          status: { state: 'PENDING', commit: git(dir, 'rev-parse', 'HEAD') },
        });
        const audit = await api()
          .get('/api/control-plane/audit?action=state-repo.push')
          .set('authorization', authAs(users.ana));
        expect(audit.body.items[0]).toMatchObject({
          actor: 'git:carla@example.com',
          outcome: 'accepted',
          approvers: ['user:default/ana'],
          commit: git(dir, 'rev-parse', 'HEAD'),
        });

        // One valid change and one invalid file in the same push: nothing of it applies.
        writeFileSync(
          join(dir, 'resources/payments/sessions.yaml'),
          cacheManifest('sessions', 'large'),
        );
        writeFileSync(
          join(dir, 'resources/payments/broken.yaml'),
          cacheManifest('broken', 'gigantic'),
        );
        git(dir, 'add', '.');
        git(dir, 'commit', '--quiet', '-m', 'resize sessions, add broken');
        git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
        const bad = git(dir, 'rev-parse', 'HEAD');

        const sync = await api()
          .post('/api/control-plane/gitops/sync')
          .set('authorization', authAs(users.ana));
        expect(sync.body.result).toMatchObject({
          status: 'rejected',
          commit: bad,
        });
        expect(sync.body.status).toMatchObject({
          head: bad,
          inSync: false,
          rejected: [
            {
              commit: bad,
              author: 'git:carla@example.com',
              errors: [
                expect.stringContaining(
                  'Resource:payments/broken spec.params.size',
                ),
              ],
            },
          ],
        });
        const unchanged = await api()
          .get('/api/control-plane/resources/payments/sessions')
          .set('authorization', authAs(users.bruno));
        expect(unchanged.body.spec.params.size).toBe('medium');
        expect(
          (
            await api()
              .get('/api/control-plane/resources/payments/broken')
              .set('authorization', authAs(users.bruno))
          ).status,
        ).toBe(404);
        const rejection = await api()
          .get(
            '/api/control-plane/audit?action=state-repo.sync&outcome=rejected',
          )
          .set('authorization', authAs(users.ana));
        expect(rejection.body.items[0].commit).toBe(bad);

        // The API refuses to build on an invalid head rather than carry it forward.
        const blocked = await api()
          .post('/api/control-plane/resources')
          .set('authorization', authAs(users.bruno))
          .send({
            name: 'db',
            product: 'mysql',
            owner: 'group:default/payments',
            tier: 'low',
            cell: 'cell-us',
          });
        expect(blocked.status).toBe(409);
        expect(blocked.body.error.message).toContain(
          'is invalid and was not applied',
        );

        // Fixing it applies the whole head.
        writeFileSync(
          join(dir, 'resources/payments/broken.yaml'),
          cacheManifest('broken', 'small'),
        );
        git(dir, 'commit', '--quiet', '-am', 'fix broken');
        git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
        await api()
          .post('/api/control-plane/gitops/sync')
          .set('authorization', authAs(users.ana))
          .expect(200);
        const fixed = await api()
          .get('/api/control-plane/resources/payments/sessions')
          .set('authorization', authAs(users.bruno));
        expect(fixed.body.spec.params.size).toBe('large');
        expect(fixed.body.status.generation).toBe(2);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await cp.cleanup();
      }
    });

    it('after a crash between the commit and the index update, a restart indexes the commit once', async () => {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-crash-'));
      const config = readControlPlaneConfig(
        new ConfigReader({ controlPlane: { dataDir } }),
      );
      const logger = mockServices.logger.mock();
      try {
        const first = await createControlPlane({ db: knex, config, logger });
        const key = 'create-sessions-1';
        await first.idempotency.begin(users.bruno, key, 'fingerprint');
        const state = await first.indexer.current();
        // What ChangeService does, up to the moment the process dies: the commit lands in Git,
        // the index never hears of it.
        const manifest = {
          apiVersion: 'idp.multicloud/v1',
          kind: 'Resource',
          metadata: { name: 'sessions', namespace: 'payments', labels: {} },
          spec: {
            product: 'redis',
            owner: 'group:default/payments',
            tier: 'medium',
            cell: 'cell-eu',
            params: {},
            dependsOn: [],
          },
        } as const;
        const crashed = await first.repo.commit({
          parent: state.commit,
          changes: [
            {
              path: 'resources/payments/sessions.yaml',
              content: serializeManifest(manifest as any),
            },
          ],
          message: 'create resource:payments/sessions',
          author: { name: users.bruno, email: 'bruno@users.idp.invalid' },
          trailers: {
            [TRAILERS.action]: 'resource.create',
            [TRAILERS.target]: 'resource:payments/sessions',
            [TRAILERS.requestId]: 'req-1',
            [TRAILERS.idempotencyKey]: key,
          },
        });
        expect(crashed.status).toBe('committed');
        expect(
          await knex('resources').where({ name: 'sessions' }),
        ).toHaveLength(0);

        // Restart: the index catches up with the repository.
        const second = await createControlPlane({ db: knex, config, logger });
        expect(await second.indexer.indexedCommit()).toBe(
          await second.repo.head(),
        );
        const rows = await knex('resources').where({ name: 'sessions' });
        expect(rows).toHaveLength(1);
        expect(rows[0].state).toBe('PENDING');

        // The client retries with the same key: nothing is committed again.
        const commitsBefore = (
          await second.repo.log(undefined, (await second.repo.head())!)
        ).length;
        const retried = await second.resourceService.create(manifest as any, {
          actor: users.bruno,
          requestId: 'req-2',
          idempotencyKey: key,
        });
        expect(retried.ref).toBe('resource:payments/sessions');
        expect(
          (await second.repo.log(undefined, (await second.repo.head())!))
            .length,
        ).toBe(commitsBefore);
        expect(
          await knex('resources').where({ name: 'sessions' }),
        ).toHaveLength(1);
        expect(
          await knex('audit_events').where({
            action: 'resource.create',
            commit_sha: crashed.status === 'committed' ? crashed.sha : '',
          }),
        ).toHaveLength(1);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
