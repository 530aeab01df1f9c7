import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import { OperationType } from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlaneDriver,
  DriverCallContext,
  DriverCapabilities,
  DriverResource,
  DriverStepInfo,
  DriverTarget,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import {
  parseFaultInput,
  parseFaultsConfig,
  readSimulatorSettings,
  resolveSettings,
  SimulatorDuration,
  SimulatorFault,
  SimulatorFaultInput,
  SimulatorFaultsConfig,
  SimulatorSettings,
} from './config';
import { migrateUpOnce } from './database/migrations';
import {
  SimulatedClaim,
  SimulatedClaimSelector,
  SimulatorState,
  simulatorState,
} from './SimulatorState';
import { simulatedApisInUse } from './clusters/workloadApis';
import { CallGate } from './simulation/CallGate';
import { describeFault, FaultStore } from './simulation/FaultStore';
import {
  Claim,
  claimAfterApply,
  endpointOf,
  hostnameOf,
  isLive,
  observationOf,
  simulatedFailure,
  stepFailuresBefore,
} from './simulation/logic';
import { ObjectStore } from './simulation/ObjectStore';
import {
  checkOperation,
  checkProduct,
  runOperationStep,
  simulatorCapabilities,
} from './simulation/operationSteps';
import { OutOfBandChanges } from './simulation/OutOfBandChanges';
import {
  SideEffectLog,
  SimulatorSideEffects,
} from './simulation/SideEffectLog';

/**
 * How to build a {@link SimulatedDriver} in code (the module reads the same settings from
 * `controlPlane.simulator`).
 * @public
 */
export interface SimulatedDriverOptions {
  /** The database of the control plane plugin; the simulator keeps its `simulator_*` tables there. */
  database: Knex;
  /** Where the simulator says what it does. */
  logger: LoggerService;
  /** How long a new or changed resource provisions. Default 500 ms. */
  provisioningTime?: SimulatorDuration;
  /** How long a deleted resource deprovisions. Default 250 ms. */
  deprovisioningTime?: SimulatorDuration;
  /**
   * Latency of every call, per provider, `default` for the others. Default aws 5 ms,
   * gcp 8 ms, azure 10 ms, oci 12 ms, others 5 ms; given, it replaces all of these.
   */
  latency?: Record<string, SimulatorDuration>;
  /** Faults to install as the faults of config (replacing earlier config faults). */
  faults?: SimulatorFaultsConfig;
  /** Leave the schema alone (someone else migrates it). */
  skipMigrations?: boolean;
  /** The source of chance for error rates; `Math.random` by default. */
  random?: () => number;
}

/**
 * A simulated multicloud: a faithful, persistent fake of the clouds behind the control
 * plane's `simulated` providers. Nothing it "provisions" exists outside its own tables.
 *
 * Resources take time to provision and to go away, every call has a provider's latency, and
 * every side effect is applied once per idempotency token, across processes. Faults (error
 * rates, outages, slow or failing steps, drift, degraded resources) are injected through
 * config, the admin API or the methods below, and shared by every replica through the
 * database.
 *
 * @public
 */
export class SimulatedDriver implements ControlPlaneDriver {
  /** `simulated`, the driver the seeded providers name. */
  readonly id = 'simulated';

  private readonly objects: ObjectStore;
  private readonly faultStore: FaultStore;
  private readonly effects: SideEffectLog;
  private readonly calls: CallGate;
  private readonly outOfBand: OutOfBandChanges;

  /** Builds a driver on a database, migrating the simulator's tables first. */
  static async create(
    options: SimulatedDriverOptions,
  ): Promise<SimulatedDriver> {
    const settings = resolveSettings({
      provisioningTime: options.provisioningTime,
      deprovisioningTime: options.deprovisioningTime,
      latency: options.latency,
      faults: options.faults,
    });
    return SimulatedDriver.open(settings, options);
  }

