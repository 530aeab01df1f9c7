import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  canTransitionDeployment,
  Deployment,
  DeploymentMeasurement,
  DeploymentPhase,
  isDeploymentOver,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { now, readTimestamp } from '../database/time';
import { readJson } from '../database/util';
import { DeploymentPlan } from './plan';

/** Where a step of a deployment stands. */
export interface StepState {
  state: Deployment['steps'][number]['state'];
  startedAt?: string;
  finishedAt?: string;
}

/** What people asked of a running deployment. */
export interface DeploymentControl {
  /** Promotions: a pause step (by index) skipped, or every remaining step (`full`). */
  promoted: number[];
  full?: boolean;
  paused?: boolean;
  /** Someone aborted it: the rollback ends it as Aborted. */
  aborted?: boolean;
  abortedBy?: string;
  approvals: { step: number; by: string; at: string }[];
}

/** A deployment as the saga reads it. */
export interface DeploymentRecord {
  id: string;
  resourceUid: string;
  resourceRef: string;
  operationId: string;
  generation: number;
  phase: DeploymentPhase;
  message?: string;
  currentStep: number;
  plan: DeploymentPlan;
  steps: StepState[];
  weights: Deployment['weights'];
  control: DeploymentControl;
  actor: string;
  startedAt: string;
  endedAt?: string;
}

type Row = {
  id: string;
  resource_uid: string;
  resource_ref: string;
  operation_id: string;
  from_version: string;
  to_version: string;
  generation: string | number;
  strategy: string;
  phase: string;
  message: string | null;
  current_step: number;
  plan: string;
  steps: string;
  weights: string;
  control: string;
  actor: string;
  started_at: string;
  ended_at: string | null;
};

function recordOf(row: Row): DeploymentRecord {
  return {
    id: row.id,
    resourceUid: row.resource_uid,
    resourceRef: row.resource_ref,
    operationId: row.operation_id,
    generation: Number(row.generation),
    phase: row.phase as DeploymentPhase,
    ...(row.message ? { message: row.message } : {}),
    currentStep: row.current_step,
    plan: readJson<DeploymentPlan>(row.plan, undefined as never),
    steps: readJson<StepState[]>(row.steps, []),
    weights: readJson<Deployment['weights']>(row.weights, { canary: 0 }),
    control: readJson<DeploymentControl>(row.control, {
      promoted: [],
      approvals: [],
    }),
    actor: row.actor,
    startedAt: readTimestamp(row.started_at),
    ...(row.ended_at ? { endedAt: readTimestamp(row.ended_at) } : {}),
  };
}

type MeasurementRow = {
  deployment_id: string;
  step: number;
  cell: string;
  idx: number;
  verdict: string;
  metrics: string;
  started_at: string;
  ended_at: string;
};

function measurementOf(
  row: MeasurementRow,
  withSamples: boolean,
): DeploymentMeasurement {
  const metrics = readJson<DeploymentMeasurement['metrics']>(row.metrics, []);
  return {
    step: row.step,
    index: row.idx,
    ...(row.cell ? { cell: row.cell } : {}),
    verdict: row.verdict as DeploymentMeasurement['verdict'],
    metrics: withSamples
      ? metrics
      : metrics.map(m => ({ ...m, canary: [], baseline: [] })),
    startedAt: readTimestamp(row.started_at),
    endedAt: readTimestamp(row.ended_at),
  };
}

/** The deployments table and its measurements. */
export class DeploymentStore {
  constructor(private readonly db: Knex) {}

