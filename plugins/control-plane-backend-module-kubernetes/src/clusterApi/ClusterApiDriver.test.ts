import { mockServices } from '@backstage/backend-test-utils';
import { ClusterDriverCluster } from '@idp-multicloud/plugin-control-plane-node';
import {
  defaultFakeKinds,
  FakeKubernetes,
} from '../__testUtils__/fakeKubernetes';
import { KubernetesCluster } from '../KubernetesCluster';
import { capiKinds, CapiController } from './__testUtils__/capiController';
import { ClusterApiDriver } from './ClusterApiDriver';
import {
  CAPI_VERSION,
  capiVersion,
  DEFER_UPGRADE,
  validateCapiCluster,
  CapiCluster,
  capiClusterOf,
} from './manifests';

const NS = 'idp-clusters';
const cluster: ClusterDriverCluster = {
  name: 'eu-capi',
  labels: {},
  spec: {
    cell: 'cell-eu',
    provider: 'onprem',
    region: 'dc-1',
    zones: ['a'],
    version: '1.30',
    lifecycle: 'active',
    nodePools: [
      { name: 'system', machineType: 'small', count: 1 },
      { name: 'general', machineType: 'large', count: 2 },
    ],
    capacity: { cpu: 24, memoryGi: 96, storageGi: 100, maxResources: 15 },
  },
};
const ctx = (token = 'op:step') => ({
  idempotencyToken: token,
  operationId: 'op',
  signal: new AbortController().signal,
  logger: mockServices.logger.mock(),
});

describe('Cluster API manifests', () => {
  it.each([
    ['1.31', 'v1.31.0'],
    ['1.31.4', 'v1.31.4'],
    ['v1.30.2', 'v1.30.2'],
  ])('writes %s as %s', (v, capi) => {
    expect(capiVersion(v)).toBe(capi);
  });

  it('refuses what the API server would', () => {
    const bad = capiClusterOf(
      {
        ...cluster,
        spec: {
          ...cluster.spec,
          nodePools: [
            { name: 'Pool_1', machineType: 'm', count: 1 },
            { name: 'x', machineType: 'm', count: -1 },
          ],
        },
      },
      { namespace: NS, clusterClass: 'idp' },
      { version: '1.31' },
    );
    expect(validateCapiCluster(bad)).toEqual([
      'spec.topology.workers.machineDeployments[0].name Pool_1 is not a DNS label',
      'spec.topology.workers.machineDeployments[1].replicas must be a whole number ≥ 0',
    ]);
  });

  it.each([
    [
      'a pool named twice',
      (c: CapiCluster) => {
        c.spec.topology.workers.machineDeployments[1].name = 'system';
      },
      'spec.topology.workers.machineDeployments[1].name system is repeated',
    ],
    [
      'a version Cluster API does not read',
      (c: CapiCluster) => {
        c.spec.topology.version = '1.31';
      },
      'spec.topology.version is not vX.Y.Z',
    ],
    [
      'no ClusterClass',
      (c: CapiCluster) => {
        c.spec.topology.class = '';
      },
      'spec.topology.class',
    ],
    [
      'a label value Kubernetes refuses',
      (c: CapiCluster) => {
        c.metadata.labels = { 'idp.multicloud/cell': 'cell eu' };
      },
      'metadata.labels.idp.multicloud/cell is not a label value',
    ],
    [
      'a namespace that is not a name',
      (c: CapiCluster) => {
        c.metadata.namespace = 'Clusters';
      },
      'metadata.namespace Clusters is not a DNS label',
    ],
  ])('refuses %s, naming the field', (_what, spoil, issue) => {
    const c = capiClusterOf(
      cluster,
      { namespace: NS, clusterClass: 'idp' },
      { version: '1.31' },
    );
    expect(validateCapiCluster(c)).toEqual([]);
    spoil(c);
    expect(validateCapiCluster(c).join('\n')).toContain(issue);
  });
});

