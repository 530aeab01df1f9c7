import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  builtinProducts,
  OperationType,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlaneDriver,
  DriverCallContext,
  DriverCapabilities,
  DriverError,
  DriverResource,
  DriverStepInfo,
  DriverTarget,
  ObservedPhase,
  ObservedResource,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { createHash, randomBytes } from 'node:crypto';
import {
  parseFaultInput,
  parseFaultsConfig,
  readSimulatorSettings,
  resolveSettings,
  SimulatorAction,
  SimulatorDuration,
  SimulatorFault,
  SimulatorFaultInput,
  SimulatorFaultsConfig,
  SimulatorSettings,
} from './config';
import { migrateUp } from './database/migrations';
import { FaultStore } from './simulation/FaultStore';
import {
  backupSizeGi,
  Claim,
  ClaimHealth,
  claimAfterApply,
  compareVersions,
  dataBytes,
  endpointOf,
  FaultVerdict,
  hostnameOf,
  isLive,
  judgeCall,
  observationOf,
  phaseAt,
  stepFailuresBefore,
  stepOf,
} from './simulation/logic';
import { ObjectStore } from './simulation/ObjectStore';
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
 * A simulated resource, as `GET /simulator/state` lists it.
 * @public
 */
export interface SimulatedClaim {
  /** The resource, `resource:<namespace>/<name>`. */
  ref: string;
  /** The resource incarnation. */
  uid: string;
  /** The cell it runs in. */
  cell: string;
  /** The provider of its cluster. */
  provider: string;
  /** The cluster it runs on. */
  cluster: string;
  /** The product, e.g. `mysql`. */
  product: string;
  /** What `observe` reports now. */
  phase: ObservedPhase;
  /** The parameters as applied (or as drifted). */
  params: Record<string, unknown>;
  /** The generation last applied. */
  generation: number;
  /** The running version: the product's version parameter, or `1`. */
  version: string;
  /** Changes applied to it: each apply, delete, restore, failover or rotation counts one. */
  revision: number;
  /** Set through the admin API; `observe` reports it once provisioned. */
  health: 'healthy' | 'degraded' | 'failed';
  /** The zone of the primary, moved by a failover. */
  primaryZone?: string;
  /** The version of its credentials, raised by a rotation. */
  secretVersion: number;
  /** Where it answers. */
  endpoint: { host: string; port: number };
  /** When its parameters were last changed out of band. */
  driftedAt?: string;
  /** When it was created. */
  createdAt: string;
  /** When its last provisioning ended (or will end). */
  readyAt: string;
}

/**
 * Everything the simulated clouds hold.
 * @public
 */
export interface SimulatorState {
  /** Always true: nothing here exists in a real cloud. */
  simulated: true;
  /** The driver id. */
  driver: 'simulated';
  /** Provisioning times and latencies, in milliseconds. */
  settings: {
    provisioningMs: number;
    deprovisioningMs: number;
    latencyMs: Record<string, number>;
  };
  /** The resources that exist (absent ones are left out). */
  claims: SimulatedClaim[];
  /** Endpoints opened to consumers. */
  networking: Array<{
    ref: string;
    cluster: string;
    host: string;
    port: number;
    createdAt: string;
  }>;
  /** DNS records, each pointing at one cluster. */
  dnsRecords: Array<{
    hostname: string;
    ref: string;
    cluster: string;
    target: string;
    updatedAt: string;
  }>;
  /** Backups taken. */
  backups: Array<{
    id: string;
    ref: string;
    cluster: string;
    sizeGi: number;
    label?: string;
    createdAt: string;
  }>;
  /** The faults in force. */
  faults: SimulatorFault[];
  /** Side effects applied, per idempotency token. */
  sideEffects: SimulatorSideEffects;
}

/**
 * Which claims an out-of-band change is about: a resource ref, optionally one cluster.
 * @public
 */
export interface SimulatedClaimSelector {
  /** `resource:<namespace>/<name>` */
  ref: string;
  /** Only the claim on this cluster; every live claim of the ref when left out. */
  cluster?: string;
}

const iso = (ms: number) => DateTime.fromMillis(ms, { zone: 'utc' }).toISO()!;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const capabilities: DriverCapabilities = {
  products: Object.keys(builtinProducts),
  operations: Object.fromEntries(
    Object.entries(builtinProducts).map(([id, spec]) => [
      id,
      [...spec.operations],
    ]),
  ),
};

