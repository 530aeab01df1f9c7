import { LoggerService } from '@backstage/backend-plugin-api';
import { ObservedResource } from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { AuditLog } from '../audit/AuditLog';
import { now } from '../database/time';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { DesiredState } from '../gitops/DesiredState';
import { StateIndexer } from '../gitops/StateIndexer';
import { OperationStore } from '../operations/OperationStore';
import { placedDriverView } from '../orchestration/driverAccess';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import {
  compareObserved,
  Drift,
  driftAction,
  driftOutcome,
  DriftPolicy,
  driftPolicyOf,
  healthTransition,
  setCondition,
} from './drift';
import { Delivery, describeVerdict } from '../orchestration/delivery';
import { startOperation } from './startOperation';

export interface DriftDetectorOptions {
  /** Opens the transactions in which a drift is recorded (the stores write in them). */
  db: Knex;
  indexer: StateIndexer;
  resources: ResourceStore;
  operations: OperationStore;
  events: ResourceEventStore;
  audit: AuditLog;
  drivers: DriverRegistry;
  logger: LoggerService;
  /** Starts the engine after operations were created. */
  wake(): void;
  /**
   * The drift policy of a cell (and tier), for its resources that set none (a resource's own
   * policy wins). The control plane reads it from the feature flag `drift.autoCorrect`,
   * then the Cell's `driftPolicy`.
   */
  cellDriftPolicy?(
    cell: string,
    desired: DesiredState,
    tier: string,
  ): DriftPolicy | undefined | Promise<DriftPolicy | undefined>;
  /** Counts drift for metrics. */
  onDrift?(resource: ResourceRecord, fields: string[]): void;
  /**
   * Delivery through a GitOps tool: a resource whose rendered objects the tool reports out of
   * sync (or unhealthy) is not READY.
   */
  delivery?: Delivery;
}

export interface DriftResult {
  checked: number;
  drifted: { ref: string; fields: string[]; corrected: boolean }[];
}

/** What a driver reports of a resource, next to the parameters desired of it. */
interface Observation {
  desired: Record<string, unknown>;
  observed: ObservedResource;
}

/**
 * Drift detection, in steps: take the next batch of resources, ask their drivers what runs
 * ({@link observe}), compare it with the desired parameters (pure), then either follow the
 * resource's health or decide by its drift policy (pure) to correct the drift or only report
 * it, and record it ({@link correctOrReport}). Not safe to run concurrently with itself: the
 * {@link Reconciler} runs it under its lock.
 */
export class DriftDetector {
  /** Where the next check goes on: checks rotate over every resource, by uid. */
  private cursor = '';

  constructor(private readonly options: DriftDetectorOptions) {}

  async check(limit: number): Promise<DriftResult> {
    const desired = await this.options.indexer.current();
    const result: DriftResult = { checked: 0, drifted: [] };
    for (const resource of await this.nextBatch(limit)) {
      const observation = await this.observe(resource, desired);
      if (!observation) continue;
      result.checked += 1;
      const drift = compareObserved(observation.desired, observation.observed);
      if (!drift) {
        await this.followHealth(resource, observation.observed, desired);
        continue;
      }
      const policy = await this.policyFor(resource, desired);
      const previous = resource.status.conditions.find(
        c => c.type === 'Drifted',
      );
      const action = driftAction(policy, drift, previous);
      const corrected =
        action === 'reported-already'
          ? false
          : await this.correctOrReport(resource, drift, policy);
      result.drifted.push({
        ref: resource.ref,
        fields: drift.fields,
        corrected,
      });
    }
    return result;
  }

  /**
   * The next `limit` READY and DEGRADED resources with no operation in flight, taking up where
   * the previous batch stopped and wrapping around to the first, so that every resource is
   * checked in turn however many there are.
   */
  private async nextBatch(limit: number): Promise<ResourceRecord[]> {
    const { resources, operations } = this.options;
    const after = this.cursor;
    const batch = await resources.toCheckForDrift(
      { after },
      limit,
      operations.inFlightResourceUids(),
    );
    if (batch.length < limit && after !== '') {
      // wrapped around: the start of the list, up to where this batch began
      batch.push(
        ...(await resources.toCheckForDrift(
          { through: after },
          limit - batch.length,
          operations.inFlightResourceUids(),
        )),
      );
    }
    this.cursor = batch.length > 0 ? batch[batch.length - 1].uid : '';
    return batch;
  }

  /** The resource's own drift policy, else its cell's (and tier's), else `correct`. */
  private async policyFor(
    resource: ResourceRecord,
    desired: DesiredState,
  ): Promise<DriftPolicy> {
    const own = resource.spec.driftPolicy;
    // the cell's policy (a feature flag lookup) only for a resource that sets none
    const cell = own
      ? undefined
      : await this.options.cellDriftPolicy?.(
          resource.spec.cell,
          desired,
          resource.spec.tier,
        );
    return driftPolicyOf(own, cell);
  }

