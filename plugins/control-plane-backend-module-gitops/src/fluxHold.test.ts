import { mockServices } from '@backstage/backend-test-utils';
import { resolveClaimMappings } from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
// The Kubernetes module's fake API server, serving Flux's Kustomization kind.
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { FakeKubernetes } from '../../control-plane-backend-module-kubernetes/src/__testUtils__/fakeKubernetes';
import { HOLD_ANNOTATION } from './bootstrap';
import { deliveryConfigSchema } from './config';
import { GitOpsDelivery } from './GitOpsDelivery';
import { webapp } from './__testUtils__/fixtures';

const KUSTOMIZATION = [
  'kustomize.toolkit.fluxcd.io/v1',
  'Kustomization',
  'flux-system',
  'idp-aws-us-east-1',
] as const;

const held = (deploymentId: string) => ({ ...webapp(), deploymentId });

describe('holding a Flux Kustomization during rollouts', () => {
  let kube: FakeKubernetes;
  afterEach(() => kube?.stop());

  it('stays suspended while any rollout on its cluster holds it, and resumes when the last one ends', async () => {
    kube = await FakeKubernetes.start({
      token: 'flux-hold',
      kinds: [
        {
          apiVersion: KUSTOMIZATION[0],
          kind: KUSTOMIZATION[1],
          plural: 'kustomizations',
        },
      ],
    });
    // what `kubectl apply -f bootstrap/flux/aws-us-east-1.yaml` made
    kube.put({
      apiVersion: KUSTOMIZATION[0],
      kind: KUSTOMIZATION[1],
      metadata: { name: KUSTOMIZATION[3], namespace: KUSTOMIZATION[2] },
      spec: { interval: '1m', path: './clusters/aws-us-east-1', prune: true },
    });
    const delivery = new GitOpsDelivery(
      deliveryConfigSchema.parse({
        repository: {
          path: '/tmp/unused.git',
          url: 'https://git.example.com/platform/deploy.git',
        },
        flux: {
          apiServer: { url: kube.url, token: 'flux-hold', skipTLSVerify: true },
        },
      }),
      resolveClaimMappings(),
      mockServices.logger.mock(),
    );
    const kustomization = () => kube.get(...KUSTOMIZATION)!;

    await delivery.holdSync(held('d1'));
    await delivery.holdSync(held('d2'));
    expect(kustomization().spec.suspend).toBe(true);
    expect(kustomization().metadata.annotations[HOLD_ANNOTATION]).toBe('d1,d2');

    // the first rollout ends: the second still holds it
    await delivery.releaseSync(held('d1'));
    expect(kustomization().spec.suspend).toBe(true);
    expect(kustomization().metadata.annotations[HOLD_ANNOTATION]).toBe('d2');

    // the last one ends: resumed, and what others set is as it was
    await delivery.releaseSync(held('d2'));
    expect(kustomization().spec).toEqual({
      interval: '1m',
      path: './clusters/aws-us-east-1',
      prune: true,
    });
    expect(
      kustomization().metadata.annotations?.[HOLD_ANNOTATION],
    ).toBeUndefined();
    // a release nobody holds changes nothing
    const applies = kube.requests.filter(r => r.method === 'PATCH').length;
    await delivery.releaseSync(held('d3'));
    expect(kube.requests.filter(r => r.method === 'PATCH')).toHaveLength(
      applies,
    );
  });
});
