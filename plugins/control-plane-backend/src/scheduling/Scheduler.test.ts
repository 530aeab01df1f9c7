import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { SimulatedDriver } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../audit/AuditLog';
import { migrateUp } from '../database/migrations';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { bootstrapManifests } from '../gitops/bootstrap';
import { DesiredState } from '../gitops/DesiredState';
import { ProviderHealth } from '../health/ProviderHealth';
import { ResourceStore } from '../resources/ResourceStore';
import { PlacementStore } from './PlacementStore';
import { defaultPriceList, Pricing } from './pricing';
import { FAILOVER_PAIR_LABEL, Scheduler } from './Scheduler';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

describe.each(databases.eachSupportedId())('Scheduler on %s', databaseId => {
  async function setup() {
    const db = await databases.init(databaseId);
    await migrateUp(db);
    const logger = mockServices.logger.mock();
    const drivers = new DriverRegistry();
    drivers.add(await SimulatedDriver.create({ database: db, logger }));
    const health = new ProviderHealth({ db, logger });
    const scheduler = new Scheduler({
      resources: new ResourceStore(
        db,
        new ResourceEventStore(db),
        new AuditLog(db),
      ),
      placements: new PlacementStore(db),
      drivers,
      pricing: new Pricing(defaultPriceList()),
      providerStatus: health,
    });
    const desired = DesiredState.create(
      undefined,
      bootstrapManifests('simulated'),
    );
    /** A live resource placed on a cluster. */
    const placed = async (
      name: string,
      cluster: string,
      spec: { owner?: string; product?: string } = {},
      labels: Record<string, string> = {},
    ) => {
      const c = desired.cluster(cluster)!;
      const at = new Date().toISOString();
      await db('resources').insert({
        uid: randomUUID(),
        namespace: 'payments',
        name,
        product: spec.product ?? 'mysql',
        owner: spec.owner ?? 'group:default/payments',
        tier: 'medium',
        cell: c.cell,
        spec: JSON.stringify({ params: { size: 'small' } }),
        labels: JSON.stringify(labels),
        state: 'READY',
        placement: JSON.stringify({
          cell: c.cell,
          provider: c.provider,
          cluster,
        }),
        created_at: at,
        updated_at: at,
      });
    };
    const resource = (labels: Record<string, string> = {}) => ({
      uid: randomUUID(),
      ref: 'resource:payments/orders-db-3',
      metadata: { namespace: 'payments', labels },
      spec: {
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'medium' as const,
        cell: 'cell-us',
        params: { size: 'small' },
        dependsOn: [],
      },
      status: {} as any,
    });
    return { db, health, scheduler, desired, placed, resource };
  }

  it("counts each cluster's replicas of the resource, its failover partners' providers, and the latency to the requested cell", async () => {
    const { health, scheduler, desired, placed, resource } = await setup();
    await placed('orders-db', 'aws-us-east-1');
    await placed('orders-db-2', 'aws-eu-west-1');
    // Not replicas: another team's MySQL, the team's Redis.
    await placed('search-db', 'azure-eastus', {
      owner: 'group:default/search',
    });
    await placed('sessions', 'azure-eastus', { product: 'redis' });
    // The other half of its failover pair.
    await placed(
      'orders-standby',
      'gcp-europe-west1',
      {},
      { [FAILOVER_PAIR_LABEL]: 'orders' },
    );
    health.record('aws', true, 12, 'cell-us');
    health.record('aws', true, 300, 'cell-eu');
    health.record('gcp', true, 40, 'cell-eu');
    await health.flush();

    const candidates = await scheduler.candidates(desired, {
      resource: resource({ [FAILOVER_PAIR_LABEL]: 'orders' }),
      params: { size: 'small' },
    });
    const byCluster = Object.fromEntries(
      candidates
        .filter(c => c.spec.cell === 'cell-us')
        .map(c => [
          c.cluster,
          {
            replicas: c.replicas,
            partners: c.partnersOnProvider,
            latencyMs: c.latencyMs,
            backsUp: c.driverBacksUp,
            resources: c.usage.resources,
          },
        ]),
    );
    expect(byCluster).toEqual({
      'aws-us-east-1': {
        replicas: { sameCluster: 1, sameProvider: 1 },
        partners: [],
        latencyMs: 12, // measured in cell-us, not aws's mean (156)
        backsUp: true,
        resources: 1,
      },
      'gcp-us-central1': {
        // the standby is a MySQL of the team too: a replica, on another gcp cluster
        replicas: { sameCluster: 0, sameProvider: 1 },
        partners: ['resource:payments/orders-standby'],
        latencyMs: 40, // nothing measured in cell-us: gcp's mean
        backsUp: true,
        resources: 0,
      },
      'azure-eastus': {
        replicas: { sameCluster: 0, sameProvider: 0 },
        partners: [],
        latencyMs: 50, // nothing measured at all
        backsUp: true,
        resources: 2,
      },
      'oci-us-ashburn-1': {
        replicas: { sameCluster: 0, sameProvider: 0 },
        partners: [],
        latencyMs: 50,
        backsUp: true,
        resources: 0,
      },
    });
    // Without the pair label, no partner.
    const unpaired = await scheduler.candidates(desired, {
      resource: resource(),
      params: { size: 'small' },
    });
    expect(unpaired.flatMap(c => c.partnersOnProvider)).toEqual([]);
  });

  it('decides with them, and stores the decision, placed or not', async () => {
    const { db, scheduler, desired, placed, resource } = await setup();
    await placed(
      'orders-standby',
      'oci-eu-frankfurt-1',
      {},
      { [FAILOVER_PAIR_LABEL]: 'orders' },
    );
    const subject = resource({ [FAILOVER_PAIR_LABEL]: 'orders' });
    const decision = await scheduler.decide(desired, {
      resource: subject,
      params: { size: 'small' },
    });
    // oci is the cheapest in cell-us for tier medium, but the pair's other half runs there.
    expect(decision.selected?.provider).not.toBe('oci');
    expect(
      decision.candidates.find(c => c.cluster === 'oci-us-ashburn-1')?.rejected,
    ).toEqual([
      {
        filter: 'failover-pair',
        reason:
          'its failover partner resource:payments/orders-standby runs on oci: a pair must not share a provider',
      },
    ]);
    await scheduler.record(db, {
      resource: subject,
      operationId: randomUUID(),
      decision,
      durationMs: 1.5,
    });
    const unschedulable = await scheduler.decide(desired, {
      resource: subject,
      params: { size: 'small' },
      pinned: { cluster: 'oci-us-ashburn-1' },
    });
    expect(unschedulable.outcome).toBe('unschedulable');
    await scheduler.record(db, {
      resource: subject,
      operationId: randomUUID(),
      decision: unschedulable,
      durationMs: 0.5,
    });
    const rows = await db('placement_decisions')
      .where({ resource_uid: subject.uid })
      .orderBy('id');
    expect(rows.map(r => [r.cluster, r.provider, r.experiment, r.arm])).toEqual(
      [
        [decision.selected!.cluster, decision.selected!.provider, null, null],
        [null, null, null, null],
      ],
    );
    expect(JSON.parse(rows[1].decision)).toEqual(unschedulable);
    expect(rows[1].explanation).toBe(unschedulable.explanation);
  });
});