  /** Records a new deployment (in the transaction that creates its operation). */
  async insert(
    trx: Knex.Transaction,
    d: {
      id: string;
      resourceUid: string;
      resourceRef: string;
      operationId: string;
      generation: number;
      plan: DeploymentPlan;
      actor: string;
    },
  ): Promise<string> {
    const { id } = d;
    const at = now();
    await trx('deployments').insert({
      id,
      resource_uid: d.resourceUid,
      resource_ref: d.resourceRef,
      operation_id: d.operationId,
      from_version: d.plan.fromVersion,
      to_version: d.plan.toVersion,
      generation: d.generation,
      strategy: d.plan.strategy,
      phase: 'Progressing',
      current_step: 0,
      plan: JSON.stringify(d.plan),
      steps: JSON.stringify(d.plan.steps.map(() => ({ state: 'pending' }))),
      weights: JSON.stringify({ canary: 0 }),
      control: JSON.stringify({ promoted: [], approvals: [] }),
      actor: d.actor,
      started_at: at,
      updated_at: at,
    });
    return id;
  }

  async get(id: string, db: Knex = this.db): Promise<DeploymentRecord> {
    const row = await db<Row>('deployments').where({ id }).first();
    if (!row) throw new NotFoundError(`no deployment ${id}`);
    return recordOf(row);
  }

  async byOperation(
    operationId: string,
  ): Promise<DeploymentRecord | undefined> {
    const row = await this.db<Row>('deployments')
      .where({ operation_id: operationId })
      .first();
    return row ? recordOf(row) : undefined;
  }

  /** A resource's deployments, newest first. */
  async forResource(uid: string, limit = 50): Promise<DeploymentRecord[]> {
    const rows = await this.db<Row>('deployments')
      .where({ resource_uid: uid })
      .orderBy('started_at', 'desc')
      .limit(limit);
    return rows.map(recordOf);
  }

  /** The deployments not over, of these resources (or of all). */
  async running(uids?: string[]): Promise<DeploymentRecord[]> {
    const query = this.db<Row>('deployments').whereIn('phase', [
      'Progressing',
      'Paused',
    ]);
    if (uids) query.whereIn('resource_uid', uids);
    return (await query).map(recordOf);
  }

  /**
   * Moves a deployment to `to`, checked against the phase table; a compare-and-set on the
   * phase read. Returns the record as written.
   */
  async transition(
    id: string,
    to: DeploymentPhase,
    patch: { message?: string } = {},
    db: Knex = this.db,
  ): Promise<DeploymentRecord> {
    const current = await this.get(id, db);
    if (current.phase === to) return current;
    if (!canTransitionDeployment(current.phase, to)) {
      throw new ConflictError(
        `deployment ${id} is ${current.phase}; it cannot become ${to}`,
      );
    }
    const at = now();
    const changed = await db('deployments')
      .where({ id, phase: current.phase })
      .update({
        phase: to,
        ...(patch.message !== undefined ? { message: patch.message } : {}),
        ...(isDeploymentOver(to) ? { ended_at: at } : {}),
        updated_at: at,
      });
    if (changed === 0) {
      const moved = await this.get(id, db);
      throw new ConflictError(
        `deployment ${id} moved from ${current.phase} to ${moved.phase} meanwhile`,
      );
    }
    return { ...current, phase: to, ...patch };
  }

  /** Records where the steps stand and the routing in force. */
  async progress(
    id: string,
    update: {
      currentStep?: number;
      step?: { index: number } & StepState;
      weights?: Deployment['weights'];
      message?: string;
    },
    db: Knex = this.db,
  ): Promise<void> {
    const current = await this.get(id, db);
    const steps = [...current.steps];
    if (update.step) {
      const { index, ...state } = update.step;
      steps[index] = { ...steps[index], ...state };
    }
    await db('deployments')
      .where({ id })
      .update({
        ...(update.currentStep !== undefined
          ? { current_step: update.currentStep }
          : {}),
        steps: JSON.stringify(steps),
        ...(update.weights ? { weights: JSON.stringify(update.weights) } : {}),
        ...(update.message !== undefined ? { message: update.message } : {}),
        updated_at: now(),
      });
  }

