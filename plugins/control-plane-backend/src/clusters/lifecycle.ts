import { LoggerService } from '@backstage/backend-plugin-api';
import { metrics } from '@opentelemetry/api';
import { ManifestOf } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { Duration } from 'luxon';
import { CallContext } from '../context';
import { setTimeout as delay } from 'node:timers/promises';
import { AuditLog } from '../audit/AuditLog';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { ChangeService } from '../gitops/ChangeService';
import { INSTRUMENTATION_SCOPE } from '../observability/tracing';
import { OperationStore } from '../operations/OperationStore';
import { ResourceService } from '../requests/ResourceService';
import { ResourceStore } from '../resources/ResourceStore';
import { Scheduler } from '../scheduling/Scheduler';
import { ChannelAutomation } from './ChannelAutomation';
import { IdleClusters } from './idle';
import { ClusterSagaDependencies } from './clusterSagas';
import { ClusterOperationRunner } from './ClusterOperationRunner';
import { ClusterDriverRegistry, ClusterService } from './ClusterService';
import { ClusterStore } from './ClusterStore';

const ended = [
  'succeeded',
  'failed',
  'compensated',
  'cancelled',
  'needs-attention',
];

/** The cluster lifecycle: its store, service and the runner of its operations. */
export interface ClusterLifecycle {
  store: ClusterStore;
  service: ClusterService;
  runner: ClusterOperationRunner;
  /** Upgrades the clusters of each channel in waves, inside their maintenance windows. */
  automation: ChannelAutomation;
  /** Proposes idle clusters for decommission, and decommissions those Git says to. */
  idle: IdleClusters;
  start(): void;
  stop(): Promise<void>;
}

/** Wires the cluster lifecycle onto the control plane's stores and services. */
export function createClusterLifecycle(options: {
  db: Knex;
  drivers: ClusterDriverRegistry;
  /** The resource drivers: they tell which APIs the workloads placed on a cluster use. */
  resourceDrivers?: DriverRegistry;
  /** The event stream resources use: cluster events go there as `cluster:<name>`. */
  events?: ResourceEventStore;
  changes: ChangeService;
  resources: ResourceStore;
  resourceService: ResourceService;
  operations: OperationStore;
  scheduler: Scheduler;
  audit: AuditLog;
  logger: LoggerService;
  pollMs?: number;
  leaseMs?: number;
  /** How often managed clusters are observed and scored. @defaultValue 30 s */
  refreshMs?: number;
  /** A channel's new minor waits for a platform engineer's approval. @defaultValue false */
  requireMinorApproval?: boolean;
  /** How long a managed cluster stays empty before it is proposed for decommission. @defaultValue 7 days */
  idleFor?: Duration;
  /** Proposes a change for review (its id); undefined when no review module is installed. */
  propose?: (
    manifest: ManifestOf<'Cluster'>,
    ctx: CallContext,
  ) => Promise<string> | undefined;
}): ClusterLifecycle {
  const { db, logger } = options;
  const store = new ClusterStore(db, undefined, options.events);
  const pollMs = options.pollMs ?? 500;
  const scores = new Map<
    string,
    { value: number; cell: string; provider: string }
  >();
  const gauge = metrics
    .getMeter(INSTRUMENTATION_SCOPE)
    .createObservableGauge('idp_cluster_health_score', {
      description: 'Health score of each cluster, 0 (failing) to 100',
    });
  gauge.addCallback(result => {
    for (const [cluster, s] of scores) {
      result.observe(s.value, { cluster, cell: s.cell, provider: s.provider });
    }
  });

  const placedOn: ClusterSagaDependencies['placedOn'] = async cluster => {
    const desired = await options.changes.current();
    return (await options.resources.placed())
      .filter(r => r.placement?.cluster === cluster)
      .map(r => {
        const ref = `resource:${r.namespace}/${r.name}`;
        return {
          ref,
          tier: r.tier,
          cell: r.cell,
          dependsOn: desired.resource(ref)?.spec.dependsOn ?? [],
        };
      });
  };
  // eslint-disable-next-line prefer-const
  let service: ClusterService;
  const deps: ClusterSagaDependencies = {
    store,
    pollMs,
    placedOn,
    // Each placed resource's driver says which APIs its objects use; a driver that cannot
    // tell reports nothing for it.
    async apisInUse(cluster) {
      const desired = await options.changes.current();
      const spec = desired.cluster(cluster);
      const placed = (await options.resources.placed()).filter(
        r => r.placement?.cluster === cluster,
      );
      const used: { ref: string; apis: string[] }[] = [];
      for (const r of placed) {
        const provider = desired.provider(r.placement!.provider);
        const driver = provider
          ? options.resourceDrivers?.get(provider.driver)
          : undefined;
        if (!driver?.apisInUse) continue;
        const ref = `resource:${r.namespace}/${r.name}`;
        used.push({
          ref,
          apis: await driver.apisInUse(
            {
              ref,
              uid: r.uid,
              namespace: r.namespace,
              name: r.name,
              product: r.product,
              tier: r.tier,
              owner: r.owner,
              generation: 0,
              params: r.params,
              labels: r.labels,
            },
            {
              cell: r.placement!.cell,
              provider: r.placement!.provider,
              cluster,
              region: spec?.region ?? '',
              zones: spec?.zones ?? [],
            },
          ),
        });
      }
      return used;
    },
    async migrate(ref, cell, ctx) {
      const accepted = await options.resourceService.operate(
        ref,
        { type: 'migrate', params: { cell } },
        {
          actor: ctx.actor,
          requestId: ctx.idempotencyKey,
          idempotencyKey: ctx.idempotencyKey,
        },
      );
      for (;;) {
        const op = await options.operations.get(accepted.operationId);
        if (ended.includes(op.state)) return op.state;
        await delay(pollMs, undefined, { signal: ctx.signal });
      }
    },
    removeManifest: (cluster, actor) => service.removeManifest(cluster, actor),
  };
  const runner = new ClusterOperationRunner({
    store,
    deps,
    audit: options.audit,
    logger: logger.child({ component: 'cluster-lifecycle' }),
    resolve: op => service.resolve(op),
    pollMs,
    leaseMs: options.leaseMs,
  });
  service = new ClusterService({
    store,
    changes: options.changes,
    drivers: options.drivers,
    sagaDeps: deps,
    usage: desired => options.scheduler.clusterUsage(desired),
    logger,
    wake: () => runner.wake(),
    onHealth: (cluster, spec, health) =>
      scores.set(cluster, {
        value: health.score,
        cell: spec.cell,
        provider: spec.provider,
      }),
  });
  const automation = new ChannelAutomation({
    service,
    store,
    logger: logger.child({ component: 'cluster-channels' }),
    requireMinorApproval: options.requireMinorApproval,
  });
  const idle = new IdleClusters({
    service,
    store,
    logger: logger.child({ component: 'idle-clusters' }),
    idleFor: options.idleFor ?? Duration.fromObject({ days: 7 }),
    propose: options.propose,
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    store,
    service,
    runner,
    automation,
    idle,
    start() {
      runner.start();
      const refresh = () =>
        service
          .refresh()
          .then(() => automation.pass())
          .then(() => idle.pass())
          .catch(e => logger.warn(`cluster refresh failed: ${e}`));
      timer = setInterval(refresh, options.refreshMs ?? 30_000);
      timer.unref?.();
    },
    async stop() {
      clearInterval(timer);
      await runner.stop();
    },
  };
}
