import { ConflictError, InputError, NotAllowedError } from '@backstage/errors';
import {
  defaultRollout,
  Deployment,
  DeploymentAction,
  DeploymentStrategy,
  resourceVersionOf,
  RolloutSpec,
  versionEntrySchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditLog } from '../audit/AuditLog';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { OperationStore } from '../operations/OperationStore';
import { ResourceRecord } from '../resources/ResourceStore';
import { DeploymentRecord, DeploymentStore } from './DeploymentStore';
import { DeploymentPlan, planDeployment } from './plan';

/** The rollout a resource gets: its own, else its webapp `strategy`, else the defaults. */
export function rolloutOf(
  resource: ResourceRecord,
  params: Record<string, unknown>,
): RolloutSpec {
  if (resource.spec.rollout) return resource.spec.rollout as RolloutSpec;
  const strategy = params.strategy as DeploymentStrategy | undefined;
  const defaults = defaultRollout(resource.spec.product, resource.spec.tier);
  return strategy && strategy !== defaults.strategy ? { strategy } : defaults;
}

/**
 * The plan of the deployment a change of a resource's spec calls for: when the version it
 * asks for differs from the one running. Undefined for any other change (an update does it).
 */
export function deploymentPlanFor(
  resource: ResourceRecord,
): DeploymentPlan | undefined {
  const from = resource.status.version;
  const params = resource.spec.params ?? {};
  const to = resourceVersionOf(params);
  if (!from || !to || from === to) return undefined;
  return planDeployment({
    rollout: rolloutOf(resource, params),
    fromVersion: from,
    toVersion: to,
    cell: resource.spec.cell,
    // a webapp runs 2 replicas unless it says otherwise
    replicas: Number(params.replicas ?? 2) || 1,
  });
}

const versionEntries = z.array(versionEntrySchema);

/** Starts deployments, and what people do to them. */
export class DeploymentService {
  constructor(
    private readonly o: {
      db: Knex;
      deployments: DeploymentStore;
      operations: OperationStore;
      audit: AuditLog;
      events: ResourceEventStore;
      wake(): void;
    },
  ) {}

  /**
   * Creates the deploy operation and its deployment, in the caller's transaction: the
   * reconciler's, which started it because the version asked for changed.
   */
  async start(
    trx: Knex.Transaction,
    resource: ResourceRecord,
    plan: DeploymentPlan,
    cause: { actor: string; reason: string },
  ): Promise<string> {
    const deploymentId = randomUUID();
    // Who asked for the version: the author of the commit that made it desired, as audited.
    const author = resource.status.commit
      ? await trx('audit_events')
          .where({ commit_sha: resource.status.commit })
          .whereNot('actor', 'control-plane')
          .orderBy('id', 'desc')
          .first('actor')
      : undefined;
    const actor = (author?.actor as string | undefined) ?? cause.actor;
    const operationId = await this.o.operations.create(
      {
        resourceUid: resource.uid,
        resourceRef: resource.ref,
        type: 'deploy',
        params: { deploymentId, plan },
        actor,
        reason: cause.reason,
        targetGeneration: resource.status.generation,
      },
      trx,
    );
    await this.o.deployments.insert(trx, {
      id: deploymentId,
      resourceUid: resource.uid,
      resourceRef: resource.ref,
      operationId,
      generation: resource.status.generation,
      plan,
      actor,
    });
    await this.o.events.append(
      {
        ref: resource.ref,
        uid: resource.uid,
        type: 'deployment.started',
        operationId,
        message: `${plan.strategy} deployment ${plan.fromVersion} → ${plan.toVersion}`,
        data: { deploymentId },
      },
      trx,
    );
    return operationId;
  }

  /**
   * Promote (skip the pause in progress; `full`: every remaining step), pause, resume, abort
   * (roll back to the stable version) or approve (as a member of the step's group). Audited.
   */
  async act(
    d: DeploymentRecord,
    action: DeploymentAction,
    who: { actor: string; groups: string[] },
    options: { full?: boolean; reason?: string } = {},
  ): Promise<DeploymentRecord> {
    const updated = await this.o.deployments.control(d.id, (control, now) => {
      const step = now.plan.steps[now.currentStep];
      switch (action) {
        case 'promote':
          if (options.full) control.full = true;
          else control.promoted = [...control.promoted, now.currentStep];
          control.paused = false;
          break;
        case 'pause':
          control.paused = true;
          break;
        case 'resume':
          if (!control.paused && now.phase !== 'Paused') {
            throw new ConflictError(`deployment ${d.id} is not paused`);
          }
          control.paused = false;
          break;
        case 'abort':
          control.aborted = true;
          control.abortedBy = who.actor;
          break;
        case 'approve': {
          if (step?.kind !== 'approval') {
            throw new ConflictError(
              `deployment ${d.id} awaits no approval (its step ${
                now.currentStep
              } is ${step?.kind ?? 'none'})`,
            );
          }
          const group = step.group!.includes(':')
            ? step.group!.toLocaleLowerCase('en-US')
            : `group:default/${step.group!.toLocaleLowerCase('en-US')}`;
          if (!who.groups.includes(group)) {
            throw new NotAllowedError(
              `only a member of ${group} may approve this step`,
            );
          }
          control.approvals = [
            ...control.approvals.filter(a => a.step !== now.currentStep),
            {
              step: now.currentStep,
              by: who.actor,
              at: new Date().toISOString(),
            },
          ];
          break;
        }
        default:
          throw new InputError(`unknown action ${action}`);
      }
    });
    if (action === 'abort') {
      await this.o.operations.requestCancel(d.operationId, who.actor);
    }
    await this.o.audit.append({
      actor: who.actor,
      action: `deployment.${action}`,
      target: d.resourceRef,
      outcome: 'succeeded',
      reason: `deployment ${d.id}${
        options.reason ? `: ${options.reason}` : ''
      }`,
    });
    await this.o.events.append({
      ref: d.resourceRef,
      uid: d.resourceUid,
      type: `deployment.${action}`,
      operationId: d.operationId,
      message: `${action} by ${who.actor}`,
      data: { deploymentId: d.id },
    });
    this.o.events.announce([d.resourceRef]);
    this.o.wake();
    return updated;
  }

  /** Which version runs where, with the deployment in progress. */
  async versions(
    resources: ResourceRecord[],
  ): Promise<z.infer<typeof versionEntries>> {
    const running = new Map(
      (await this.o.deployments.running(resources.map(r => r.uid))).map(d => [
        d.resourceUid,
        d,
      ]),
    );
    return resources.map(r => {
      const d = running.get(r.uid);
      return {
        resourceRef: r.ref,
        product: r.spec.product,
        ...(r.spec.component ? { component: r.spec.component } : {}),
        cell: r.status.placement?.cell ?? r.spec.cell,
        ...(r.status.placement?.provider
          ? { provider: r.status.placement.provider }
          : {}),
        ...(r.status.placement?.cluster
          ? { cluster: r.status.placement.cluster }
          : {}),
        ...(r.status.version ? { version: r.status.version } : {}),
        ...(d
          ? {
              deploying: {
                id: d.id,
                toVersion: d.plan.toVersion,
                canaryWeight: d.weights.canary,
              },
            }
          : {}),
      };
    });
  }

  view(d: DeploymentRecord, withSamples = true): Promise<Deployment> {
    return this.o.deployments.view(d, { withSamples });
  }
}