  /** Builds a driver from `controlPlane.simulator` (see config.d.ts). */
  static async fromConfig(
    config: Config,
    options: Pick<
      SimulatedDriverOptions,
      'database' | 'logger' | 'skipMigrations' | 'random'
    >,
  ): Promise<SimulatedDriver> {
    return SimulatedDriver.open(readSimulatorSettings(config), options);
  }

  private static async open(
    settings: SimulatorSettings,
    options: Pick<
      SimulatedDriverOptions,
      'database' | 'logger' | 'skipMigrations' | 'random'
    >,
  ) {
    if (!options.skipMigrations) {
      await migrateUpOnce(options.database);
    }
    const driver = new SimulatedDriver(
      options.database,
      options.logger,
      settings,
      options.random ?? Math.random,
    );
    if (settings.faults) {
      await driver.faultStore.installConfigFaults(settings.faults);
    }
    return driver;
  }

  private constructor(
    private readonly db: Knex,
    private readonly logger: LoggerService,
    private readonly settings: SimulatorSettings,
    random: () => number,
  ) {
    this.objects = new ObjectStore(db);
    this.faultStore = new FaultStore(db);
    this.effects = new SideEffectLog(db);
    this.outOfBand = new OutOfBandChanges(db, this.objects, logger);
    this.calls = new CallGate(
      this.faultStore,
      this.effects,
      settings.latencyMs,
      random,
    );
  }

  /** How long provisioning and deprovisioning take, and the latency of each provider. */
  timings(): SimulatorState['settings'] {
    return {
      provisioningMs: this.settings.provisioningMs,
      deprovisioningMs: this.settings.deprovisioningMs,
      latencyMs: { ...this.settings.latencyMs },
    };
  }

  // ── the driver contract ────────────────────────────────────────────────────────────

  /** Every built-in product with all its operations. */
  capabilities(): DriverCapabilities {
    return simulatorCapabilities;
  }

  /**
   * The APIs the simulated workload of a resource uses: its product's objects, and those its
   * `simulator.idp-multicloud.io/legacy-api` label adds. No side effect.
   */
  async apisInUse(
    resource: DriverResource,
    _target: DriverTarget,
  ): Promise<string[]> {
    return simulatedApisInUse(resource);
  }

  /** Checks the product is one the simulator offers; no side effect. */
  async plan(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.calls.enter('plan', resource.ref, target, ctx);
    checkProduct(resource);
  }

  /**
   * Creates the resource (it provisions for the provisioning time) or updates it (changed
   * parameters provision again); answers at once with what it observes.
   */
  async apply(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    return this.calls.sideEffect(
      'apply',
      resource,
      target,
      ctx,
      async (trx, now) => {
        checkProduct(resource);
        const existing = await this.objects.getClaim(
          trx,
          target.cluster,
          resource.uid,
          { lock: true },
        );
        const claim = claimAfterApply(
          existing,
          { resource, target },
          now,
          this.settings.provisioningMs,
        );
        await this.objects.putClaim(trx, claim);
        return observationOf(claim, now);
      },
    );
  }

  /** What runs on the target: its phase, parameters as applied, version and endpoint. */
  async observe(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const verdict = await this.calls.enter(
      'observe',
      resource.ref,
      target,
      ctx,
    );
    const claim = await this.objects.getClaim(
      this.db,
      target.cluster,
      resource.uid,
    );
    const observed = observationOf(claim, DateTime.now().toMillis());
    if (verdict.failure) {
      return { ...observed, phase: 'failed', message: verdict.failure };
    }
    return observed;
  }

  /** Deletes the resource: `deleting` for the deprovisioning time, then `absent`. */
  async delete(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.calls.sideEffect(
      'delete',
      resource,
      target,
      ctx,
      async (trx, now) => {
        const claim = await this.objects.getClaim(
          trx,
          target.cluster,
          resource.uid,
          { lock: true },
        );
        if (!claim || !isLive(claim, now)) return null;
        await this.objects.putClaim(trx, {
          ...claim,
          revision: claim.revision + 1,
          updatedAt: now,
          deletingAt: now,
          absentAt: now + this.settings.deprovisioningMs,
        });
        return null;
      },
    );
  }

