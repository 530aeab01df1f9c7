import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  ControlPlaneDriver,
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDriversExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import {
  defaultFakeKinds,
  FakeKubernetes,
} from './__testUtils__/fakeKubernetes';
import { controlPlaneModuleKubernetes } from './module';

/** Stands in for the control plane plugin: collects the drivers modules add. */
function driverCollector(drivers: ControlPlaneDriver[]) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlaneDriversExtensionPoint, {
        addDriver: (...added) => drivers.push(...added),
      });
      // the Cluster API driver, when controlPlane.kubernetes.clusterApi configures it
      env.registerExtensionPoint(controlPlaneClusterDriversExtensionPoint, {
        addClusterDriver() {},
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

describe('controlPlaneModuleKubernetes', () => {
  let fake: FakeKubernetes;
  beforeEach(async () => {
    fake = await FakeKubernetes.start({
      token: 'module-token',
      kinds: [
        ...defaultFakeKinds,
        {
          apiVersion: 'database.idp.multicloud/v1alpha1',
          kind: 'MySQLServer',
          plural: 'mysqlservers',
        },
      ],
    });
  });
  afterEach(() => fake.stop());

  it('adds the kubernetes driver, acting on the configured clusters', async () => {
    const drivers: ControlPlaneDriver[] = [];
    const backend = await startTestBackend({
      features: [
        driverCollector(drivers),
        controlPlaneModuleKubernetes,
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              kubernetes: {
                clusters: [
                  {
                    name: 'aws-us-east-1',
                    url: fake.url,
                    token: 'module-token',
                    skipTLSVerify: true,
                  },
                ],
                claims: {
                  mysql: { kind: 'MySQLServer' },
                  mongodb: {
                    apiVersion: 'database.example.com/v1',
                    kind: 'MongoDB',
                    port: 27017,
                    operations: ['backup'],
                  },
                },
              },
            },
          },
        }),
      ],
    });

    expect(drivers.map(d => d.id)).toEqual(['kubernetes']);
    const [driver] = drivers;
    expect(driver.capabilities().operations.mongodb).toEqual(['backup']);

    const target = {
      cell: 'cell-us',
      provider: 'aws',
      cluster: 'aws-us-east-1',
      region: 'us-east-1',
      zones: [],
    };
    const resource = {
      ref: 'resource:team-a/orders-db',
      uid: 'uid-1',
      namespace: 'team-a',
      name: 'orders-db',
      product: 'mysql',
      tier: 'low',
      owner: 'group:default/team-a',
      generation: 1,
      params: {},
      labels: {},
    };
    const ctx = {
      idempotencyToken: 'op-1:apply_claim',
      operationId: 'op-1',
      signal: new AbortController().signal,
      logger: mockServices.logger.mock(),
    };
    await driver.apply(resource, target, ctx);
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/apis/database.idp.multicloud/v1alpha1/namespaces/team-a/mysqlservers/orders-db',
      authorization: 'Bearer module-token',
    });
    await expect(
      driver.plan(resource, { ...target, cluster: 'gcp-europe-west1' }, ctx),
    ).rejects.toThrow("'gcp-europe-west1' is not configured");

    await backend.stop();
  });

  it('refuses an operation name it does not know', async () => {
    await expect(
      startTestBackend({
        features: [
          driverCollector([]),
          controlPlaneModuleKubernetes,
          mockServices.rootConfig.factory({
            data: {
              controlPlane: {
                kubernetes: {
                  claims: {
                    mysql: { operations: ['defragment'] },
                  },
                },
              },
            },
          }),
        ],
      }),
    ).rejects.toThrow('defragment');
  });
});
