import { TestDatabases } from '@backstage/backend-test-utils';
import { SimulatedClusterDriver } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { metrics } from '@opentelemetry/api';
import {
  DataPoint,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { until } from '../__testUtils__/backend';
import { createTestControlPlane } from '../__testUtils__/controlPlane';
import { ClusterDriverRegistry } from './ClusterService';

class CollectingReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
}

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
jest.setTimeout(60_000);

it('exports each managed cluster health score as idp_cluster_health_score{cluster,cell,provider}', async () => {
  const reader = new CollectingReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  const clusterDrivers = new ClusterDriverRegistry();
  const { cp, knex, cleanup } = await createTestControlPlane(
    databases,
    'SQLITE_3',
    { clusterDrivers },
  );
  clusterDrivers.add(
    new SimulatedClusterDriver(knex, { createMs: 10, upgradeMs: 10 }),
  );
  cp.clusters.runner.start();
  try {
    const accepted = await cp.clusters.service.create(
      {
        name: 'eu-metric',
        cell: 'cell-eu',
        provider: 'aws',
        region: 'r1',
        zones: ['z1'],
        version: '1.35',
        nodePools: [{ name: 'general', machineType: 'm', count: 2 }],
      },
      { actor: 'user:default/ana', requestId: 'test' },
    );
    await until(async () => {
      const op = await cp.clusters.store.operation(accepted.operation!.id);
      return op?.state === 'succeeded';
    }, 'the cluster is created');
    await cp.clusters.service.refresh();
    const { score } = (await cp.clusters.service.get('eu-metric')).health!;
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics
      .flatMap(s => s.metrics)
      .filter(m => m.descriptor.name === 'idp_cluster_health_score')
      .flatMap(m => m.dataPoints as DataPoint<number>[]);
    expect(
      points.find(p => p.attributes.cluster === 'eu-metric'),
    ).toMatchObject({
      attributes: { cluster: 'eu-metric', cell: 'cell-eu', provider: 'aws' },
      value: score,
    });
    expect(score).toBeGreaterThan(90);
  } finally {
    await cp.clusters.runner.stop();
    await cleanup();
    metrics.disable();
  }
});
