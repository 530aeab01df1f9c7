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
      argo.resolveRevision = () => git(cp.deployRepo, 'rev-parse', 'main');
    });
    afterEach(async () => {
      await cp?.cleanup();
      await argo.stop();
    });

    /**
     * A storefront created, rendered by its create saga, with its cluster's Application made
     * from the set: the saga waits for Argo CD's verdict, so it is still PROVISIONING.
     */
    async function renderedStorefront() {
      expect((await cp.api.post('/resources', storefront())).status).toBe(201);
      const { cluster, file } = await cp.placedAndRendered();
      const [set] = cp.rendered('bootstrap/argocd/applicationset.yaml');
      // what Argo CD's ApplicationSet controller makes of the set for the cluster folder
      const app = argo.generate(set, cluster);
      const objects = cp.rendered(file);
      return { cluster, app, objects };
    }

    /** A READY storefront: rendered, and reported synced and healthy by Argo CD. */
    async function deliveredStorefront() {
      const rendered = await renderedStorefront();
      argo.report(rendered.app.metadata.name, rendered.objects, {
        sync: 'Synced',
        health: 'Healthy',
      });
      await until(async () => (await cp.state()) === 'READY', 'READY');
      return { ...rendered, commits: cp.commits() };
    }

    /** The storefront's create operation, with its steps. */
    const createOperation = async () => {
      const [summary] = (
        await cp.api.get('/resources/shop/storefront/operations')
      ).body.items;
      return (await cp.api.get(`/operations/${summary.id}`)).body;
    };

    it('renders a new webapp with the ApplicationSet, and keeps it from READY until Argo CD reports it synced and healthy', async () => {
      const { api } = cp;
      const { cluster, app, objects } = await renderedStorefront();

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
      expect(cp.files()).toEqual([
        'bootstrap/argocd/applicationset.yaml',
        `clusters/${cluster}/shop/storefront.yaml`,
      ]);
      expect(objects.map((o: any) => o.kind)).toEqual([
        'Deployment',
        'Service',
        'NetworkPolicy',
        'DNSEndpoint',
        'HTTPRoute',
      ]);
      expect(app.metadata.name).toBe(`idp-${cluster}`);
      expect(app.spec.source.path).toBe(`clusters/${cluster}`);

      // Argo CD has not applied the new objects yet: OutOfSync, and the create saga waits
      argo.report(app.metadata.name, objects, {
        sync: 'OutOfSync',
        health: 'Missing',
      });
      const waiting = await cp.shownVerdict({ sync: 'OutOfSync' });
      expect(waiting.status.state).toBe('PROVISIONING');
      expect(waiting.status.delivery).toMatchObject({
        tool: 'argocd',
        application: `idp-${cluster}`,
        sync: 'OutOfSync',
        health: 'Missing',
        inSync: false,
      });
      const operation = await createOperation();
      expect(operation.state).toBe('running');
      expect(operation.steps.map((st: any) => st.name)).toEqual([
        'validate',
        'schedule',
        'apply_claim',
        'wait_ready',
        'configure_networking',
        'register_dns',
        'wait_delivered',
      ]);

      // synced and healthy: the wait ends, and the resource is READY
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Healthy',
      });
      await until(async () => (await cp.state()) === 'READY', 'READY');
      const done = await createOperation();
      expect(done.state).toBe('succeeded');
      expect(
        done.steps.map((st: any) => [st.name, st.state]).slice(-2),
      ).toEqual([
        ['wait_delivered', 'succeeded'],
        ['notify', 'succeeded'],
      ]);
      expect(
        (
          await api.get('/resources/shop/storefront/history')
        ).body.transitions.map((t: any) => t.to),
      ).toEqual(['PENDING', 'PROVISIONING', 'READY']);

      // later out of sync (someone changed an object by hand): the drift pass finds it
      const commits = cp.commits();
      argo.report(app.metadata.name, objects, {
        sync: 'OutOfSync',
        health: 'Healthy',
      });
      await cp.reconcile();
      expect(await cp.state()).toBe('DEGRADED');
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

      // synced and healthy again: READY again
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

    it('a resource Argo CD never applies fails after the delivery timeout, naming its verdict, and is undone', async () => {
      await cp.cleanup();
      cp = await startWithDelivery(
        databases,
        databaseId,
        { argocd: { baseUrl: argo.url, token: TOKEN } },
        {
          controlPlane: {
            orchestration: {
              pollInterval: { milliseconds: 20 },
              readyPollInterval: { milliseconds: 10 },
              delivery: {
                pollInterval: { milliseconds: 50 },
                timeout: { seconds: 1 },
              },
            },
          },
        },
      );
      const { cluster, app, objects } = await renderedStorefront();
      argo.report(app.metadata.name, objects, {
        sync: 'OutOfSync',
        health: 'Missing',
        message: 'one or more objects failed to apply',
      });
      await until(async () => (await cp.state()) === 'FAILED', 'FAILED');
      const op = await createOperation();
      expect(op.state).toBe('compensated');
      expect(op.error).toMatch(
        new RegExp(
          `^wait_delivered: not delivered within 1 second: argocd reports idp-${cluster} OutOfSync, Missing`,
        ),
      );
      // what the saga did is undone: the claim is gone, and so is its rendered file
      expect((await cp.api.get('/simulator/state')).body.claims).toEqual([]);
      await cp.reconcile();
      expect(cp.files()).toEqual(['bootstrap/argocd/applicationset.yaml']);
    });

    it('an unhealthy object keeps the resource from READY even when synced', async () => {
      const { app, objects } = await deliveredStorefront();
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

    it('a change of the resource is a new render commit, realised once Argo CD applied that commit; its deletion removes its file', async () => {
      const { cluster, app, objects, commits } = await deliveredStorefront();
      const before = git(cp.deployRepo, 'rev-parse', 'main');
      await cp.api
        .patch('/resources/shop/storefront', { params: { replicas: 3 } })
        .expect(200);
      // the update saga renders it, then waits: Argo CD still reports every object synced,
      // but at the revision before the render
      await until(async () => cp.commits() === commits + 1, 'the new render');
      const waiting = await cp.shownVerdict({ sync: 'OutOfSync' });
      expect(waiting.status.observedGeneration).toBe(1);
      expect(waiting.status.delivery).toMatchObject({
        sync: 'OutOfSync',
        inSync: false,
        message: `argocd applied revision ${before.slice(
          0,
          12,
        )}, not the latest render of these objects`,
      });
      // Argo CD fetched and applied the new commit: the update is realised
      argo.report(app.metadata.name, objects, {
        sync: 'Synced',
        health: 'Healthy',
      });
      await until(
        async () =>
          (
            await cp.api.get('/resources/shop/storefront')
          ).body.status.observedGeneration === 2,
        'generation 2',
      );
      // the update saga rendered it: the pass adds nothing
      await cp.reconcile();
      expect(cp.commits()).toBe(commits + 1);
      const [deployment] = cp.rendered(
        `clusters/${cluster}/shop/storefront.yaml`,
      );
      expect(deployment.spec.replicas).toBe(3);

      await cp.api
        .delete('/resources/shop/storefront')
        .expect(res => expect(res.status).toBeLessThan(300));
      await cp.reconcile();
      expect(cp.files()).toEqual(['bootstrap/argocd/applicationset.yaml']);
    });
  },
);
