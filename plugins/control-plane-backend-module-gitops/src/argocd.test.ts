import { TestDatabases } from '@backstage/backend-test-utils';
import { FakeArgoCd } from './__testUtils__/fakeArgoCd';
import {
  git,
  startWithDelivery,
  storefront,
  until,
} from './__testUtils__/controlPlane';

jest.setTimeout(90_000);

const databases = TestDatabases.create();
const TOKEN = 'argocd-api-token';

/**
 * The control plane with the simulator as its driver and the GitOps module rendering for a
 * fake Argo CD: a placed webapp is rendered into the deploy repository with the
 * ApplicationSet, and what Argo CD reports of its objects decides whether it is READY.
 */
describe.each(databases.eachSupportedId())(
  'delivery through Argo CD on %s',
  databaseId => {
    let argo: FakeArgoCd;
    let cp: Awaited<ReturnType<typeof startWithDelivery>>;
    beforeEach(async () => {
      argo = await FakeArgoCd.start({ token: TOKEN });
      cp = await startWithDelivery(databases, databaseId, {
        argocd: { baseUrl: argo.url, token: TOKEN },
      });
    });
    afterEach(async () => {
      await cp?.cleanup();
      await argo.stop();
    });

    /** A READY storefront, rendered, with its cluster's Application made from the set. */
    async function renderedStorefront() {
      const { api } = cp;
      expect((await api.post('/resources', storefront())).status).toBe(201);
      await until(async () => (await cp.state()) === 'READY', 'READY');
      const cluster: string = (await api.get('/resources/shop/storefront')).body
        .status.placement.cluster;
      // the drift pass renders: one commit (a pass at start-up may have rendered the
      // ApplicationSet alone already)
      const before = cp.commits();
      await cp.reconcile();
      expect(cp.commits()).toBe(before + 1);
      const [set] = cp.rendered('bootstrap/argocd/applicationset.yaml');
      // what Argo CD's ApplicationSet controller makes of the set for the cluster folder
      const app = argo.generate(set, cluster);
      const objects = cp.rendered(`clusters/${cluster}/shop/storefront.yaml`);
      return { cluster, app, objects, commits: cp.commits() };
    }

    it('renders a placed webapp with the ApplicationSet, and keeps it from READY while Argo CD reports it OutOfSync', async () => {
      const { api } = cp;
      const { cluster, app, objects, commits } = await renderedStorefront();

      // the render names the state commit it came from, and lays out files per cluster
      const stateCommit = (await api.get('/gitops/status')).body.indexedCommit;
      expect(stateCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(
        git(
          cp.deployRepo,
          'log',
          '-1',
          '--format=%(trailers:key=Idp-State-Commit,valueonly)',
          'main',
        ),
      ).toBe(stateCommit);
      expect(
        git(cp.deployRepo, 'ls-tree', '-r', '--name-only', 'main').split('\n'),
      ).toEqual([
        'bootstrap/argocd/applicationset.yaml',
        `clusters/${cluster}/shop/storefront.yaml`,
      ]);
      expect(objects.map((o: any) => o.kind)).toEqual([
        'WebApp',
        'NetworkPolicy',
        'DNSEndpoint',
        'HTTPRoute',
      ]);
      expect(app.metadata.name).toBe(`idp-${cluster}`);
      expect(app.spec.source.path).toBe(`clusters/${cluster}`);

      // Argo CD has not applied the new objects yet: OutOfSync
      argo.report(app.metadata.name, objects, {
        sync: 'OutOfSync',
        health: 'Missing',
      });
      await cp.reconcile();
      expect(await cp.state()).toBe('DEGRADED');
      expect(
        (await api.get('/resources/shop/storefront')).body.status.delivery,
      ).toMatchObject({
        tool: 'argocd',
        application: `idp-${cluster}`,
        sync: 'OutOfSync',
        health: 'Missing',
        inSync: false,
      });
      const history = (await api.get('/resources/shop/storefront/history')).body
        .transitions;
      expect(history[history.length - 1]).toMatchObject({
        from: 'READY',
        to: 'DEGRADED',
        reason: expect.stringContaining(
          `argocd reports idp-${cluster} OutOfSync`,
        ),
      });
      // still out of sync: another pass keeps it from READY
      await cp.reconcile();
      expect(await cp.state()).toBe('DEGRADED');

      // synced and healthy: READY again
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Healthy',
      });
      await cp.reconcile();
      expect(await cp.state()).toBe('READY');
      expect(
        (await api.get('/resources/shop/storefront/status')).body.delivery,
      ).toMatchObject({ sync: 'Synced', health: 'Healthy', inSync: true });

      expect(
        argo.requests.every(r => r.authorization === `Bearer ${TOKEN}`),
      ).toBe(true);
      // nothing changed since: no new render commit
      expect(cp.commits()).toBe(commits);
    });

    it('an unhealthy object keeps the resource from READY even when synced', async () => {
      const { app, objects } = await renderedStorefront();
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Degraded',
        message: 'Deployment exceeded its progress deadline',
      });
      await cp.reconcile();
      expect(await cp.state()).toBe('DEGRADED');
      expect(
        (await cp.api.get('/resources/shop/storefront')).body.status.delivery
          .message,
      ).toContain('Deployment exceeded its progress deadline');
    });

    it('a change of the resource is a new render commit; its deletion removes its file', async () => {
      const { cluster, commits } = await renderedStorefront();
      await cp.api
        .patch('/resources/shop/storefront', { params: { replicas: 3 } })
        .expect(200);
      await until(
        async () =>
          (
            await cp.api.get('/resources/shop/storefront')
          ).body.status.observedGeneration === 2,
        'generation 2',
      );
      await cp.reconcile();
      expect(cp.commits()).toBe(commits + 1);
      const [claim] = cp.rendered(`clusters/${cluster}/shop/storefront.yaml`);
      expect(claim.spec.parameters.replicas).toBe(3);

      await cp.api
        .delete('/resources/shop/storefront')
        .expect(res => expect(res.status).toBeLessThan(300));
      await cp.reconcile();
      expect(
        git(cp.deployRepo, 'ls-tree', '-r', '--name-only', 'main').split('\n'),
      ).toEqual(['bootstrap/argocd/applicationset.yaml']);
    });
  },
);