describe('the Cluster API driver on the fake API server', () => {
  let fake: FakeKubernetes;
  let driver: ClusterApiDriver;
  let capi: CapiController;
  beforeEach(async () => {
    fake = await FakeKubernetes.start({
      token: 'sa',
      kinds: [...defaultFakeKinds, ...capiKinds],
    });
    driver = new ClusterApiDriver(
      'kubernetes',
      new KubernetesCluster({
        name: 'mgmt',
        url: fake.url,
        token: 'sa',
        skipTLSVerify: true,
      }),
      { namespace: NS, clusterClass: 'idp-default' },
    );
    capi = new CapiController(fake, NS);
  });
  afterEach(() => fake.stop());

  const topology = () =>
    fake.get(CAPI_VERSION, 'Cluster', NS, 'eu-capi')!.spec.topology;
  const converge = () => {
    expect(capi.reconcile('eu-capi')).toBe('observed');
    expect(capi.reconcile('eu-capi')).toBe('converged');
  };

  it('refuses to read a Cluster that is not a Cluster API Cluster with a topology, naming the field', async () => {
    await driver.apply(cluster, ctx());
    const stored = fake.get(CAPI_VERSION, 'Cluster', NS, 'eu-capi')!;
    fake.put({
      ...stored,
      spec: { ...stored.spec, topology: { class: 'idp-default' } },
    });
    await expect(driver.observe(cluster, ctx())).rejects.toThrow(
      /^Cluster eu-capi of the management cluster is not a Cluster API v1beta1 Cluster with a topology: spec.topology.version .*; spec.topology.controlPlane .*; spec.topology.workers /,
    );
  });

  it('creates a Cluster with a ClusterClass topology and reads readiness from its status', async () => {
    expect((await driver.apply(cluster, ctx())).phase).toBe('provisioning');
    expect(topology()).toEqual({
      class: 'idp-default',
      version: 'v1.30.0',
      controlPlane: { replicas: 3 },
      workers: {
        machineDeployments: [
          { class: 'small', name: 'system', replicas: 1 },
          { class: 'large', name: 'general', replicas: 2 },
        ],
      },
    });
    capi.reconcile('eu-capi');
    // the controller saw it, the control plane is not ready yet
    expect((await driver.observe(cluster, ctx())).phase).toBe('provisioning');
    capi.reconcile('eu-capi');
    const ready = await driver.observe(cluster, ctx());
    expect(ready).toMatchObject({
      phase: 'ready',
      controlPlaneVersion: '1.30.0',
      pools: [
        { name: 'system', version: '1.30.0', nodes: 1, ready: 1 },
        { name: 'general', version: '1.30.0', nodes: 2, ready: 2 },
      ],
      // referenced, never copied
      kubeconfigSecretRef: 'idp-clusters/eu-capi-kubeconfig',
    });
    // applying again changes nothing
    const generation = fake.get(CAPI_VERSION, 'Cluster', NS, 'eu-capi')!
      .metadata.generation;
    await driver.apply(cluster, ctx('again'));
    expect(
      fake.get(CAPI_VERSION, 'Cluster', NS, 'eu-capi')!.metadata.generation,
    ).toBe(generation);
  });

  it('upgrades the control plane first, holding every pool, then one pool at a time', async () => {
    await driver.apply(cluster, ctx());
    converge();
    await driver.upgradeControlPlane(cluster, '1.31', ctx());
    expect(topology().version).toBe('v1.31.0');
    expect(
      topology().workers.machineDeployments.map(
        (m: any) => m.metadata?.annotations?.[DEFER_UPGRADE],
      ),
    ).toEqual(['', '']);
    // not done until the controller has seen the new generation and converged
    expect(
      (await driver.observe(cluster, ctx())).controlPlaneVersion,
    ).toBeNull();
    converge();
    let seen = await driver.observe(cluster, ctx());
    expect([
      seen.phase,
      seen.controlPlaneVersion,
      seen.pools.map(p => p.version),
    ]).toEqual(['ready', '1.31.0', ['1.30.0', '1.30.0']]);
    await driver.upgradePool(cluster, 'system', '1.31', ctx());
    converge();
    seen = await driver.observe(cluster, ctx());
    expect(seen.pools.map(p => p.version)).toEqual(['1.31.0', '1.30.0']);
    await driver.upgradePool(cluster, 'general', '1.31', ctx());
    converge();
    seen = await driver.observe(cluster, ctx());
    expect(seen.pools.map(p => p.version)).toEqual(['1.31.0', '1.31.0']);
    expect(
      topology().workers.machineDeployments.some((m: any) => m.metadata),
    ).toBe(false);
  });

  it('scales a pool by its replicas, and reports a failed upgrade from the conditions', async () => {
    await driver.apply(cluster, ctx());
    converge();
    await driver.scalePool(cluster, 'general', 5, ctx());
    expect((await driver.observe(cluster, ctx())).phase).toBe('provisioning');
    converge();
    const scaled = await driver.observe(cluster, ctx());
    expect(scaled.pools.find(p => p.name === 'general')).toMatchObject({
      nodes: 5,
      ready: 5,
    });

    capi.failing.add('v1.31.0');
    await driver.upgradeControlPlane(cluster, '1.31', ctx());
    expect(capi.reconcile('eu-capi')).toBe('observed');
    expect(capi.reconcile('eu-capi')).toBe('failed');
    const failed = await driver.observe(cluster, ctx());
    expect(failed.phase).toBe('failed');
    expect(failed.message).toBe(
      'machines of the control plane do not come up at v1.31.0',
    );
  });

  it('deletes the Cluster; deleting what is gone succeeds', async () => {
    await driver.apply(cluster, ctx());
    await driver.delete(cluster, ctx());
    expect((await driver.observe(cluster, ctx())).phase).toBe('absent');
    await driver.delete(cluster, ctx());
  });
});
