import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { Mutex } from '../gitops/mutex';
import { ReconcileCandidate } from '../resources/ResourceStore';
import {
  DriftDetector,
  DriftDetectorOptions,
  DriftResult,
} from './DriftDetector';
import { nextOperation, ReconcileFacts } from './nextOperation';
import { startOperation } from './startOperation';

export type { DriftPolicy } from './drift';
export type { DriftResult } from './DriftDetector';

export type ReconcilerOptions = DriftDetectorOptions & {
  /**
   * The deployment an update of this resource calls for (its version changed), if any: the
   * reconciler then starts it instead of the update.
   */
  deploymentFor?(resource: ReconcileCandidate): object | undefined;
  /** Creates a deployment and its deploy operation; the operation's id. */
  startDeployment?(
    trx: Knex.Transaction,
    resource: ReconcileCandidate,
    plan: object,
    reason: string,
  ): Promise<string>;
};

export interface PassResult {
  started: { ref: string; type: string; operationId: string }[];
}

/**
 * Compares desired state with observed state and starts the operations that close the
 * difference: it reads what may need work, decides for each resource with
 * {@link nextOperation} (pure), and starts what that says. A pass reads only resources whose
 * state or generation says there is work, and none with an operation in flight (a converged
 * pass writes nothing). Drift checks ({@link DriftDetector}) run under the same lock.
 */
export class Reconciler {
  private readonly mutex = new Mutex();
  private readonly drift: DriftDetector;

  constructor(private readonly options: ReconcilerOptions) {
    this.drift = new DriftDetector(options);
  }

  pass(): Promise<PassResult> {
    return this.mutex.run(() => this.passLocked());
  }

  /**
   * Asks the drivers what actually runs, for READY and DEGRADED resources (`limit` at a time,
   * taking up where the previous check stopped, so that every resource is checked in turn
   * however many there are), and records drift: a structured diff of the parameters, an audit
   * event, a condition, an event. Under the `correct` policy an update puts the desired state
   * back; under `warn` it is only reported, once for as long as the drift stays the same. A
   * resource that stopped (or recovered) being healthy moves between READY and DEGRADED. A
   * pass that finds nothing new writes nothing.
   */
  detectDrift(limit = 200): Promise<DriftResult> {
    return this.mutex.run(async () => {
      // What runs on each cluster, rendered for a GitOps tool first (no commit when nothing
      // changed), so that the checks read its verdict on the latest render.
      await this.options.delivery?.render();
      return this.drift.check(limit);
    });
  }

  private async passLocked(): Promise<PassResult> {
    const { resources, operations, logger } = this.options;
    const candidates = await resources.toReconcile(
      operations.inFlightResourceUids(),
    );
    const started: PassResult['started'] = [];
    if (candidates.length === 0) return { started };

    const facts = await this.factsFor(candidates);
    for (const resource of candidates) {
      const next = nextOperation(facts(resource));
      if (next.action === 'nothing') continue;
      if (next.action === 'wait') {
        logger.debug(`waits: ${next.reason}`, { resourceRef: resource.ref });
        continue;
      }
      const plan =
        next.action === 'update'
          ? this.options.deploymentFor?.(resource)
          : undefined;
      const start = this.options.startDeployment;
      const type = plan && start ? 'deploy' : next.action;
      const id = await startOperation(this.options, resource, {
        type,
        reason: next.reason,
        ...(plan && start
          ? { create: trx => start(trx, resource, plan, next.reason) }
          : {}),
      });
      if (id) {
        started.push({ ref: resource.ref, type, operationId: id });
      }
    }
    if (started.length > 0) this.options.wake();
    return { started };
  }

  /**
   * What {@link nextOperation} needs to know of each candidate: the states of the resources
   * they depend on, and what still depends on those being deleted.
   */
  private async factsFor(
    candidates: ReconcileCandidate[],
  ): Promise<(resource: ReconcileCandidate) => ReconcileFacts> {
    const { resources } = this.options;
    const live = await resources.getLiveMany([
      ...new Set(candidates.flatMap(r => r.spec.dependsOn ?? [])),
    ]);
    const dependencies = new Map(live.map(r => [r.ref, r.status.state]));
    const dependents = await resources.dependentsOf(
      candidates.filter(r => r.status.state === 'DELETING').map(r => r.ref),
    );
    const now = DateTime.utc();
    return resource => ({
      resource: {
        state: resource.status.state,
        generation: resource.status.generation,
        observedGeneration: resource.status.observedGeneration,
        failedGeneration: resource.failedGeneration,
        dependsOn: resource.spec.dependsOn ?? [],
        desiredBy: resource.desiredBy,
      },
      dependencies,
      dependents: dependents.get(resource.ref) ?? [],
      now,
    });
  }
}
