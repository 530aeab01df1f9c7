import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { builtinProducts } from '@idp-multicloud/plugin-control-plane-common';
import { controlPlaneProductsExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { readControlPlaneConfig } from '../config';
import { createControlPlane } from '../controlPlane';
import { migrateUp } from '../database/migrations';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';
import { TRAILERS } from './commits';
import { ConfigReader } from '@backstage/config';
import { serializeManifest } from './manifestCodec';
import { git } from '../__testUtils__/git';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

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

/** A resource as a request would ask for it (what a commit of it holds). */
const sessions = {
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

/**
 * A clone of the control plane's state repository, changed by hand: `push` writes files,
 * commits them with the message paragraphs given (trailers in the last) and pushes.
 */
function handClone(repoPath: string, work: string) {
  git(work, 'clone', '--quiet', repoPath, 'state');
  const dir = join(work, 'state');
  return {
    dir,
    push(files: Record<string, string>, ...message: string[]): string {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      git(dir, 'add', '.');
      git(dir, 'commit', '--quiet', ...message.flatMap(m => ['-m', m]));
      git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
      return git(dir, 'rev-parse', 'HEAD');
    },
  };
}

describe.each(databases.eachSupportedId())(
  'the declarative path on %s',
  databaseId => {
    /** A migrated database and the config of a control plane on it, without a backend. */
    const bare = async () => {
      const knex = await databases.init(databaseId);
      await migrateUp(knex);
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-cp-'));
      const config = readControlPlaneConfig(
        new ConfigReader({ controlPlane: { dataDir } }),
      );
      return { knex, dataDir, config, logger: mockServices.logger.mock() };
    };

    it('picks up a manifest pushed with git push, and refuses an invalid head whole', async () => {
      const cp = await startControlPlane(databases, databaseId);
      const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
      try {
        const clone = handClone(cp.repoPath, work);
        const dir = clone.dir;
        clone.push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'medium',
            ),
          },
          'add the sessions cache',
          'Approved-by: user:default/ana',
        );

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
        // A hand push is its author as written, unverified; its Approved-by trailer is
        // what the pusher claims, kept in the reason, not an approver.
        expect(audit.body.items[0]).toMatchObject({
          actor: 'git:Carla Ops <carla@example.com>',
          outcome: 'accepted',
          verified: false,
          approvers: [],
          reason: expect.stringContaining('Approved-by: user:default/ana'),
          commit: git(dir, 'rev-parse', 'HEAD'),
        });

        // One valid change and one invalid file in the same push: nothing of it applies.
        const bad = clone.push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'large',
            ),
            'resources/payments/broken.yaml': cacheManifest(
              'broken',
              'gigantic',
            ),
          },
          'resize sessions, add broken',
        );

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
              author: 'git:Carla Ops <carla@example.com>',
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

        // The API keeps accepting changes on the last good head: its commit goes on top of
        // the rejected one, on the last good tree, and says that it undoes it.
        const accepted = await api()
          .post('/api/control-plane/resources')
          .set('authorization', authAs(users.bruno))
          .send({
            name: 'db',
            product: 'mysql',
            owner: 'group:default/payments',
            tier: 'low',
            cell: 'cell-us',
          });
        expect(accepted.status).toBe(201);
        const head = git(cp.repoPath, 'rev-parse', 'main');
        expect(git(cp.repoPath, 'rev-parse', 'main^')).toBe(bad);
        expect(git(cp.repoPath, 'log', '-1', '--format=%B', 'main')).toContain(
          `Undoes-Rejected: ${bad}`,
        );
        expect(
          git(cp.repoPath, 'ls-tree', '-r', '--name-only', 'main'),
        ).not.toContain('resources/payments/broken.yaml');
        expect(
          git(cp.repoPath, 'show', 'main:resources/payments/sessions.yaml'),
        ).toContain('size: medium');
        const status = await api()
          .get('/api/control-plane/gitops/status')
          .set('authorization', authAs(users.ana));
        expect(status.body).toMatchObject({
          inSync: true,
          indexedCommit: head,
        });

        // Pushing the change again, fixed, applies the whole of it.
        git(dir, 'pull', '--quiet', '--no-rebase', 'origin', 'main');
        clone.push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'large',
            ),
            'resources/payments/broken.yaml': cacheManifest('broken', 'small'),
          },
          'fix broken',
        );
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

    it('indexes what a push changes: a file renamed keeps its object, a second file for one object is refused, a file removed deletes it', async () => {
      const cp = await startControlPlane(databases, databaseId);
      const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
      const sync = () =>
        request(cp.server)
          .post('/api/control-plane/gitops/sync')
          .set('authorization', authAs(users.ana))
          .expect(200)
          .then(res => res.body);
      const sessionsNow = () =>
        request(cp.server)
          .get('/api/control-plane/resources/payments/sessions')
          .set('authorization', authAs(users.ana));
      try {
        const clone = handClone(cp.repoPath, work);
        const { dir } = clone;
        clone.push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'medium',
            ),
          },
          'add the sessions cache',
        );
        await sync();
        expect((await sessionsNow()).body.status.generation).toBe(1);

        // renamed, changed: the same object, one generation on
        git(
          dir,
          'mv',
          'resources/payments/sessions.yaml',
          'resources/payments/sessions.yml',
        );
        const renamed = clone.push(
          {
            'resources/payments/sessions.yml': cacheManifest(
              'sessions',
              'large',
            ),
          },
          'rename the sessions cache',
        );
        expect(await sync()).toMatchObject({
          status: { inSync: true, indexedCommit: renamed },
        });
        expect((await sessionsNow()).body).toMatchObject({
          spec: { params: { size: 'large' } },
          status: { generation: 2, commit: renamed },
        });

        // the other spelling beside it: refused whole, the object as it was
        const twice = clone.push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'small',
            ),
          },
          'declare the sessions cache twice',
        );
        expect(await sync()).toMatchObject({
          status: {
            inSync: false,
            indexedCommit: renamed,
            rejected: [
              {
                commit: twice,
                errors: [
                  'resources/payments/sessions.yaml: declares the same object as resources/payments/sessions.yml',
                ],
              },
            ],
          },
        });
        expect((await sessionsNow()).body.spec.params.size).toBe('large');

        // both removed: the object is deleted
        git(dir, 'rm', '--quiet', 'resources/payments/sessions.yaml');
        git(dir, 'rm', '--quiet', 'resources/payments/sessions.yml');
        const removed = clone.push({}, 'remove the sessions cache');
        expect(await sync()).toMatchObject({
          status: { inSync: true, indexedCommit: removed },
        });
        expect((await sessionsNow()).body.status.state).toBe('DELETING');
      } finally {
        rmSync(work, { recursive: true, force: true });
        await cp.cleanup();
      }
    });

    it('after a crash between the commit and the index update, a restart indexes the commit once', async () => {
      const { knex, dataDir, config, logger } = await bare();
      try {
        const first = await createControlPlane({ db: knex, config, logger });
        const key = 'create-sessions-1';
        await first.idempotency.begin(users.bruno, key, 'fingerprint');
        const state = await first.indexer.current();
        // What ChangeService does, up to the moment the process dies: the commit lands in Git,
        // the index never hears of it.
        const crashed = await first.repo.commit({
          parent: state.commit,
          changes: [
            {
              path: 'resources/payments/sessions.yaml',
              content: serializeManifest(sessions as any),
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
        const retried = await second.resourceService.create(sessions as any, {
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

    it('indexes a hand-pushed commit with over-long trailers, as data only, and keeps accepting changes', async () => {
      const cp = await startControlPlane(databases, databaseId);
      const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
      try {
        const pushed = handClone(cp.repoPath, work).push(
          {
            'resources/payments/sessions.yaml': cacheManifest(
              'sessions',
              'medium',
            ),
          },
          'add the sessions cache',
          [
            `Action: ${'a'.repeat(100)}`,
            `Target: ${'t'.repeat(300)}`,
            `Request-Id: ${'r'.repeat(100)}`,
            `Idempotency-Key: ${'k'.repeat(300)}`,
            `Source-Ip: ${'9'.repeat(100)}`,
          ].join('\n'),
        );

        const api = () => request(cp.server);
        const sync = await api()
          .post('/api/control-plane/gitops/sync')
          .set('authorization', authAs(users.ana));
        expect(sync.status).toBe(200);
        expect(sync.body.result).toMatchObject({ status: 'indexed' });
        const [event] = (
          await api()
            .get(`/api/control-plane/audit?limit=5`)
            .set('authorization', authAs(users.ana))
        ).body.items.filter((e: any) => e.commit === pushed);
        // Its trailers are what the pusher wrote: data in the reason, never the event's
        // action, target, request id or address.
        expect(event).toMatchObject({
          actor: 'git:Carla Ops <carla@example.com>',
          action: 'state-repo.push',
          target: 'state-repo',
          source: {},
          verified: false,
          reason: expect.stringContaining(`Action: ${'a'.repeat(100)}`),
        });
        expect(event.requestId).toBeUndefined();

        // Every later change still indexes.
        await api()
          .post('/api/control-plane/resources')
          .set('authorization', authAs(users.bruno))
          .send({
            name: 'db',
            product: 'mysql',
            owner: 'group:default/payments',
            tier: 'low',
            cell: 'cell-us',
          })
          .expect(201);
        expect(
          (
            await api()
              .get('/api/control-plane/gitops/status')
              .set('authorization', authAs(users.ana))
          ).body.inSync,
        ).toBe(true);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await cp.cleanup();
      }
    });

    it('records where a change came from even when another replica indexes its commit first', async () => {
      const { knex, dataDir, config, logger } = await bare();
      try {
        // Two replicas on one database and one state repository.
        const a = await createControlPlane({ db: knex, config, logger });
        const b = await createControlPlane({ db: knex, config, logger });
        // Replica b takes the commit in the moment it lands, before a can index it.
        const publish = a.repo.publish.bind(a.repo);
        a.repo.publish = async (expected, sha) => {
          const moved = await publish(expected, sha);
          await b.indexer.sync();
          return moved;
        };
        await a.resourceService.create(sessions as any, {
          actor: users.bruno,
          requestId: 'req-1',
          source: { ip: '203.0.113.7', userAgent: 'idp-cli/1.2.3' },
        });
        const [event] = await knex('audit_events').where({
          action: 'resource.create',
        });
        expect(event).toMatchObject({
          actor: users.bruno,
          source_ip: '203.0.113.7',
          user_agent: 'idp-cli/1.2.3',
          request_id: 'req-1',
          commit_sha: await a.repo.head(),
        });
        expect(event.after_digest).toMatch(/^[0-9a-f]{64}$/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('takes changes that arrive together as one batch: each its own commit, author and audit event, a refused one answered alone', async () => {
      const cp = await startControlPlane(databases, databaseId);
      try {
        const before = git(cp.repoPath, 'rev-parse', 'main');
        const create = (user: string, name: string, extra: object = {}) =>
          request(cp.server)
            .post('/api/control-plane/resources')
            .set('authorization', authAs(user))
            .send({
              name,
              namespace: 'payments',
              product: 'redis',
              owner: 'group:default/payments',
              tier: 'low',
              cell: 'cell-eu',
              ...extra,
            });
        const answers = await Promise.all([
          create(users.ana, 'cache-1'),
          create(users.bruno, 'cache-2'),
          create(users.ana, 'cache-1'), // taken by the first
          create(users.bruno, 'cache-3', {
            dependsOn: ['resource:payments/nowhere'],
          }),
          create(users.ana, 'cache-4'),
        ]);
        // the same name twice: whichever came first is created, the other is a conflict
        expect([answers[0].status, answers[2].status].sort()).toEqual([
          201, 409,
        ]);
        expect([answers[1], answers[3], answers[4]].map(a => a.status)).toEqual(
          [201, 400, 201],
        );
        // one commit per accepted change, each by its caller
        const created = {
          'cache-1': users.ana,
          'cache-2': users.bruno,
          'cache-4': users.ana,
        };
        const commits = git(cp.repoPath, 'rev-list', `${before}..main`).split(
          '\n',
        );
        expect(commits).toHaveLength(3);
        for (const [name, actor] of Object.entries(created)) {
          // each resource is the change of its own commit, and that commit has its event
          const got = await request(cp.server)
            .get(`/api/control-plane/resources/payments/${name}`)
            .set('authorization', authAs(users.ana));
          const commit = got.body.status.commit;
          expect(commits).toContain(commit);
          expect(git(cp.repoPath, 'log', '-1', '--format=%an|%s', commit)).toBe(
            `${actor}|create resource:payments/${name} (redis, tier low, cell-eu)`,
          );
          expect(
            await cp.knex('audit_events').where({ commit_sha: commit }),
          ).toEqual([
            expect.objectContaining({ actor, action: 'resource.create' }),
          ]);
        }
      } finally {
        await cp.cleanup();
      }
    });

    it('moves the branch once for the requests that arrive together', async () => {
      const { knex, dataDir, config, logger } = await bare();
      try {
        const cp = await createControlPlane({ db: knex, config, logger });
        await cp.indexer.sync();
        const before = await cp.repo.head();
        let publishes = 0;
        const publish = cp.repo.publish.bind(cp.repo);
        cp.repo.publish = async (expected, sha) => {
          publishes += 1;
          return publish(expected, sha);
        };
        const names = ['c1', 'c2', 'c3', 'c4', 'c5'];
        await Promise.all(
          names.map((name, i) =>
            cp.resourceService.create(
              { ...sessions, metadata: { ...sessions.metadata, name } } as any,
              { actor: users.bruno, requestId: `req-${i}` },
            ),
          ),
        );
        // taken as one batch (the queue waits one turn of the event loop before it drains);
        // still a commit each
        expect(publishes).toBe(1);
        expect(
          git(cp.repo.path, 'rev-list', '--count', `${before}..main`),
        ).toBe('5');
        expect(
          (await knex('resources').where({ namespace: 'payments' }))
            .map(r => r.name)
            .sort(),
        ).toEqual(names);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('refuses before committing a manifest the index would refuse to read back, and goes on accepting changes', async () => {
      const { knex, dataDir, config, logger } = await bare();
      try {
        const cp = await createControlPlane({ db: knex, config, logger });
        await cp.indexer.sync();
        const before = await cp.repo.head();
        const bad = {
          ...sessions,
          metadata: { ...sessions.metadata, labels: { 'a b': 'x' } },
        };
        await expect(
          cp.resourceService.create(bad as any, {
            actor: users.bruno,
            requestId: 'req-bad',
          }),
        ).rejects.toMatchObject({
          name: 'InputError',
          message: expect.stringContaining('labels'),
        });
        expect(await cp.repo.head()).toBe(before);
        // the index was not held up: the next change goes through
        await cp.resourceService.create(sessions as any, {
          actor: users.bruno,
          requestId: 'req-good',
        });
        expect(
          git(cp.repo.path, 'rev-list', '--count', `${before}..main`),
        ).toBe('1');
        expect((await cp.indexer.sync()).status).not.toBe('rejected');
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('offers a product declared as YAML in the state repository, validated by its JSON Schema', async () => {
      const cp = await startControlPlane(databases, databaseId);
      const work = mkdtempSync(join(tmpdir(), 'idp-work-'));
      try {
        handClone(cp.repoPath, work).push(
          {
            'products/memcached.yaml': `apiVersion: idp.multicloud/v1
kind: Product
metadata: { name: memcached }
spec:
  title: Memcached
  description: A memcached pool
  category: cache
  tiers: [critical, medium, low]
  operations: [scale]
  parameters:
    type: object
    properties:
      nodes: { type: integer, minimum: 1, maximum: 20, default: 2 }
    additionalProperties: false
  replicasParameter: nodes
`,
          },
          'offer memcached',
        );
        const api = () => request(cp.server);
        const create = (extra: object) =>
          api()
            .post('/api/control-plane/resources')
            .set('authorization', authAs(users.bruno))
            .send({
              name: 'pool',
              product: 'memcached',
              owner: 'group:default/payments',
              tier: 'low',
              cell: 'cell-eu',
              ...extra,
            });
        // Asked for before anything indexed the push: the request catches up with the head.
        const ok = await create({});
        expect(ok.status).toBe(201);
        expect(ok.body.spec.params).toEqual({});

        const product = await api()
          .get('/api/control-plane/products/memcached')
          .set('authorization', authAs(users.bruno));
        expect(product.body).toMatchObject({
          id: 'memcached',
          source: 'state-repo',
          title: 'Memcached',
        });
        const bad = await create({ name: 'pool-2', params: { nodes: 50 } });
        expect(bad.status).toBe(400);
        expect(bad.body.error.issues.map((i: any) => i.path)).toEqual([
          'params.nodes',
        ]);
        // Medium requires backups, which this product neither provides nor waives.
        const medium = await create({ name: 'pool-3', tier: 'medium' });
        expect(medium.status).toBe(400);
        expect(medium.body.error.issues).toEqual([
          {
            path: 'tier',
            message: expect.stringContaining(
              'tier medium requires backups, which product memcached does not provide',
            ),
          },
        ]);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await cp.cleanup();
      }
    });

    it('offers a product registered by a backend module', async () => {
      const productsModule = createBackendModule({
        pluginId: 'control-plane',
        moduleId: 'test-products',
        register(env) {
          env.registerInit({
            deps: { products: controlPlaneProductsExtensionPoint },
            async init({ products }) {
              products.addProduct('search-index', {
                ...builtinProducts.redis,
                title: 'Search index',
                description: 'An OpenSearch index',
                category: 'storage',
                tiers: ['high', 'low'],
                operations: ['scale'],
                parameters: {
                  type: 'object',
                  properties: {
                    shards: { type: 'integer', minimum: 1, maximum: 8 },
                  },
                  required: ['shards'],
                  additionalProperties: false,
                },
                features: {},
                waivedFeatures: {
                  backups: 'rebuilt from the source of truth',
                  encryption: 'holds public data only',
                },
              });
            },
          });
        },
      });
      const cp = await startControlPlane(databases, databaseId, {
        features: [productsModule],
      });
      try {
        const api = () => request(cp.server);
        const listed = await api()
          .get('/api/control-plane/products')
          .set('authorization', authAs(users.bruno));
        expect(listed.body.items).toContainEqual(
          expect.objectContaining({ id: 'search-index', source: 'module' }),
        );
        const create = (params: object) =>
          api()
            .post('/api/control-plane/resources')
            .set('authorization', authAs(users.bruno))
            .send({
              name: 'catalog-index',
              product: 'search-index',
              owner: 'group:default/payments',
              tier: 'high',
              cell: 'cell-us',
              params,
            });
        const bad = await create({});
        expect(bad.status).toBe(400);
        expect(bad.body.error.issues.map((i: any) => i.path)).toEqual([
          'params.shards',
        ]);
        const ok = await create({ shards: 3 });
        expect(ok.status).toBe(201);
        expect(ok.body.spec).toMatchObject({
          product: 'search-index',
          params: { shards: 3 },
        });
      } finally {
        await cp.cleanup();
      }
    });
  },
);
