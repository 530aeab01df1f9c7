import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { routeRequest } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { resolveSettings, SimulatorTrafficSettings } from '../config';
import { migrateUpOnce } from '../database/migrations';
import { FaultStore } from '../simulation/FaultStore';
import { seededRandom } from './random';
import { SimulatedMetricsProvider } from './SimulatedMetricsProvider';
import { SimulatedTrafficRouter } from './SimulatedTrafficRouter';
import { TickSummary, TrafficGenerator } from './TrafficGenerator';
import { WorkloadSeries } from './WorkloadSeries';

/**
 * The simulated workloads: the versions of the routed resources serving simulated clients.
 * Ties together the traffic router (routings in the database), the traffic generator (seeded),
 * the series it records (for `/metrics` and the metrics provider) and the misbehaving
 * versions among the simulator's faults (`misbehaving-version`). Exported for tests of other
 * packages that need realistic per-version series (e.g. for a real Prometheus to scrape).
 * @public
 */
export class SimulatedWorkloads {
  readonly series = new WorkloadSeries();
  readonly router: SimulatedTrafficRouter;
  readonly metrics: SimulatedMetricsProvider;
  private readonly generator: TrafficGenerator;
  private readonly faults: FaultStore;
  private readonly serveRandom: () => number;

  /** Migrates the simulator's tables (unless asked not to), then builds the workloads. */
  static async create(
    db: Knex,
    settings: Partial<SimulatorTrafficSettings> = {},
    options: { skipMigrations?: boolean } = {},
  ): Promise<SimulatedWorkloads> {
    if (!options.skipMigrations) await migrateUpOnce(db);
    return new SimulatedWorkloads(db, settings);
  }

  /** The traffic settings in force (defaults of `controlPlane.simulator.traffic` applied). */
  readonly settings: SimulatorTrafficSettings;

  /**
   * Workloads on the control plane's database (the simulator's tables migrated), with the
   * traffic settings given (the defaults for the others).
   */
  constructor(db: Knex, settings: Partial<SimulatorTrafficSettings> = {}) {
    this.settings = { ...resolveSettings({}).traffic, ...settings };
    this.router = new SimulatedTrafficRouter(db);
    this.metrics = new SimulatedMetricsProvider(this.series);
    this.faults = new FaultStore(db);
    this.generator = new TrafficGenerator(this.series, this.settings);
    this.serveRandom = seededRandom(this.settings.seed + 1);
  }

  /** Sends one tick of simulated requests (ending at `now`) to every routed resource. */
  async tick(
    now: number = Date.now(),
    durationMs: number = this.settings.intervalMs,
  ): Promise<TickSummary[]> {
    const [routes, faults] = await Promise.all([
      this.router.routes(),
      this.faults.list(),
    ]);
    return this.generator.tick(routes, faults, now, durationMs);
  }

  /**
   * Sends the generator's ticks every `interval` until the returned function is called.
   * A tick that fails (the database away) is logged and the next one tries again.
   */
  start(logger: LoggerService): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return; // a slow tick is not stacked on
      running = true;
      this.tick()
        .catch(error =>
          logger.warn(`simulator: a traffic tick failed: ${error}`),
        )
        .finally(() => {
          running = false;
        });
    }, this.settings.intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /**
   * One request to a resource, as a client sends it: the version that serves it, chosen by
   * the resource's routing (headers, cell, weights). Throws `NotFoundError` when the resource
   * is not routed.
   */
  async serve(
    ref: string,
    request: { headers: Record<string, string | undefined>; cell?: string },
  ): Promise<{ version: string; cell?: string }> {
    const route = await this.router.route(ref);
    if (!route) {
      throw new NotFoundError(
        `the simulator routes no traffic to ${ref}: set its routing first`,
      );
    }
    const version = routeRequest(route.routing, request, this.serveRandom());
    return { version, ...(request.cell ? { cell: request.cell } : {}) };
  }
}