  /** Opens an endpoint for a running resource; returns it. */
  async configureNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ host: string; port: number }> {
    return this.calls.sideEffect(
      'configureNetworking',
      resource,
      target,
      ctx,
      async (trx, now) => {
        const claim = await this.liveClaim(trx, resource, target, now);
        const endpoint = endpointOf(claim);
        await this.objects.putNetworking(trx, {
          cluster: target.cluster,
          uid: resource.uid,
          ref: resource.ref,
          ...endpoint,
          createdAt: now,
        });
        return endpoint;
      },
    );
  }

  /** Closes the endpoint; closing none succeeds. */
  async removeNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.calls.sideEffect(
      'removeNetworking',
      resource,
      target,
      ctx,
      async trx => {
        await this.objects.removeNetworking(trx, target.cluster, resource.uid);
        return null;
      },
    );
  }

  /** Points the resource's DNS name at this cluster; returns the name. */
  async registerDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ hostname: string }> {
    return this.calls.sideEffect(
      'registerDns',
      resource,
      target,
      ctx,
      async (trx, now) => {
        const claim = await this.liveClaim(trx, resource, target, now);
        const hostname = hostnameOf(resource);
        await this.objects.putDnsRecord(trx, {
          hostname,
          ref: resource.ref,
          uid: resource.uid,
          cluster: target.cluster,
          target: endpointOf(claim).host,
          createdAt: now,
          updatedAt: now,
        });
        return { hostname };
      },
    );
  }

  /** Removes the resource's DNS record if it points at this cluster. */
  async deregisterDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.calls.sideEffect(
      'deregisterDns',
      resource,
      target,
      ctx,
      async trx => {
        // Only the record pointing here: after a migration it points at the new cluster.
        await this.objects.removeDnsRecord(
          trx,
          hostnameOf(resource),
          target.cluster,
        );
        return null;
      },
    );
  }

  /**
   * Runs a step of an operation: backup (`snapshot`, `verify_backup`), restore
   * (`validate_backup`, `restore_data`), failover (`promote_replica`), rotate-credentials
   * (`rotate`, `restart_consumers`), upgrade-version (`precheck`) and migrate (`sync_data`).
   */
  async runOperation(
    operation: {
      type: OperationType;
      step: string;
      params: Record<string, unknown>;
    },
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<Record<string, unknown>> {
    const { type, step } = operation;
    return this.calls.sideEffect(
      'runOperation',
      resource,
      target,
      ctx,
      async (trx, now) => {
        checkProduct(resource);
        checkOperation(resource, type);
        const claim = await this.liveClaim(trx, resource, target, now);
        return runOperationStep(operation, {
          trx,
          objects: this.objects,
          claim,
          resource,
          target,
          ctx,
          now,
          provisioningMs: this.settings.provisioningMs,
        });
      },
      `${type}/${step}`,
    );
  }

  /**
   * Fails a saga step before it runs when a step failure names it (and no driver method,
   * provider or cluster): how a fault is injected at a step that calls no driver, such as
   * `validate`, `schedule` or `notify`.
   */
  async beforeStep(
    step: DriverStepInfo,
    ctx: DriverCallContext,
  ): Promise<void> {
    const faults = stepFailuresBefore(await this.faultStore.list(), step);
    for (const fault of faults) {
      if (await this.faultStore.consume(fault)) {
        const message =
          fault.message ?? `simulated failure at step ${step.step}`;
        ctx.logger?.info(`simulator: injected failure: ${message}`, {
          faultId: fault.id,
        });
        throw simulatedFailure(message);
      }
    }
  }

  // ── faults and out-of-band changes ─────────────────────────────────────────────────

  /** The faults in force. */
  async listFaults(): Promise<SimulatorFault[]> {
    return this.faultStore.list();
  }

  /** Adds one fault; throws `InputError` naming a bad field. */
  async addFault(input: SimulatorFaultInput): Promise<SimulatorFault> {
    const fault = await this.faultStore.add(parseFaultInput(input, InputError));
    this.logger.info(`simulator: fault injected: ${describeFault(fault)}`, {
      faultId: fault.id,
    });
    return fault;
  }

  /** Replaces every fault (those of config too) with these; throws `InputError` naming a bad field. */
  async setFaults(config: SimulatorFaultsConfig): Promise<SimulatorFault[]> {
    const faults = await this.faultStore.replaceAll(
      parseFaultsConfig(config, InputError),
    );
    this.logger.info(
      `simulator: faults replaced: ${
        faults.map(describeFault).join('; ') || 'none'
      }`,
    );
    return faults;
  }

  /** Lifts one fault; throws `NotFoundError` when there is no such fault. */
  async liftFault(id: string): Promise<void> {
    if (!(await this.faultStore.remove(id))) {
      throw new NotFoundError(`no simulator fault ${id}`);
    }
    this.logger.info(`simulator: fault ${id} lifted`);
  }

  /** Lifts every fault; how many there were. */
  async liftAllFaults(): Promise<number> {
    const lifted = await this.faultStore.removeAll();
    this.logger.info(`simulator: all ${lifted} fault(s) lifted`);
    return lifted;
  }

  /**
   * Changes the applied parameters of a resource out of band, as someone editing it in a
   * cloud console would: `observe` reports them from now on. A `null` value removes the
   * parameter. Throws `NotFoundError` when nothing of the resource runs.
   */
  async drift(
    selector: SimulatedClaimSelector,
    params: Record<string, unknown>,
  ): Promise<SimulatedClaim[]> {
    return this.outOfBand.drift(selector, params);
  }

  /**
   * Makes a resource degraded or failed, or recovers it (`ready`), as `observe` will report
   * it once provisioned. Throws `NotFoundError` when nothing of the resource runs.
   */
  async setHealth(
    selector: SimulatedClaimSelector,
    phase: 'ready' | 'degraded' | 'failed',
    message?: string,
  ): Promise<SimulatedClaim[]> {
    return this.outOfBand.setHealth(selector, phase, message);
  }

  // ── inspection ─────────────────────────────────────────────────────────────────────

  /** Side effects applied per token, with totals per action. */
  async sideEffects(
    filter: { tokenPrefix?: string; ref?: string } = {},
  ): Promise<SimulatorSideEffects> {
    return this.effects.summary(filter);
  }

  /** Everything that exists in the simulated clouds, optionally of one resource. */
  async state(filter: { ref?: string } = {}): Promise<SimulatorState> {
    const now = DateTime.now().toMillis();
    const [claims, networking, dnsRecords, backups, faults, sideEffects] =
      await Promise.all([
        this.objects.listClaims(filter.ref),
        this.objects.listNetworking(filter.ref),
        this.objects.listDnsRecords(filter.ref),
        this.objects.listBackups(filter.ref),
        this.faultStore.list(),
        this.effects.summary({ ref: filter.ref }),
      ]);
    return simulatorState(
      {
        settings: this.timings(),
        claims,
        networking,
        dnsRecords,
        backups,
        faults,
        sideEffects,
      },
      now,
    );
  }

  // ── internals ──────────────────────────────────────────────────────────────────────

  private async liveClaim(
    trx: Knex.Transaction,
    resource: DriverResource,
    target: DriverTarget,
    now: number,
  ): Promise<Claim> {
    const claim = await this.objects.getClaim(
      trx,
      target.cluster,
      resource.uid,
      { lock: true },
    );
    if (!claim || !isLive(claim, now)) {
      throw simulatedFailure(
        `${resource.ref} does not run on ${target.cluster}`,
        'NotFound',
      );
    }
    return claim;
  }
}