const failure = (message: string, code = 'SimulatedFailure') =>
  new DriverError(message, { retryable: false, code });

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
      await migrateUp(options.database);
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
    private readonly random: () => number,
  ) {
    this.objects = new ObjectStore(db);
    this.faultStore = new FaultStore(db);
    this.effects = new SideEffectLog(db);
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
    return capabilities;
  }

  /** Checks the product is one the simulator offers; no side effect. */
  async plan(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void> {
    await this.enter('plan', resource.ref, target, ctx);
    this.checkProduct(resource);
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
    return this.sideEffect('apply', resource, target, ctx, async (trx, now) => {
      this.checkProduct(resource);
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
    });
  }

  /** What runs on the target: its phase, parameters as applied, version and endpoint. */
  async observe(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource> {
    const verdict = await this.enter('observe', resource.ref, target, ctx);
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
    await this.sideEffect('delete', resource, target, ctx, async (trx, now) => {
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
    });
  }

  /** Opens an endpoint for a running resource; returns it. */
  async configureNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ host: string; port: number }> {
    return this.sideEffect(
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
    await this.sideEffect(
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
    return this.sideEffect(
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
    await this.sideEffect('deregisterDns', resource, target, ctx, async trx => {
      // Only the record pointing here: after a migration it points at the new cluster.
      await this.objects.removeDnsRecord(
        trx,
        hostnameOf(resource),
        target.cluster,
      );
      return null;
    });
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
    const { type, step, params } = operation;
    return this.sideEffect(
      'runOperation',
      resource,
      target,
      ctx,
      async (trx, now) => {
        this.checkProduct(resource);
        if (!capabilities.operations[resource.product]?.includes(type)) {
          throw failure(
            `the simulated ${resource.product} does not support ${type}`,
            'UnsupportedOperation',
          );
        }
        const claim = await this.liveClaim(trx, resource, target, now);
        const put = (changes: Partial<Claim>) =>
          this.objects.putClaim(trx, {
            ...claim,
            ...changes,
            revision: claim.revision + 1,
            updatedAt: now,
          });

        switch (`${type}/${step}`) {
          case 'backup/snapshot': {
            const backupId = `bkp-${randomBytes(6).toString('hex')}`;
            const label =
              typeof params.label === 'string' ? params.label : undefined;
            const sizeGi = backupSizeGi(claim.params);
            await this.objects.addBackup(trx, {
              id: backupId,
              ref: resource.ref,
              uid: resource.uid,
              cluster: target.cluster,
              operationId: ctx.operationId,
              label,
              sizeGi,
              createdAt: now,
            });
            return {
              backupId,
              sizeGi,
              completedAt: iso(now),
              ...(label ? { label } : {}),
            };
          }
          case 'backup/verify_backup': {
            const backup = await this.objects.findBackup(trx, resource.ref, {
              operationId: ctx.operationId,
            });
            if (!backup) {
              throw failure(
                `operation ${ctx.operationId} took no backup of ${resource.ref} to verify`,
                'BackupNotFound',
              );
            }
            return {
              backupId: backup.id,
              verified: true,
              sizeGi: backup.sizeGi,
              checksum: `sha256:${createHash('sha256')
                .update(backup.id)
                .digest('hex')}`,
            };
          }
          case 'restore/validate_backup':
          case 'restore/restore_data': {
            const backupId = String(params.backupId ?? '');
            const backup = await this.objects.findBackup(trx, resource.ref, {
              id: backupId,
            });
            if (!backup) {
              throw failure(
                `backup ${backupId || '(none given)'} does not exist for ${
                  resource.ref
                }`,
                'BackupNotFound',
              );
            }
            if (step === 'validate_backup') {
              return {
                backupId,
                valid: true,
                sizeGi: backup.sizeGi,
                takenAt: iso(backup.createdAt),
              };
            }
            // Restoring takes the resource through provisioning again.
            await put({ readyAt: now + this.settings.provisioningMs });
            return {
              backupId,
              restoredAt: iso(now),
              bytesRestored: backup.sizeGi * 1024 ** 3,
              ...(typeof params.pointInTime === 'string'
                ? { pointInTime: params.pointInTime }
                : {}),
            };
          }
          case 'failover/promote_replica': {
            const replicas = Number(claim.params.replicas ?? 0);
            if (replicas < 1 && claim.params.highAvailability !== true) {
              throw failure(
                `${resource.ref} has no replica or standby to promote`,
                'NoReplica',
              );
            }
            const wanted =
              typeof params.targetZone === 'string'
                ? params.targetZone
                : undefined;
            if (wanted && !claim.zones.includes(wanted)) {
              throw failure(
                `zone ${wanted} is not one of ${
                  target.cluster
                }'s zones (${claim.zones.join(', ')})`,
                'UnknownZone',
              );
            }
            const previousZone = claim.primaryZone ?? claim.zones[0];
            const promotedZone =
              wanted ??
              claim.zones.find(z => z !== previousZone) ??
              previousZone;
            // The promoted replica is healthy, whatever ailed the old primary.
            await put({
              primaryZone: promotedZone,
              health: 'healthy',
              healthMessage: undefined,
              healthChangedAt: now,
            });
            return { promotedZone, previousZone, promotedAt: iso(now) };
          }
          case 'rotate-credentials/rotate': {
            const secretVersion = claim.secretVersion + 1;
            await put({ secretVersion });
            return { secretVersion, rotatedAt: iso(now) };
          }
          case 'rotate-credentials/restart_consumers':
            return {
              secretVersion: claim.secretVersion,
              restartedAt: iso(now),
            };
          case 'upgrade-version/precheck': {
            const to = String(params.version ?? '');
            if (!to) throw failure('precheck needs params.version');
            if ((compareVersions(to, claim.version) ?? 0) < 0) {
              throw failure(
                `cannot downgrade ${resource.ref} from ${claim.version} to ${to}`,
                'Downgrade',
              );
            }
            return { compatible: true, from: claim.version, to };
          }
          case 'migrate/sync_data': {
            const source = params.source as { cluster?: string } | undefined;
            if (!source?.cluster) {
              throw failure('sync_data needs params.source.cluster');
            }
            const from = await this.objects.getClaim(
              trx,
              source.cluster,
              resource.uid,
            );
            if (!from || !isLive(from, now)) {
              throw failure(
                `${resource.ref} does not run on ${source.cluster}: nothing to copy`,
                'NotFound',
              );
            }
            return {
              bytesCopied: dataBytes(from.params),
              source: source.cluster,
              target: target.cluster,
              completedAt: iso(now),
            };
          }
          default:
            throw failure(
              `the simulator has no step ${step} for ${type}`,
              'UnsupportedOperation',
            );
        }
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
        throw failure(message);
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
    const changed = await this.changeLiveClaims(selector, (claim, now) => {
      const next: Record<string, unknown> = { ...claim.params };
      for (const [key, value] of Object.entries(params)) {
        if (value === null) delete next[key];
        else next[key] = value;
      }
      return { params: next, driftedAt: now };
    });
    this.logger.info(
      `simulator: drifted ${selector.ref} on ${changed
        .map(c => c.cluster)
        .join(', ')}: ${Object.keys(params).join(', ')}`,
    );
    return changed;
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
    const health: ClaimHealth = phase === 'ready' ? 'healthy' : phase;
    const changed = await this.changeLiveClaims(selector, (_claim, now) => ({
      health,
      healthMessage: message,
      healthChangedAt: now,
    }));
    this.logger.info(
      `simulator: ${selector.ref} is now ${phase} on ${changed
        .map(c => c.cluster)
        .join(', ')}`,
    );
    return changed;
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
    return {
      simulated: true,
      driver: 'simulated',
      settings: this.timings(),
      claims: claims
        .filter(c => phaseAt(c, now) !== 'absent')
        .map(c => publicClaim(c, now)),
      networking: networking.map(n => ({
        ref: n.ref,
        cluster: n.cluster,
        host: n.host,
        port: n.port,
        createdAt: iso(n.createdAt),
      })),
      dnsRecords: dnsRecords.map(d => ({
        hostname: d.hostname,
        ref: d.ref,
        cluster: d.cluster,
        target: d.target,
        updatedAt: iso(d.updatedAt),
      })),
      backups: backups.map(b => ({
        id: b.id,
        ref: b.ref,
        cluster: b.cluster,
        sizeGi: b.sizeGi,
        ...(b.label ? { label: b.label } : {}),
        createdAt: iso(b.createdAt),
      })),
      faults,
      sideEffects,
    };
  }

  // ── internals ──────────────────────────────────────────────────────────────────────

  /**
   * What every call goes through: the provider's latency and slow steps, then outages, the
   * error rate and failures at a step. Returns the verdict, with `failure` set when a step
   * failure hit an `observe` (which reports it rather than throwing).
   */
  private async enter(
    action: SimulatorAction,
    ref: string,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<FaultVerdict & { failure?: string }> {
    ctx.signal?.throwIfAborted();
    const step = stepOf(ctx.idempotencyToken);
    const { provider, cluster } = target;
    const verdict = judgeCall(await this.faultStore.list(), {
      action,
      provider,
      cluster,
      ref,
      step,
    });
    const delay =
      (this.settings.latencyMs[provider] ??
        this.settings.latencyMs.default ??
        0) + verdict.delayMs;
    if (delay > 0) await sleep(delay, ctx.signal);

    if (verdict.outage) {
      throw new DriverError(
        verdict.outage.message ??
          (verdict.outage.kind === 'provider-outage'
            ? `simulated outage of provider ${provider}`
            : `simulated outage of cluster ${cluster}`),
        { retryable: true, code: 'SimulatedOutage' },
      );
    }
    if (verdict.errorRate > 0 && this.random() < verdict.errorRate) {
      throw new DriverError(
        verdict.errorMessage ?? `simulated 503 from ${provider}`,
        { retryable: true, code: 'SimulatedUnavailable' },
      );
    }
    for (const fault of verdict.stepFailures) {
      if (await this.faultStore.consume(fault)) {
        const message =
          fault.message ??
          `simulated failure of ${action}${
            step ? ` at step ${step}` : ''
          } on ${cluster}`;
        ctx.logger?.info(`simulator: injected failure: ${message}`, {
          faultId: fault.id,
        });
        if (action === 'observe') return { ...verdict, failure: message };
        throw failure(message);
      }
    }
    return verdict;
  }

  /** Runs a side effect once per token (see SideEffectLog). */
  private async sideEffect<T>(
    action: SimulatorAction,
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
    effect: (trx: Knex.Transaction, now: number) => Promise<T>,
    detail?: string,
  ): Promise<T> {
    const verdict = await this.enter(action, resource.ref, target, ctx);
    const outcome = await this.effects.once(
      {
        token: ctx.idempotencyToken,
        action,
        detail,
        cluster: target.cluster,
        ref: resource.ref,
      },
      effect,
    );
    if (outcome.firstRef) {
      ctx.logger?.warn(
        `simulator: token ${ctx.idempotencyToken} was first used for ${outcome.firstRef}, now for ${resource.ref}; answering with the first result`,
      );
    }
    ctx.logger?.debug(
      `simulator: ${action}${detail ? ` ${detail}` : ''} of ${
        resource.ref
      } on ${target.cluster} ${
        outcome.replayed ? 'replayed from the log' : 'applied'
      }`,
      { idempotencyToken: ctx.idempotencyToken },
    );
    if (
      verdict.lostResponseRate > 0 &&
      this.random() < verdict.lostResponseRate
    ) {
      throw new DriverError(
        `simulated timeout from ${target.provider}: the ${action} was applied but its answer was lost`,
        { retryable: true, code: 'SimulatedTimeout' },
      );
    }
    return outcome.result;
  }

  private checkProduct(resource: DriverResource) {
    if (!capabilities.products.includes(resource.product)) {
      throw failure(
        `the simulator offers no product ${resource.product}`,
        'UnsupportedProduct',
      );
    }
  }

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
      throw failure(
        `${resource.ref} does not run on ${target.cluster}`,
        'NotFound',
      );
    }
    return claim;
  }

  private async changeLiveClaims(
    selector: SimulatedClaimSelector,
    change: (claim: Claim, now: number) => Partial<Claim>,
  ): Promise<SimulatedClaim[]> {
    const changed = await this.db.transaction(async trx => {
      const now = DateTime.now().toMillis();
      const claims = (
        await this.objects.claimsOf(trx, selector.ref, {
          cluster: selector.cluster,
          lock: true,
        })
      ).filter(c => isLive(c, now));
      const result: Claim[] = [];
      for (const claim of claims) {
        const next = { ...claim, ...change(claim, now) };
        await this.objects.putClaim(trx, next);
        result.push(next);
      }
      return { claims: result, now };
    });
    if (changed.claims.length === 0) {
      throw new NotFoundError(
        `nothing of ${selector.ref} runs${
          selector.cluster ? ` on ${selector.cluster}` : ''
        } in the simulator`,
      );
    }
    return changed.claims.map(c => publicClaim(c, changed.now));
  }
}

function publicClaim(claim: Claim, now: number): SimulatedClaim {
  return {
    ref: claim.ref,
    uid: claim.uid,
    cell: claim.cell,
    provider: claim.provider,
    cluster: claim.cluster,
    product: claim.product,
    phase: phaseAt(claim, now),
    params: claim.params,
    generation: claim.generation,
    version: claim.version,
    revision: claim.revision,
    health: claim.health,
    ...(claim.primaryZone ? { primaryZone: claim.primaryZone } : {}),
    secretVersion: claim.secretVersion,
    endpoint: endpointOf(claim),
    ...(claim.driftedAt ? { driftedAt: iso(claim.driftedAt) } : {}),
    createdAt: iso(claim.createdAt),
    readyAt: iso(claim.readyAt),
  };
}

function describeFault(fault: SimulatorFault): string {
  const parts = [
    fault.kind,
    fault.provider && `provider=${fault.provider}`,
    fault.cluster && `cluster=${fault.cluster}`,
    fault.step && `step=${fault.step}`,
    fault.action && `action=${fault.action}`,
    fault.ref && `ref=${fault.ref}`,
    fault.rate !== undefined && `rate=${fault.rate}`,
    fault.delayMs !== undefined && `delay=${fault.delayMs}ms`,
    fault.remaining !== undefined && `times=${fault.remaining}`,
  ];
  return parts.filter(Boolean).join(' ');
}
