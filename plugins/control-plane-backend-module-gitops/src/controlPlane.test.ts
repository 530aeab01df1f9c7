import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import { controlPlaneModuleSimulator } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { FakeArgoCd } from './__testUtils__/fakeArgoCd';
import { controlPlaneModuleGitOps } from './module';

jest.setTimeout(90_000);

const databases = TestDatabases.create();
const TOKEN = 'argocd-api-token';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  })
    .toString()
    .trim();

const docs = (text: string) => parseAllDocuments(text).map(d => d.toJS());

async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

/**
 * The control plane with the simulator as its driver and the GitOps module rendering for a
 * fake Argo CD: a placed webapp is rendered into the deploy repository with the
 * ApplicationSet, and what Argo CD reports of its objects decides whether it is READY.
 */
describe.each(databases.eachSupportedId())(
  'delivery through Argo CD on %s',
  databaseId => {
    let argo: FakeArgoCd;
    let dataDir: string;
    let backend: Awaited<ReturnType<typeof startTestBackend>>;
    let deployRepo: string;

    beforeEach(async () => {
      argo = await FakeArgoCd.start({ token: TOKEN });
      dataDir = mkdtempSync(join(tmpdir(), 'idp-gitops-cp-'));
      deployRepo = join(dataDir, 'deploy.git');
      backend = await startTestBackend({
        features: [
          controlPlanePlugin,
          controlPlaneModuleSimulator,
          controlPlaneModuleGitOps,
          mockServices.database.factory({
            knex: await databases.init(databaseId),
          }),
          mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
          mockServices.rootConfig.factory({
            data: {
              controlPlane: {
                dataDir,
                stateRepo: { pollInterval: { hours: 1 } },
                orchestration: {
                  pollInterval: { milliseconds: 20 },
                  readyPollInterval: { milliseconds: 10 },
                },
                reconciler: {
                  interval: { hours: 1 },
                  driftInterval: { hours: 1 },
                },
                simulator: {
                  provisioningTime: { milliseconds: 30 },
                  deprovisioningTime: { milliseconds: 10 },
                  latency: { default: 0 },
                },
                delivery: {
                  repository: {
                    path: deployRepo,
                    url: 'https://git.example.com/platform/deploy.git',
                  },
                  parentRefs: [{ name: 'edge', namespace: 'gateway-system' }],
                  argocd: { baseUrl: argo.url, token: TOKEN },
                },
              },
            },
          }),
        ],
      });
    });

    afterEach(async () => {
      await backend?.stop();
      await argo.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const as = mockCredentials.user.header('user:default/ana');
    const api = {
      get: (path: string) =>
        request(backend.server)
          .get(`/api/control-plane${path}`)
          .set('authorization', as),
      post: (path: string, body?: object) =>
        request(backend.server)
          .post(`/api/control-plane${path}`)
          .set('authorization', as)
          .send(body),
    };
    /** A reconciler pass with a drift check: where the render and the verdicts happen. */
    const reconcile = async () =>
      (await api.post('/reconciler/run', { drift: true })).body;
    const state = async () =>
      (await api.get('/resources/shop/storefront')).body.status.state;

    it('renders a placed webapp with the ApplicationSet, and keeps it from READY while Argo CD reports it OutOfSync', async () => {
      const created = await api.post('/resources', {
        name: 'storefront',
        namespace: 'shop',
        product: 'webapp',
        owner: 'group:default/shop',
        tier: 'medium',
        cell: 'cell-us',
        params: { image: 'ghcr.io/acme/storefront', version: '1.4.2' },
      });
      expect(created.status).toBe(201);
      await until(async () => (await state()) === 'READY', 'READY');
      const resource = (await api.get('/resources/shop/storefront')).body;
      const cluster = resource.status.placement.cluster;

      // the drift pass renders: one commit naming the state commit it came from (a pass at
      // start-up may have rendered the ApplicationSet alone already)
      const commits = () =>
        Number(git(deployRepo, 'rev-list', '--count', '--all') || '0');
      const before = commits();
      await reconcile();
      expect(commits()).toBe(before + 1);
      const stateHead = (await api.get('/gitops/status')).body;
      const stateCommit: string =
        stateHead.indexedCommit;
      expect(stateCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(
        git(
          deployRepo,
          'log',
          '-1',
          '--format=%(trailers:key=Idp-State-Commit,valueonly)',
          'main',
        ),
      ).toBe(stateCommit);
      expect(
        git(deployRepo, 'ls-tree', '-r', '--name-only', 'main').split('\n'),
      ).toEqual([
        'bootstrap/argocd/applicationset.yaml',
        `clusters/${cluster}/shop/storefront.yaml`,
      ]);
      const objects = docs(
        git(deployRepo, 'show', `main:clusters/${cluster}/shop/storefront.yaml`),
      );
      expect(objects.map(o => o.kind)).toEqual([
        'WebApp',
        'NetworkPolicy',
        'DNSEndpoint',
        'HTTPRoute',
      ]);

      // Argo CD's ApplicationSet controller makes the cluster's Application from the set
      const [set] = docs(
        git(deployRepo, 'show', 'main:bootstrap/argocd/applicationset.yaml'),
      );
      const app = argo.generate(set, cluster);
      expect(app.metadata.name).toBe(`idp-${cluster}`);
      expect(app.spec.source.path).toBe(`clusters/${cluster}`);

      // ... whose controller has not applied the new objects yet: OutOfSync
      argo.report(app.metadata.name, objects, {
        sync: 'OutOfSync',
        health: 'Missing',
      });
      await reconcile();
      expect(await state()).toBe('DEGRADED');
      const degraded = (await api.get('/resources/shop/storefront')).body;
      expect(degraded.status.delivery).toMatchObject({
        tool: 'argocd',
        application: `idp-${cluster}`,
        sync: 'OutOfSync',
        health: 'Missing',
        inSync: false,
      });
      const history = (await api.get('/resources/shop/storefront/history'))
        .body.transitions;
      expect(history[history.length - 1]).toMatchObject({
        from: 'READY',
        to: 'DEGRADED',
        reason: expect.stringContaining(`argocd reports idp-${cluster} OutOfSync`),
      });
      // still out of sync: another pass keeps it from READY
      await reconcile();
      expect(await state()).toBe('DEGRADED');

      // synced and healthy: READY again
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Healthy',
      });
      await reconcile();
      expect(await state()).toBe('READY');
      expect(
        (await api.get('/resources/shop/storefront/status')).body.delivery,
      ).toMatchObject({ sync: 'Synced', health: 'Healthy', inSync: true });

      // every call carried the token
      expect(
        argo.requests.every(r => r.authorization === `Bearer ${TOKEN}`),
      ).toBe(true);
      // nothing changed since: no new render commit
      expect(commits()).toBe(before + 1);
    });

    it('an unhealthy object keeps the resource from READY even when synced', async () => {
      await api.post('/resources', {
        name: 'storefront',
        namespace: 'shop',
        product: 'webapp',
        owner: 'group:default/shop',
        tier: 'medium',
        cell: 'cell-us',
        params: { image: 'ghcr.io/acme/storefront', version: '1.4.2' },
      });
      await until(async () => (await state()) === 'READY', 'READY');
      await reconcile();
      const cluster = (await api.get('/resources/shop/storefront')).body.status
        .placement.cluster;
      const [set] = docs(
        git(deployRepo, 'show', 'main:bootstrap/argocd/applicationset.yaml'),
      );
      const app = argo.generate(set, cluster);
      const objects = docs(
        git(deployRepo, 'show', `main:clusters/${cluster}/shop/storefront.yaml`),
      );
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Degraded',
        message: 'Deployment exceeded its progress deadline',
      });
      await reconcile();
      expect(await state()).toBe('DEGRADED');
      expect(
        (await api.get('/resources/shop/storefront')).body.status.delivery
          .message,
      ).toContain('Deployment exceeded its progress deadline');
    });
  },
);
