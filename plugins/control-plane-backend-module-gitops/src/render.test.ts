import { ConfigReader } from '@backstage/config';
import { resolveClaimMappings } from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
import { DeliveredResource } from '@idp-multicloud/plugin-control-plane-node';
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { parseAllDocuments } from 'yaml';
import { bootstrapFiles } from './bootstrap';
import { deliveryConfigSchema, readDeliveryOptions } from './config';
import { renderClusters } from './render';

const webapp = (overrides: Partial<DeliveredResource['resource']> = {}) => ({
  resource: {
    ref: 'resource:shop/storefront',
    uid: '1d7e0c52-4f55-4a11-9c1e-0c0d6a3b2f10',
    namespace: 'shop',
    name: 'storefront',
    product: 'webapp',
    tier: 'high',
    owner: 'group:default/shop',
    generation: 2,
    params: { image: 'ghcr.io/acme/storefront', version: '1.4.2', port: 8080 },
    labels: {},
    ...overrides,
  },
  target: {
    cell: 'cell-us',
    provider: 'aws',
    cluster: 'aws-us-east-1',
    region: 'us-east-1',
    zones: ['us-east-1a'],
  },
});

const options = deliveryConfigSchema.parse({
  repository: {
    path: '/tmp/unused.git',
    url: 'https://git.example.com/platform/deploy.git',
  },
  parentRefs: [{ name: 'edge', namespace: 'gateway-system' }],
  argocd: { baseUrl: 'https://argocd.example.com', token: 't' },
  flux: {
    apiServer: { url: 'https://flux.example.com:6443', token: 't' },
    kubeConfigSecret: '{{cluster}}-kubeconfig',
  },
});

const docs = (text: string) => parseAllDocuments(text).map(d => d.toJS());

describe('rendering what runs on each cluster', () => {
  const render = () =>
    renderClusters([webapp()], {
      claims: resolveClaimMappings(),
      parentRefs: options.parentRefs,
    });

  it("writes a placed webapp's objects to clusters/<cluster>/<namespace>/<name>.yaml, and they validate", () => {
    const { files } = render();
    expect([...files.keys()]).toEqual([
      'clusters/aws-us-east-1/shop/storefront.yaml',
    ]);
    const objects = docs(
      files.get('clusters/aws-us-east-1/shop/storefront.yaml')!,
    );
    expect(objects.map(o => `${o.apiVersion} ${o.kind}`)).toEqual([
      'apps.idp.multicloud/v1alpha1 WebApp',
      'networking.k8s.io/v1 NetworkPolicy',
      'externaldns.k8s.io/v1alpha1 DNSEndpoint',
      'gateway.networking.k8s.io/v1 HTTPRoute',
    ]);
    // the typed models accept what was written (the YAML, not the objects in memory)
    expect(() => new NetworkPolicy(objects[1]).validate()).not.toThrow();
    expect(() => new HTTPRoute(objects[3]).validate()).not.toThrow();
    // Kubernetes' spelling, not the client's (`_from`)
    expect(objects[1].spec.ingress[0].from).toEqual([{ podSelector: {} }]);
    expect(objects[3].spec).toEqual({
      parentRefs: [{ name: 'edge', namespace: 'gateway-system' }],
      rules: [
        {
          backendRefs: [{ name: 'storefront-stable', port: 8080, weight: 100 }],
        },
      ],
    });
    expect(objects[0]).toMatchObject({
      metadata: { name: 'storefront', namespace: 'shop' },
      spec: {
        parameters: { image: 'ghcr.io/acme/storefront', version: '1.4.2' },
        compositionSelector: {
          matchLabels: { provider: 'aws', region: 'us-east-1' },
        },
      },
    });
  });

  it('renders the same bytes every time for the same generation', () => {
    expect(render().files).toEqual(render().files);
  });

  it('refuses an object Kubernetes would refuse, naming it', () => {
    expect(() =>
      renderClusters([webapp({ name: 'Store_Front' })], {
        claims: resolveClaimMappings(),
      }),
    ).toThrow(/WebApp name 'Store_Front' is not a DNS label/);
  });

  it('leaves out a product without a claim mapping, and says so', () => {
    const { files, skipped } = renderClusters(
      [webapp({ product: 'ledger', ref: 'resource:shop/ledger' })],
      { claims: resolveClaimMappings() },
    );
    expect(files.size).toBe(0);
    expect(skipped).toEqual(['resource:shop/ledger']);
  });
});

describe('what Argo CD and Flux need', () => {
  const files = bootstrapFiles(options, ['gcp-us-central1', 'aws-us-east-1']);

  it('generates an ApplicationSet whose git generator makes one Application per cluster folder', () => {
    const [set] = docs(files.get('bootstrap/argocd/applicationset.yaml')!);
    expect(() => new ApplicationSet(set).validate()).not.toThrow();
    expect(set.spec.generators).toEqual([
      {
        git: {
          repoURL: 'https://git.example.com/platform/deploy.git',
          revision: 'main',
          directories: [{ path: 'clusters/*' }],
        },
      },
    ]);
    expect(set.spec.template.spec).toMatchObject({
      source: { path: '{{.path.path}}', directory: { recurse: true } },
      destination: { name: '{{.path.basename}}' },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    });
    // a rollout may turn auto-sync off: the set does not put it back
    expect(set.spec.ignoreApplicationDifferences).toEqual([
      { jsonPointers: ['/spec/syncPolicy'] },
    ]);
  });

  it('generates a GitRepository and a Kustomization per cluster', () => {
    expect([...files.keys()].sort()).toEqual([
      'bootstrap/argocd/applicationset.yaml',
      'bootstrap/flux/aws-us-east-1.yaml',
      'bootstrap/flux/gcp-us-central1.yaml',
    ]);
    const [source, kustomization] = docs(
      files.get('bootstrap/flux/aws-us-east-1.yaml')!,
    );
    expect(() => new GitRepository(source).validate()).not.toThrow();
    expect(() => new Kustomization(kustomization).validate()).not.toThrow();
    expect(source.spec).toEqual({
      interval: '1m',
      url: 'https://git.example.com/platform/deploy.git',
      ref: { branch: 'main' },
    });
    expect(kustomization).toMatchObject({
      metadata: { name: 'idp-aws-us-east-1', namespace: 'flux-system' },
      spec: {
        path: './clusters/aws-us-east-1',
        prune: true,
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'idp-aws-us-east-1' },
        kubeConfig: { secretRef: { name: 'aws-us-east-1-kubeconfig' } },
      },
    });
  });
});

describe('controlPlane.delivery', () => {
  it.each([
    [{ repository: { path: '/r' } }, 'controlPlane.delivery.repository.url'],
    [
      {
        repository: { path: '/r', url: 'u' },
        argocd: { baseUrl: 'ftp://argo', token: 't' },
      },
      'controlPlane.delivery.argocd.baseUrl: must be an http: or https: URL',
    ],
    [
      {
        repository: { path: '/r', url: 'u' },
        flux: {
          apiServer: { url: 'https://k', token: 't' },
          interval: 'often',
        },
      },
      'controlPlane.delivery.flux.interval: must be a Go duration',
    ],
    [{ repository: { path: '/r', url: 'u' }, argo: {} }, 'argo'],
  ])('refuses %j naming the fault', (value, message) => {
    expect(() =>
      readDeliveryOptions(
        new ConfigReader({ controlPlane: { delivery: value } }),
      ),
    ).toThrow(message);
  });
});
