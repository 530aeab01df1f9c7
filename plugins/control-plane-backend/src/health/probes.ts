import { LoggerService } from '@backstage/backend-plugin-api';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DesiredState } from '../gitops/DesiredState';
import { ProviderHealth } from './ProviderHealth';

/**
 * Probes every provider whose breaker is half-open: one cheap driver call (observing a probe
 * resource that does not exist) on one of its clusters. The call's outcome goes through the
 * health recorder like any other, so enough successes close the breaker and a failure opens
 * it again.
 */
export async function probeHalfOpenProviders(options: {
  health: ProviderHealth;
  drivers: DriverRegistry;
  desired: DesiredState;
  logger: LoggerService;
}): Promise<string[]> {
  const { health, drivers, desired, logger } = options;
  const probed: string[] = [];
  for (const provider of await health.halfOpen()) {
    const spec = desired.provider(provider);
    const driver = spec && drivers.get(spec.driver);
    const cluster = desired
      .ofKind('Cluster')
      .find(c => c.spec.provider === provider);
    if (!driver || !cluster) continue;
    const product = driver.capabilities().products[0] ?? 'webapp';
    await driver
      .observe(
        {
          ref: 'resource:control-plane/health-probe',
          uid: 'health-probe',
          namespace: 'control-plane',
          name: 'health-probe',
          product,
          tier: 'low',
          owner: 'group:default/platform',
          generation: 0,
          params: {},
          labels: {},
        },
        {
          cell: cluster.spec.cell,
          provider,
          cluster: cluster.metadata.name,
          region: cluster.spec.region,
          zones: cluster.spec.zones,
        },
        {
          idempotencyToken: `probe:${provider}:${Date.now()}`,
          operationId: 'health-probe',
          signal: AbortSignal.timeout(10_000),
          logger,
        },
      )
      .catch(() => undefined);
    probed.push(provider);
  }
  await health.flush();
  return probed;
}