  /** Changes what people asked, under a row lock; refused once the deployment is over. */
  async control(
    id: string,
    change: (control: DeploymentControl, d: DeploymentRecord) => void,
  ): Promise<DeploymentRecord> {
    return this.db.transaction(async trx => {
      const row = await trx<Row>('deployments')
        .where({ id })
        .forUpdate()
        .first();
      if (!row) throw new NotFoundError(`no deployment ${id}`);
      const d = recordOf(row);
      if (isDeploymentOver(d.phase)) {
        throw new ConflictError(`deployment ${id} is already ${d.phase}`);
      }
      change(d.control, d);
      await trx('deployments')
        .where({ id })
        .update({ control: JSON.stringify(d.control), updated_at: now() });
      // the saga looks again now rather than at its next poll
      await trx('operations')
        .where({ id: d.operationId })
        .whereNull('lease_owner')
        .update({ next_run_at: now() });
      return d;
    });
  }

  /** Records one measurement of an analysis step (again: the same one, unchanged). */
  async recordMeasurement(
    deploymentId: string,
    m: DeploymentMeasurement,
  ): Promise<void> {
    await this.db('deployment_measurements')
      .insert({
        deployment_id: deploymentId,
        step: m.step,
        cell: m.cell ?? '',
        idx: m.index,
        verdict: m.verdict,
        metrics: JSON.stringify(m.metrics),
        started_at: m.startedAt,
        ended_at: m.endedAt,
      })
      .onConflict(['deployment_id', 'step', 'cell', 'idx'])
      .ignore();
  }

  async measurements(
    deploymentId: string,
    options: { step?: number; withSamples?: boolean } = {},
  ): Promise<DeploymentMeasurement[]> {
    const query = this.db<MeasurementRow>('deployment_measurements')
      .where({ deployment_id: deploymentId })
      .orderBy([{ column: 'step' }, { column: 'cell' }, { column: 'idx' }]);
    if (options.step !== undefined) query.where({ step: options.step });
    return (await query).map(r =>
      measurementOf(r, options.withSamples ?? true),
    );
  }

  /** The API's view of a deployment. */
  async view(
    d: DeploymentRecord,
    options: { withSamples?: boolean } = {},
  ): Promise<Deployment> {
    const measurements = await this.measurements(d.id, options);
    const end = d.endedAt ? DateTime.fromISO(d.endedAt) : undefined;
    return {
      id: d.id,
      resourceRef: d.resourceRef,
      operationId: d.operationId,
      fromVersion: d.plan.fromVersion,
      toVersion: d.plan.toVersion,
      generation: d.generation,
      strategy: d.plan.strategy,
      phase: d.phase,
      ...(d.message ? { message: d.message } : {}),
      currentStep: d.currentStep,
      steps: d.plan.steps.map((s, index) => ({
        index,
        kind: s.kind,
        description: s.description,
        ...(s.wave !== undefined ? { wave: s.wave } : {}),
        ...(s.cells ? { cells: s.cells } : {}),
        ...(s.weight !== undefined ? { weight: s.weight } : {}),
        state: d.steps[index]?.state ?? 'pending',
        ...(d.steps[index]?.startedAt
          ? { startedAt: d.steps[index].startedAt }
          : {}),
        ...(d.steps[index]?.finishedAt
          ? { finishedAt: d.steps[index].finishedAt }
          : {}),
      })),
      weights: d.weights,
      ...(d.plan.trafficRouter ? { trafficRouter: d.plan.trafficRouter } : {}),
      ...(d.plan.metricsProvider
        ? { metricsProvider: d.plan.metricsProvider }
        : {}),
      measurements,
      approvals: d.control.approvals,
      actor: d.actor,
      startedAt: d.startedAt,
      ...(d.endedAt ? { endedAt: d.endedAt } : {}),
      ...(end
        ? { durationMs: end.diff(DateTime.fromISO(d.startedAt)).toMillis() }
        : {}),
    };
  }
}
