import {
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { ControlPlaneConfig } from './config';
import { ControlPlane } from './controlPlane';
import { probeHalfOpenProviders } from './health/probes';

/** One piece of periodic work of the control plane. */
export interface BackgroundTask {
  id: string;
  /** `local`: every replica runs it; `global`: one replica at a time. */
  scope: 'local' | 'global';
  frequency: SchedulerServiceTaskScheduleDefinition['frequency'];
  timeout: SchedulerServiceTaskScheduleDefinition['timeout'];
  /** Runs only in replicas that orchestrate (`controlPlane.orchestration.enabled`). */
  orchestration: boolean;
  fn: () => Promise<void>;
}

/**
 * Every periodic task of the control plane, in one table. The saga engine's worker loop is
 * not here: it runs continuously between `ControlPlane.start()` and `stop()`, woken by new
 * work, and is not a periodic task.
 */
export function backgroundTasks(
  controlPlane: Pick<
    ControlPlane,
    | 'indexer'
    | 'reconciler'
    | 'idempotency'
    | 'health'
    | 'drivers'
    | 'deferredAudit'
  >,
  settings: ControlPlaneConfig,
  logger: LoggerService,
): BackgroundTask[] {
  const { indexer, reconciler, idempotency, health, drivers, deferredAudit } =
    controlPlane;
  const healthLogger = logger.child({ component: 'provider-health' });
  return [
    {
      id: 'control-plane-state-repo-sync',
      scope: 'local',
      frequency: settings.stateRepo.pollInterval.toObject(),
      timeout: { minutes: 5 },
      orchestration: false,
      fn: async () => {
        await indexer.sync();
      },
    },
    {
      id: 'control-plane-reconciler',
      scope: 'global',
      frequency: settings.reconciler.interval.toObject(),
      timeout: { minutes: 5 },
      orchestration: true,
      fn: async () => {
        await reconciler.pass();
      },
    },
    {
      id: 'control-plane-drift-detection',
      scope: 'global',
      frequency: settings.reconciler.driftInterval.toObject(),
      timeout: { minutes: 10 },
      orchestration: true,
      fn: async () => {
        await reconciler.detectDrift();
      },
    },
    {
      id: 'control-plane-idempotency-purge',
      scope: 'global',
      frequency: { hours: 1 },
      timeout: { minutes: 5 },
      orchestration: false,
      fn: async () => {
        const purged = await idempotency.purgeExpired();
        if (purged > 0)
          logger.info(`forgot ${purged} expired idempotency keys`);
      },
    },
    {
      // Audit events of requests refused while the database was away, once it is back.
      id: 'control-plane-deferred-audit',
      scope: 'local',
      frequency: { seconds: 5 },
      timeout: { minutes: 1 },
      orchestration: false,
      fn: () => deferredAudit.flush(),
    },
    {
      // What this replica saw of each provider's calls, shared with the others.
      id: 'control-plane-provider-health-flush',
      scope: 'local',
      frequency: { seconds: 1 },
      timeout: { minutes: 1 },
      orchestration: true,
      fn: () => health.flush(),
    },
    {
      // Every replica probes its half-open providers: one cheap call each per interval.
      id: 'control-plane-provider-probes',
      scope: 'local',
      frequency: settings.health.probeInterval.toObject(),
      timeout: { minutes: 1 },
      orchestration: true,
      fn: async () => {
        await probeHalfOpenProviders({
          health,
          drivers,
          desired: await indexer.current(),
          logger: healthLogger,
        });
      },
    },
  ];
}

/** Registers the tasks this replica runs with Backstage's scheduler. */
export async function scheduleBackgroundWork(
  scheduler: SchedulerService,
  tasks: BackgroundTask[],
  settings: ControlPlaneConfig,
  logger: LoggerService,
): Promise<void> {
  for (const task of tasks) {
    if (task.orchestration && !settings.orchestration.enabled) continue;
    await scheduler.scheduleTask({
      id: task.id,
      scope: task.scope,
      frequency: task.frequency,
      timeout: task.timeout,
      fn: async () => {
        try {
          await task.fn();
        } catch (error) {
          logger.warn(`${task.id} failed: ${error}`);
        }
      },
    });
  }
}
