import { ConfigReader } from '@backstage/config';
import { resolveClaimMappings } from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { bootstrapFiles } from './bootstrap';
import { deliveryConfigSchema, readDeliveryOptions } from './config';
import { renderClusters } from './render';
import { webapp } from './__testUtils__/fixtures';

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
      'apps/v1 Deployment',
      'v1 Service',
      'networking.k8s.io/v1 NetworkPolicy',
      'externaldns.k8s.io/v1alpha1 DNSEndpoint',
      'gateway.networking.k8s.io/v1 HTTPRoute',
    ]);
    const [deployment, service, policy, , route] = objects;
    // the typed models accept what was written (the YAML, not the objects in memory)
    expect(() => new Deployment(deployment).validate()).not.toThrow();
    expect(() => new Service(service).validate()).not.toThrow();
    expect(() => new NetworkPolicy(policy).validate()).not.toThrow();
    expect(() => new HTTPRoute(route).validate()).not.toThrow();
    // Kubernetes' spelling, not the client's (`_from`)
    expect(policy.spec.ingress[0].from).toEqual([{ podSelector: {} }]);
    // the route sends to the stable Service, which selects the Deployment's pods, which the
    // NetworkPolicy lets traffic in to
    expect(route.spec).toEqual({
      parentRefs: [{ name: 'edge', namespace: 'gateway-system' }],
      rules: [
        {
          backendRefs: [{ name: 'storefront-stable', port: 8080, weight: 100 }],
        },
      ],
    });
    expect(service.metadata.name).toBe('storefront-stable');
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http' },
    ]);
    const pods = deployment.spec.template.metadata.labels;
    expect(pods).toMatchObject(service.spec.selector);
    expect(pods).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(deployment).toMatchObject({
      metadata: { name: 'storefront', namespace: 'shop' },
      spec: { replicas: 2 },
    });
    const [container] = deployment.spec.template.spec.containers;
    expect(container).toMatchObject({
      image: 'ghcr.io/acme/storefront:1.4.2',
      ports: [{ name: 'http', containerPort: 8080 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    });
  });

  it('wires a webapp to its settings, its size, and the connection secrets of what it depends on in its namespace', () => {
    const { files } = renderClusters(
      [
        {
          ...webapp({
            params: {
              image: 'ghcr.io/acme/storefront',
              version: '1.4.2',
              replicas: 3,
              size: 'small',
              env: {
                LOG_LEVEL: 'info',
                STRIPE_KEY: { secretRef: { name: 'stripe', key: 'api-key' } },
              },
            },
          }),
          dependsOn: ['shop/orders-db', 'billing/ledger'],
          size: { cpu: 0.5, memoryGi: 1 },
        },
      ],
      { claims: resolveClaimMappings() },
    );
    const [deployment] = docs(
      files.get('clusters/aws-us-east-1/shop/storefront.yaml')!,
    );
    expect(deployment.spec.replicas).toBe(3);
    const [container] = deployment.spec.template.spec.containers;
    expect(container.resources).toEqual({
      requests: { cpu: '0.5', memory: '1Gi' },
      limits: { memory: '1Gi' },
    });
    expect(container.env).toEqual([
      { name: 'PORT', value: '8080' },
      { name: 'LOG_LEVEL', value: 'info' },
      {
        name: 'STRIPE_KEY',
        valueFrom: { secretKeyRef: { name: 'stripe', key: 'api-key' } },
      },
      ...['host', 'port', 'username', 'password'].map(key => ({
        name: `ORDERS_DB_${key === 'username' ? 'USER' : key.toUpperCase()}`,
        valueFrom: {
          secretKeyRef: {
            name: 'orders-db-connection',
            key,
            ...(key === 'username' || key === 'password'
              ? { optional: true }
              : {}),
          },
        },
      })),
    ]);
  });

  it('renders a database as its Crossplane claim', () => {
    const { files } = renderClusters(
      [
        webapp({
          ref: 'resource:shop/orders-db',
          name: 'orders-db',
          product: 'mysql',
          params: { size: 'small', engineVersion: '8.4' },
        }),
      ],
      { claims: resolveClaimMappings() },
    );
    const [claim] = docs(
      files.get('clusters/aws-us-east-1/shop/orders-db.yaml')!,
    );
    expect(claim).toMatchObject({
      kind: 'MySQLInstance',
      metadata: { name: 'orders-db', namespace: 'shop' },
      spec: {
        parameters: { size: 'small', engineVersion: '8.4' },
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
    ).toThrow(/name 'Store_Front' is not a DNS label/);
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
