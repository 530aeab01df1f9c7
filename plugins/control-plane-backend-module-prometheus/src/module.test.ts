import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  controlPlaneMetricsProvidersExtensionPoint,
  MetricsProvider,
} from '@idp-multicloud/plugin-control-plane-node';
import { JsonObject } from '@backstage/types';
import defaultFeature, { controlPlaneModulePrometheus } from './index';

function fakeControlPlane(providers: MetricsProvider[]) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlaneMetricsProvidersExtensionPoint, {
        addMetricsProvider(...added) {
          providers.push(...added);
        },
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

async function start(prometheus?: JsonObject) {
  const providers: MetricsProvider[] = [];
  const backend = await startTestBackend({
    features: [
      fakeControlPlane(providers),
      controlPlaneModulePrometheus,
      mockServices.rootConfig.factory({
        data: prometheus ? { controlPlane: { prometheus } } : {},
      }),
    ],
  });
  return { backend, providers };
}

describe('controlPlaneModulePrometheus', () => {
  it('is the default export of the package', () => {
    expect(defaultFeature).toBe(controlPlaneModulePrometheus);
  });

  it('adds the prometheus provider when a base URL is configured', async () => {
    const { backend, providers } = await start({
      baseUrl: 'http://127.0.0.1:9090',
      rateRange: '2m',
      labels: { name: 'app' },
    });
    expect(providers.map(p => p.id)).toEqual(['prometheus']);
    const promql = (providers[0] as any).promql({
      metric: 'request-rate',
      target: { ref: 'resource:a/b', namespace: 'a', name: 'b', version: '2' },
      window: { start: new Date(0), end: new Date(60_000), stepSeconds: 10 },
    });
    expect(promql).toBe(
      'sum(rate(http_requests_total{namespace="a",app="b",version="2"}[120s]))',
    );
    await backend.stop();
  });

  it('adds nothing without a base URL', async () => {
    const { backend, providers } = await start();
    expect(providers).toEqual([]);
    await backend.stop();
  });

  it('refuses to start on a base URL that is not http(s)', async () => {
    await expect(start({ baseUrl: 'ftp://prometheus' })).rejects.toThrow(
      /controlPlane\.prometheus\.baseUrl must be http: or https:, not ftp:/,
    );
  });
});