  /**
   * Asks the resource's driver what runs. `undefined` when it cannot be asked: no driver or
   * cluster for its placement, parameters that do not resolve, or a failed call (logged).
   */
  private async observe(
    resource: ResourceRecord,
    desired: DesiredState,
  ): Promise<Observation | undefined> {
    const { drivers, logger } = this.options;
    const provider = desired.provider(resource.status.placement!.provider);
    const driver = provider && drivers.get(provider.driver);
    if (!driver) return undefined;
    const view = placedDriverView(
      desired,
      resource,
      resource.status.observedGeneration,
    );
    if (!view) return undefined;
    const observed = await driver
      .observe(view.resource, view.target, {
        idempotencyToken: `observe:${resource.uid}`,
        operationId: 'reconciler',
        signal: new AbortController().signal,
        logger,
      })
      .catch(error => {
        logger.warn(`could not observe: ${error}`, {
          resourceRef: resource.ref,
        });
        return undefined;
      });
    return observed && { desired: view.resource.params, observed };
  }

  /**
   * Under `correct`, starts an update that puts the desired state back (unless an operation
   * is in flight or the resource moved on); under `warn`, only reports. Either way records the
   * drift: the `Drifted` condition, an event and an audit event, in one transaction. Whether a
   * correction started.
   */
  private async correctOrReport(
    resource: ResourceRecord,
    drift: Drift,
    policy: DriftPolicy,
  ): Promise<boolean> {
    const corrected = await this.options.db.transaction(async trx => {
      const correcting =
        policy === 'correct' &&
        Boolean(
          await startOperation(
            this.options,
            resource,
            {
              type: 'update',
              reason: `correcting drift in ${drift.fields.join(', ')}`,
            },
            trx,
          ),
        );
      await this.record(trx, resource, drift, policy, correcting);
      return correcting;
    });
    this.options.events.announce([resource.ref]);
    this.options.onDrift?.(resource, drift.fields);
    if (corrected) this.options.wake();
    return corrected;
  }

  private async record(
    trx: Knex.Transaction,
    resource: ResourceRecord,
    drift: Drift,
    policy: DriftPolicy,
    correcting: boolean,
  ) {
    const { fields, diff, message } = drift;
    const { reason, outcome } = driftOutcome(policy, correcting);
    await this.options.resources.updateStatus(trx, resource.uid, {
      conditions: setCondition(
        resource.status.conditions,
        { type: 'Drifted', status: 'True', reason, message },
        now(),
      ),
    });
    await this.options.events.append(
      {
        ref: resource.ref,
        uid: resource.uid,
        type: 'drift.detected',
        message: `drift in ${fields.join(', ')}; ${outcome}`,
        data: { fields, diff, policy, corrected: correcting },
      },
      trx,
    );
    await this.options.audit.append(
      {
        actor: 'control-plane',
        action: 'resource.drift',
        target: resource.ref,
        outcome: 'accepted',
        reason: JSON.stringify({
          fields,
          diff,
          policy,
          corrected: correcting,
        }).slice(0, 2000),
      },
      trx,
    );
  }

  /**
   * A resource that matches its desired state: moves it between READY and DEGRADED as its
   * driver reports it (and, with delivery through a GitOps tool, as the tool reports its
   * rendered objects: out of sync or unhealthy is DEGRADED), and clears a `Drifted` condition.
   * Writes nothing when neither applies.
   */
  private async followHealth(
    resource: ResourceRecord,
    observed: ObservedResource,
    desired: DesiredState,
  ) {
    const { resources } = this.options;
    const delivery = await this.options.delivery?.statusOf(resource, desired);
    const undelivered = delivery && !delivery.inSync;
    const phase =
      undelivered && observed.phase === 'ready' ? 'degraded' : observed.phase;
    const to = healthTransition(resource.status.state, phase);
    const drifted = resource.status.conditions.find(
      c => c.type === 'Drifted' && c.status === 'True',
    );
    if (!to && !drifted) return;
    await this.options.db.transaction(async trx => {
      if (to) {
        await resources.transition(
          resource.uid,
          resource.status.state,
          to,
          {
            actor: 'control-plane',
            reason: undelivered
              ? describeVerdict({ status: delivery })
              : observed.message ?? `the driver reports it ${observed.phase}`,
          },
          trx,
        );
      }
      if (drifted) {
        await resources.updateStatus(trx, resource.uid, {
          conditions: setCondition(
            resource.status.conditions,
            {
              type: 'Drifted',
              status: 'False',
              reason: 'Converged',
              message: 'matches the desired state',
            },
            now(),
          ),
        });
      }
    });
    this.options.events.announce([resource.ref]);
  }
}
