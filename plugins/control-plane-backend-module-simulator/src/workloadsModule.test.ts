import { createBackendPlugin } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import {
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDriversExtensionPoint,
  controlPlaneMetricsProvidersExtensionPoint,
  controlPlaneTrafficRoutersExtensionPoint,
  MetricsProvider,
  TrafficRouter,
} from '@idp-multicloud/plugin-control-plane-node';
import request from 'supertest';
import { controlPlaneModuleSimulator } from './module';
import { controlPlaneModuleSimulatorWorkloads } from './workloadsModule';

const databases = TestDatabases.create();

/** A stand-in for the control plane plugin: it collects what the modules add. */
function fakeControlPlane(added: {
  metrics: MetricsProvider[];
  routers: TrafficRouter[];
}) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlaneDriversExtensionPoint, {
        addDriver() {},
      });
      env.registerExtensionPoint(controlPlaneClusterDriversExtensionPoint, {
        addClusterDriver() {},
      });
      env.registerExtensionPoint(controlPlaneMetricsProvidersExtensionPoint, {
        addMetricsProvider(...providers) {
          added.metrics.push(...providers);
        },
      });
      env.registerExtensionPoint(controlPlaneTrafficRoutersExtensionPoint, {
        addTrafficRouter(...routers) {
          added.routers.push(...routers);
        },
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

const auth = { Authorization: mockCredentials.user.header() };
const base = '/api/control-plane/simulator';
const target = {
  ref: 'resource:default/shop',
  namespace: 'default',
  name: 'shop',
  cells: ['cell-us'],
};

describe.each(databases.eachSupportedId())(
  'the simulator workloads module on %s',
  databaseId => {
    async function start() {
      const added = { metrics: [], routers: [] } as {
        metrics: MetricsProvider[];
        routers: TrafficRouter[];
      };
      const knex = await databases.init(databaseId);
      const backend = await startTestBackend({
        features: [
          fakeControlPlane(added),
          controlPlaneModuleSimulator,
          controlPlaneModuleSimulatorWorkloads,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: {
              controlPlane: {
                simulator: {
                  latency: { default: 0 },
                  traffic: { interval: '50ms', requestsPerSecond: 400 },
                },
              },
            },
          }),
        ],
      });
      return { backend, server: backend.server, ...added };
    }

    it('adds the simulator traffic router and metrics provider, and serves the split on /metrics without credentials', async () => {
      const { backend, server, metrics, routers } = await start();
      expect(metrics.map(m => m.id)).toEqual(['simulator']);
      expect(routers.map(r => r.id)).toEqual(['simulator']);
      await routers[0].setRouting(
        target,
        {
          stable: '1.0.0',
          canary: '1.1.0',
          canaryWeight: 20,
          headerMatches: [{ name: 'x-canary', value: 'true' }],
        },
        { idempotencyToken: 'op-1:set_weight' },
      );

      // The generator runs on its own (every 50 ms here): wait for both versions' series.
      let body = '';
      while (
        !/version="1\.1\.0"/.test(body) ||
        !/version="1\.0\.0"/.test(body)
      ) {
        await new Promise(r => setTimeout(r, 50));
        const res = await request(server).get(`${base}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(
          /^text\/plain;.*version=0\.0\.4/,
        );
        body = res.text;
      }
      expect(body).toContain('# TYPE http_requests_total counter');
      expect(body).toContain('# TYPE http_request_duration_seconds histogram');
      expect(body).toMatch(
        /http_request_duration_seconds_bucket\{le="0\.5",namespace="default",service="shop",version="1\.0\.0",cell="cell-us"\} \d+/,
      );
      expect(body).toMatch(
        /http_requests_total\{namespace="default",service="shop",version="1\.1\.0",cell="cell-us",code="200"\} \d+/,
      );

      // A client's request with the header reaches the canary; an unrouted resource is a 404.
      const canary = await request(server)
        .get(`/api/control-plane/simulator/workloads/default/shop`)
        .set(auth)
        .set('x-canary', 'true');
      expect(canary.status).toBe(200);
      expect(canary.body).toEqual({ version: '1.1.0' });
      expect(
        (
          await request(server)
            .get(`${base}/workloads/default/nothing`)
            .set(auth)
        ).status,
      ).toBe(404);
      await backend.stop();
    });

    it('takes a misbehaving version through the fault API, and refuses a bad one naming the field', async () => {
      const { backend, server } = await start();
      const added = await request(server)
        .post(`${base}/faults`)
        .set(auth)
        .send({
          kind: 'misbehaving-version',
          ref: target.ref,
          version: '1.1.0',
          errorRate: 0.2,
          latency: '300ms',
          leakPerMinute: '50ms',
        });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({
        kind: 'misbehaving-version',
        ref: target.ref,
        version: '1.1.0',
        rate: 0.2,
        delayMs: 300,
        leakMsPerMinute: 50,
      });
      const bad = await request(server).post(`${base}/faults`).set(auth).send({
        kind: 'misbehaving-version',
        ref: target.ref,
        version: '1.1.0',
        errorRate: 2,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/errorRate/);
      await backend.stop();
    });
  },
);
