import { createResourceRequestSchema } from '@idp-multicloud/plugin-control-plane-common';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { SimulatedDriver } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { ControlPlaneDriver } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readControlPlaneConfig } from '../config';
import { ControlPlane, createControlPlane } from '../controlPlane';
import { migrateUp } from '../database/migrations';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { ClusterDriverRegistry } from '../clusters/ClusterService';

/**
 * The control plane built in-process on a test database with the simulated driver (no HTTP,
 * and no loops running until `cp.start()`), for tests that drive the engine or the reconciler
 * by hand.
 */
export async function createTestControlPlane(
  databases: TestDatabases,
  databaseId: Parameters<TestDatabases['init']>[0],
  options: {
    /** Wraps the simulator, e.g. to hold a call. */
    wrap?: (simulator: SimulatedDriver) => ControlPlaneDriver;
    controlPlane?: Record<string, unknown>;
    /** Cluster drivers (e.g. the simulator's), for the cluster lifecycle. */
    clusterDrivers?: ClusterDriverRegistry;
  } = {},
) {
  const knex: Knex = await databases.init(databaseId);
  await migrateUp(knex);
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-cp-'));
  const logger = mockServices.logger.mock();
  const simulator = await SimulatedDriver.create({
    database: knex,
    logger,
    provisioningTime: { milliseconds: 0 },
    deprovisioningTime: { milliseconds: 0 },
    latency: { default: 0 },
  });
  const drivers = new DriverRegistry();
  drivers.add(options.wrap?.(simulator) ?? simulator);
  const cp: ControlPlane = await createControlPlane({
    db: knex,
    config: readControlPlaneConfig(
      new ConfigReader({
        controlPlane: {
          dataDir,
          orchestration: {
            lease: { seconds: 30 },
            pollInterval: { milliseconds: 10 },
            readyPollInterval: { milliseconds: 5 },
          },
          reconciler: { interval: { hours: 1 } },
          ...options.controlPlane,
        },
      }),
    ),
    logger,
    drivers,
    clusterDrivers: options.clusterDrivers,
  });
  const actor = { actor: 'user:default/ana', requestId: 'test' };
  return {
    cp,
    knex,
    simulator,
    /** Asks for a resource as the API would: one commit, indexed. */
    async request(body: Record<string, unknown>) {
      await cp.resourceService.create(
        cp.resourceService.manifestForCreate(
          createResourceRequestSchema.parse({
            owner: 'group:default/payments',
            tier: 'medium',
            cell: 'cell-us',
            ...body,
          }),
        ),
        actor,
      );
    },
    /** Applies manifests (JSON objects) as `idp apply -f` would. */
    async apply(...manifests: object[]) {
      await cp.manifests.apply(
        cp.manifests.parse({
          yaml: manifests.map(m => JSON.stringify(m)).join('\n---\n'),
        }),
        actor,
      );
    },
    async cleanup() {
      await cp.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
