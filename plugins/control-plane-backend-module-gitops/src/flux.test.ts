import { TestDatabases } from '@backstage/backend-test-utils';
// The Kubernetes module's fake API server, serving Flux's Kustomization kind.
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { FakeKubernetes } from '../../control-plane-backend-module-kubernetes/src/__testUtils__/fakeKubernetes';
import {
  git,
  startWithDelivery,
  storefront,
  until,
} from './__testUtils__/controlPlane';

jest.setTimeout(90_000);

const databases = TestDatabases.create();
const KUSTOMIZATION = [
  'kustomize.toolkit.fluxcd.io/v1',
  'Kustomization',
] as const;

describe.each(databases.eachSupportedId())(
  'delivery through Flux on %s',
  databaseId => {
    let kube: FakeKubernetes;
    let cp: Awaited<ReturnType<typeof startWithDelivery>>;
    beforeEach(async () => {
      kube = await FakeKubernetes.start({
        token: 'flux-reader',
        kinds: [
          {
            apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
            kind: 'Kustomization',
            plural: 'kustomizations',
          },
        ],
      });
      cp = await startWithDelivery(databases, databaseId, {
        flux: {
          apiServer: {
            url: kube.url,
            token: 'flux-reader',
            skipTLSVerify: true,
          },
        },
      });
    });
    afterEach(async () => {
      await cp?.cleanup();
      await kube.stop();
    });

    it("keeps a resource from READY while its cluster's Kustomization is Ready=False, and lets it go once Ready", async () => {
      const { api } = cp;
      expect((await api.post('/resources', storefront())).status).toBe(201);
      // the create saga renders, then waits for Flux's verdict
      const { cluster } = await cp.placedAndRendered();

      // what `kubectl apply -f bootstrap/flux/<cluster>.yaml` puts on the Flux cluster
      const [source, kustomization] = cp.rendered(
        `bootstrap/flux/${cluster}.yaml`,
      );
      expect(source.kind).toBe('GitRepository');
      kube.put(kustomization);
      const name = kustomization.metadata.name;
      const objects = cp.rendered(`clusters/${cluster}/shop/storefront.yaml`);
      const inventory = {
        entries: objects.map((o: any) => ({
          id: `${o.metadata.namespace}_${o.metadata.name}_${
            o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''
          }_${o.kind}`,
          v: o.apiVersion.split('/').pop(),
        })),
      };

      // kustomize-controller: the health check of what it applied failed
      kube.setStatus(...KUSTOMIZATION, 'flux-system', name, {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'HealthCheckFailed',
            message:
              'health check failed after 30s: timeout waiting for: [Deployment/shop/storefront status: InProgress]',
            lastTransitionTime: new Date().toISOString(),
          },
        ],
        inventory,
        lastAppliedRevision:
          'main@sha1:0123456789abcdef0123456789abcdef01234567',
      });
      const waiting = await cp.shownVerdict({ health: 'Degraded' });
      expect(waiting.status.state).toBe('PROVISIONING');
      expect(waiting.status.delivery).toMatchObject({
        tool: 'flux',
        application: `flux-system/${name}`,
        sync: 'OutOfSync',
        health: 'Degraded',
        inSync: false,
        message: expect.stringContaining('HealthCheckFailed'),
      });

      // Ready, but from a revision without the resource's objects: still not READY
      kube.setStatus(...KUSTOMIZATION, 'flux-system', name, {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded' },
        ],
        inventory: { entries: [] },
      });
      expect(
        (await cp.shownVerdict({ health: 'Progressing' })).status.state,
      ).toBe('PROVISIONING');

      // Ready with the objects, but at a revision that is not in the deploy repository
      const applied = (revision: string) => ({
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'ReconciliationSucceeded',
            message: `Applied revision: main@sha1:${revision}`,
          },
        ],
        inventory,
        lastAppliedRevision: `main@sha1:${revision}`,
      });
      kube.setStatus(
        ...KUSTOMIZATION,
        'flux-system',
        name,
        applied('0123456789abcdef0123456789abcdef01234567'),
      );
      const stale = await cp.shownVerdict({ health: 'Healthy' });
      expect(stale.status.state).toBe('PROVISIONING');
      expect(stale.status.delivery.message).toBe(
        'flux applied revision 0123456789ab, not the latest render of these objects',
      );

      // at the render's commit: READY
      kube.setStatus(
        ...KUSTOMIZATION,
        'flux-system',
        name,
        applied(git(cp.deployRepo, 'rev-parse', 'main')),
      );
      await until(async () => (await cp.state()) === 'READY', 'READY');

      // later the health check fails: the drift pass moves it to DEGRADED, and back
      const ready = kube.get(...KUSTOMIZATION, 'flux-system', name)!.status;
      kube.setStatus(...KUSTOMIZATION, 'flux-system', name, {
        ...ready,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'HealthCheckFailed',
            message: 'health check failed after 30s',
          },
        ],
      });
      await cp.reconcile();
      expect(await cp.state()).toBe('DEGRADED');
      kube.setStatus(...KUSTOMIZATION, 'flux-system', name, ready);
      await cp.reconcile();
      expect(await cp.state()).toBe('READY');
      expect(
        kube.requests.every(r => r.authorization === 'Bearer flux-reader'),
      ).toBe(true);
    });
  },
);
