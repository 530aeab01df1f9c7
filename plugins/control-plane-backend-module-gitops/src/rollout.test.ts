import { TestDatabases } from '@backstage/backend-test-utils';
import { controlPlaneModuleSimulatorWorkloads } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { FakeArgoCd } from './__testUtils__/fakeArgoCd';
import {
  git,
  startWithDelivery,
  storefront,
  until,
} from './__testUtils__/controlPlane';
import { HOLD_ANNOTATION } from './bootstrap';

jest.setTimeout(120_000);

const databases = TestDatabases.create();
const TOKEN = 'argocd-api-token';

describe.each(databases.eachSupportedId())(
  'a rollout and Argo CD auto-sync on %s',
  databaseId => {
    let argo: FakeArgoCd;
    let cp: Awaited<ReturnType<typeof startWithDelivery>>;
    beforeEach(async () => {
      argo = await FakeArgoCd.start({ token: TOKEN });
      cp = await startWithDelivery(
        databases,
        databaseId,
        { argocd: { baseUrl: argo.url, token: TOKEN } },
        {
          features: [controlPlaneModuleSimulatorWorkloads],
          controlPlane: { deployments: { pollInterval: { milliseconds: 50 } } },
        },
      );
      argo.resolveRevision = () => git(cp.deployRepo, 'rev-parse', 'main');
    });
    afterEach(async () => {
      await cp?.cleanup();
      await argo.stop();
    });

    it("holds the cluster Application's auto-sync while a rollout is in progress, and restores it when it ends", async () => {
      const { api } = cp;
      await api
        .post(
          '/resources',
          storefront({
            rollout: {
              strategy: 'canary',
              steps: [{ setWeight: 10 }, { pause: {} }, { promote: {} }],
            },
          }),
        )
        .expect(201);
      // created: rendered, and READY once Argo CD reports it applied
      const { cluster, file } = await cp.placedAndRendered();
      const [set] = cp.rendered('bootstrap/argocd/applicationset.yaml');
      const name = argo.generate(set, cluster).metadata.name;
      argo.report(name, cp.rendered(file), {
        sync: 'Synced',
        health: 'Healthy',
      });
      await until(async () => (await cp.state()) === 'READY', 'READY');
      expect(argo.application(name)!.spec.syncPolicy.automated).toEqual({
        prune: true,
        selfHeal: true,
      });

      await api
        .patch('/resources/shop/storefront', { params: { version: '1.5.0' } })
        .expect(200);
      const deployments = async () =>
        (await api.get('/resources/shop/storefront/deployments')).body
          .items as any[];
      const paused = await until(
        async () => (await deployments()).find(d => d.phase === 'Paused'),
        'the rollout paused at 10 %',
      );

      // in progress: auto-sync off (Argo CD would put the stable routing back), and why
      const held = argo.application(name)!;
      expect(held.spec.syncPolicy.automated).toBeUndefined();
      expect(held.spec.syncPolicy.syncOptions).toEqual([
        'CreateNamespace=true',
        'ServerSideApply=true',
      ]);
      expect(held.metadata.annotations[HOLD_ANNOTATION]).toBe(paused.id);
      // the ApplicationSet controller's next pass keeps the hold
      argo.generate(set, cluster);
      expect(argo.application(name)!.spec.syncPolicy.automated).toBeUndefined();
      expect(
        (await api.get('/resources/shop/storefront')).body.status.delivery,
      ).toMatchObject({ tool: 'argocd', held: true });

      await api.post(`/deployments/${paused.id}/promote`, {}).expect(202);
      await until(
        async () =>
          (
            await deployments()
          ).find(d => d.id === paused.id && d.phase === 'Succeeded'),
        'the rollout succeeded',
      );
      const released = await until(async () => {
        const app = argo.application(name)!;
        return app.spec.syncPolicy.automated ? app : undefined;
      }, 'auto-sync restored');
      expect(released.spec.syncPolicy.automated).toEqual({
        prune: true,
        selfHeal: true,
      });
      expect(released.metadata.annotations?.[HOLD_ANNOTATION]).toBeUndefined();
      // the hold and its release were merge patches of the Application, through the API
      expect(
        argo.requests
          .filter(r => r.method === 'PATCH')
          .map(r => [r.path, r.body.patchType]),
      ).toEqual([
        [`/api/v1/applications/${name}`, 'merge'],
        [`/api/v1/applications/${name}`, 'merge'],
      ]);
    });
  },
);
