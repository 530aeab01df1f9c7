import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import { JsonObject } from '@backstage/types';
import {
  controlPlaneTrafficRoutersExtensionPoint,
  TrafficRouter,
} from '@idp-multicloud/plugin-control-plane-node';
import { patches, TOKEN } from './__testUtils__/driverOnFake';
import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import { GatewayApiTrafficRouter } from './GatewayApiTrafficRouter';
import { buildHttpRoute } from './httpRoute';
import { controlPlaneModuleKubernetesTraffic } from './trafficModule';

const ROUTE = [
  'gateway.networking.k8s.io/v1',
  'HTTPRoute',
  'shop',
  'web',
] as const;
const target = {
  ref: 'resource:shop/web',
  namespace: 'shop',
  name: 'web',
  cells: ['cell-us', 'cell-eu'],
  cluster: 'aws-us-east-1',
};
const gateway = { name: 'public', namespace: 'gateways' };
const ctx = (token = 'op-1:set_weight_5') => ({ idempotencyToken: token });

describe('GatewayApiTrafficRouter', () => {
  let fake: FakeKubernetes;
  let router: GatewayApiTrafficRouter;

  beforeEach(async () => {
    fake = await FakeKubernetes.start({ token: TOKEN });
    router = new GatewayApiTrafficRouter({
      parentRefs: [gateway],
      clusters: [
        {
          name: 'aws-us-east-1',
          url: fake.url,
          token: TOKEN,
          skipTLSVerify: true,
        },
      ],
      cellOf: new Map([['aws-us-east-1', 'cell-us']]),
      logger: mockServices.logger.mock(),
    });
  });
  afterEach(() => fake.stop());

  it('applies the split as HTTPRoute backendRef weights, with a header match to the canary', async () => {
    const routing = {
      stable: '1.0.0',
      canary: '1.1.0',
      canaryWeight: 5,
      headerMatches: [{ name: 'X-Canary', value: 'true' }],
    };
    await router.setRouting(target, routing, ctx());
    expect(fake.get(...ROUTE)).toMatchObject({
      metadata: {
        labels: {
          'app.kubernetes.io/managed-by': 'control-plane',
          'idp.multicloud/stable-version': '1.0.0',
          'idp.multicloud/canary-version': '1.1.0',
        },
      },
      spec: {
        parentRefs: [gateway],
        rules: [
          {
            matches: [
              { headers: [{ type: 'Exact', name: 'x-canary', value: 'true' }] },
            ],
            backendRefs: [{ name: 'web-canary', port: 8080, weight: 1 }],
          },
          {
            backendRefs: [
              { name: 'web-stable', port: 8080, weight: 95 },
              { name: 'web-canary', port: 8080, weight: 5 },
            ],
          },
        ],
      },
    });
    expect(patches(fake)[0].query.fieldManager).toBe('control-plane-traffic');
    await expect(router.getRouting(target)).resolves.toEqual({
      stable: '1.0.0',
      canary: '1.1.0',
      canaryWeight: 5,
      headerMatches: [{ name: 'x-canary', value: 'true' }],
    });
  });

  it('moves the weights step by step on the same route, and drops the header rule when promoted', async () => {
    const routing = {
      stable: '1.0.0',
      canary: '1.1.0',
      canaryWeight: 5,
      headerMatches: [{ name: 'x-canary', value: 'true' }],
    };
    await router.setRouting(target, routing, ctx());
    const first = fake.get(...ROUTE)!.metadata.resourceVersion;
    // The same step again (a retried saga step) changes nothing.
    await router.setRouting(target, routing, ctx());
    expect(fake.get(...ROUTE)!.metadata.resourceVersion).toBe(first);

    await router.setRouting(
      target,
      { ...routing, canaryWeight: 25 },
      ctx('op-1:set_weight_25'),
    );
    expect(fake.get(...ROUTE)!.spec.rules[1].backendRefs).toEqual([
      { name: 'web-stable', port: 8080, weight: 75 },
      { name: 'web-canary', port: 8080, weight: 25 },
    ]);

    // Promoted: the new version is stable, alone.
    await router.setRouting(
      target,
      { stable: '1.1.0', canaryWeight: 0 },
      ctx('op-1:promote'),
    );
    expect(fake.get(...ROUTE)!.spec.rules).toEqual([
      { backendRefs: [{ name: 'web-stable', port: 8080, weight: 100 }] },
    ]);
    expect(fake.get(...ROUTE)!.metadata.labels).not.toHaveProperty(
      'idp.multicloud/canary-version',
    );
  });

  it("takes the weight of its cluster's cell (geo) and keeps every cell's in the routing", async () => {
    const routing = {
      stable: '1.0.0',
      canary: '1.1.0',
      canaryWeight: 50,
      cells: [
        { cell: 'cell-us', canaryWeight: 10 },
        { cell: 'cell-eu', canaryWeight: 0 },
      ],
    };
    await router.setRouting(target, routing, ctx());
    expect(fake.get(...ROUTE)!.spec.rules[0].backendRefs).toEqual([
      { name: 'web-stable', port: 8080, weight: 90 },
      { name: 'web-canary', port: 8080, weight: 10 },
    ]);
    await expect(router.getRouting(target)).resolves.toEqual(routing);
  });

  it('refuses an invalid routing before sending anything', async () => {
    await expect(
      router.setRouting(
        target,
        { stable: '1.0.0', canary: '1.1.0', canaryWeight: 150 },
        ctx(),
      ),
    ).rejects.toThrow(InputError);
    expect(fake.requests.filter(r => r.method === 'PATCH')).toEqual([]);
    await expect(router.getRouting(target)).resolves.toBeUndefined();
  });

  it('refuses a cluster it was not given', async () => {
    await expect(
      router.setRouting(
        { ...target, cluster: 'gcp-eu-west1' },
        { stable: '1.0.0', canaryWeight: 0 },
        ctx(),
      ),
    ).rejects.toThrow(/'gcp-eu-west1' is not configured for traffic routing/);
  });

  it('validates the manifest against the Gateway API schema', () => {
    expect(() =>
      buildHttpRoute(
        target,
        { stable: '1.0.0', canaryWeight: 0 },
        { parentRefs: [{ name: '' }], port: 8080 },
        'cell-us',
        'op-1:set_weight',
      ),
    ).toThrow(/parentRefs/);
    expect(() =>
      buildHttpRoute(
        target,
        { stable: '1.0.0', canaryWeight: 0 },
        { parentRefs: [gateway], port: 70000 },
        'cell-us',
        'op-1:set_weight',
      ),
    ).toThrow(/port/);
  });
});

describe('controlPlaneModuleKubernetesTraffic', () => {
  async function start(traffic?: JsonObject) {
    const routers: TrafficRouter[] = [];
    const controlPlane = createBackendPlugin({
      pluginId: 'control-plane',
      register(env) {
        env.registerExtensionPoint(controlPlaneTrafficRoutersExtensionPoint, {
          addTrafficRouter: (...added) => routers.push(...added),
        });
        env.registerInit({ deps: {}, async init() {} });
      },
    });
    const backend = await startTestBackend({
      features: [
        controlPlane,
        controlPlaneModuleKubernetesTraffic,
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              kubernetes: {
                clusters: [
                  { name: 'k', url: 'https://127.0.0.1:6443', token: 't' },
                ],
                ...(traffic ? { traffic } : {}),
              },
            },
          },
        }),
      ],
    });
    await backend.stop();
    return routers;
  }

  it('adds the gateway-api router when a gateway is configured, and nothing otherwise', async () => {
    expect(
      (await start({ parentRefs: [gateway], cells: { k: 'cell-us' } })).map(
        r => r.id,
      ),
    ).toEqual(['gateway-api']);
    expect(await start()).toEqual([]);
  });
});
