import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  createExperimentRequestSchema,
  Experiment,
  ScoreWeights,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { now, readTimestamp } from '../database/time';
import { isUniqueViolation, sha256 } from '../database/util';
import { ResourceStore } from '../resources/ResourceStore';
import { OperationStore } from '../operations/OperationStore';
import { PlacementStore } from './PlacementStore';
import { ExperimentAssigner } from './experiments';

/** Where the flag that turns experiments off in a cell or tier is read (the feature flags). */
export interface PlacementFlags {
  evaluate(
    name: 'placement.experiments',
    at: { cell?: string; tier?: string },
  ): Promise<boolean>;
}

/** The name of the placements of an experiment outside every arm. */
export const CONTROL_ARM = 'control';

type Arm = z.output<typeof createExperimentRequestSchema>['arms'][number];

/**
 * The arm a resource's placements take in an experiment: its uid hashed with the
 * experiment's name gives a point in [0, 100); the arms take consecutive slices of their
 * percent, in order, and the rest is the control. Pure and deterministic: a resource keeps
 * its arm across retries, replicas and restarts, and two experiments split independently.
 */
export function assignArm(
  experiment: string,
  arms: Pick<Arm, 'name' | 'percent'>[],
  uid: string,
): string {
  const point =
    (parseInt(sha256(`${experiment}:${uid}`).slice(0, 8), 16) / 0x100000000) *
    100;
  let upTo = 0;
  for (const arm of arms) {
    upTo += arm.percent;
    if (point < upTo) return arm.name;
  }
  return CONTROL_ARM;
}

interface Row {
  name: string;
  description: string | null;
  status: 'running' | 'stopped';
  arms: string;
  scope: string;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
}

/** How an operation ends when it did not succeed (cancelled is not a failure). */
const FAILED_OPERATION_STATES = new Set([
  'failed',
  'compensated',
  'needs-attention',
]);

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * A/B experiments on scoring policies: each running experiment sends a share of the
 * placements in its scope through other score weights. The arm of every placement is
 * recorded with its decision (`placement_decisions.experiment`, `.arm`), and the outcomes
 * per arm come from those decisions, their operations and the resources' transitions.
 */
export class ExperimentStore implements ExperimentAssigner {
  constructor(
    private readonly options: {
      db: Knex;
      placements: PlacementStore;
      resources: ResourceStore;
      operations: OperationStore;
      /** The feature flags (the flag `placement.experiments` turns experiments off). */
      flags?: PlacementFlags;
    },
  ) {}

  async create(
    request: z.output<typeof createExperimentRequestSchema>,
    actor: string,
  ): Promise<Experiment> {
    const at = now();
    try {
      await this.options.db('experiments').insert({
        name: request.name,
        description: request.description ?? null,
        status: 'running',
        arms: JSON.stringify(request.arms),
        scope: JSON.stringify(request.scope ?? {}),
        created_by: actor,
        created_at: at,
        updated_at: at,
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(
          `experiment ${request.name} already exists; stopped experiments keep their name and outcomes`,
        );
      }
      throw error;
    }
    return this.get(request.name);
  }

  async list(): Promise<Experiment[]> {
    const rows: Row[] = await this.options
      .db('experiments')
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'name' }]);
    return Promise.all(rows.map(r => this.describe(r)));
  }

  async get(name: string): Promise<Experiment> {
    const row: Row | undefined = await this.options
      .db('experiments')
      .where({ name })
      .first();
    if (!row) throw new NotFoundError(`No experiment ${name}`);
    return this.describe(row);
  }

  /** Stops an experiment: later placements keep their tier's weights. */
  async stop(name: string): Promise<Experiment> {
    const at = now();
    const changed = await this.options
      .db('experiments')
      .where({ name, status: 'running' })
      .update({ status: 'stopped', stopped_at: at, updated_at: at });
    if (changed === 0) {
      const current = await this.get(name);
      throw new ConflictError(`experiment ${name} is ${current.status}`);
    }
    return this.get(name);
  }

  /**
   * The arm of a placement: in the oldest running experiment whose scope holds its tier and
   * cell, unless the flag `placement.experiments` is off there.
   */
  async assign(placement: { uid: string; tier: string; cell: string }) {
    const running: Row[] = await this.options
      .db('experiments')
      .where({ status: 'running' })
      .orderBy([{ column: 'created_at' }, { column: 'name' }]);
    const experiment = running.find(r => {
      const scope = JSON.parse(r.scope) as Experiment['scope'];
      return (
        (!scope.tiers || scope.tiers.includes(placement.tier)) &&
        (!scope.cells || scope.cells.includes(placement.cell))
      );
    });
    if (!experiment) return undefined;
    if (
      this.options.flags &&
      !(await this.options.flags.evaluate('placement.experiments', placement))
    ) {
      return undefined;
    }
    const arms = JSON.parse(experiment.arms) as Arm[];
    const arm = assignArm(experiment.name, arms, placement.uid);
    const weights: Partial<ScoreWeights> | undefined = arms.find(
      a => a.name === arm,
    )?.weights;
    return {
      experiment: experiment.name,
      arm,
      ...(weights ? { weights } : {}),
    };
  }

  private async describe(row: Row): Promise<Experiment> {
    const arms = JSON.parse(row.arms) as Arm[];
    return {
      name: row.name,
      ...(row.description ? { description: row.description } : {}),
      status: row.status,
      arms,
      scope: JSON.parse(row.scope),
      createdBy: row.created_by,
      createdAt: readTimestamp(row.created_at),
      updatedAt: readTimestamp(row.updated_at),
      outcomes: await this.outcomes(row.name, [
        CONTROL_ARM,
        ...arms.map(a => a.name),
      ]),
    };
  }

  /**
   * Per arm: its decisions (placed and unschedulable), how many of their operations made the
   * resource READY or failed, the time from an operation's start to READY, and the estimated
   * monthly cost of the clusters chosen.
   */
  private async outcomes(
    experiment: string,
    armNames: string[],
  ): Promise<Experiment['outcomes']> {
    const decisions = await this.options.placements.ofExperiment(experiment);
    const operationIds = [
      ...new Set(
        decisions.flatMap(d => (d.operationId ? [d.operationId] : [])),
      ),
    ];
    const readyAt = await this.options.resources.firstReached(
      'READY',
      operationIds,
    );
    const ops = await this.options.operations.statesOf(operationIds);
    return armNames.map(arm => {
      const mine = decisions.filter(d => d.arm === arm);
      const placed = mine.filter(d => d.cluster);
      const operations = new Map<string | undefined, (typeof mine)[number]>();
      for (const d of placed) operations.set(d.operationId, d);
      const times = [...operations.values()]
        .filter(
          d =>
            d.operationId &&
            readyAt.has(d.operationId) &&
            ops.has(d.operationId),
        )
        .map(d =>
          DateTime.fromISO(readyAt.get(d.operationId!)!)
            .diff(DateTime.fromISO(ops.get(d.operationId!)!.createdAt))
            .toMillis(),
        )
        .sort((a, b) => a - b);
      const costs = placed.map(
        d =>
          d.decision.candidates.find(c => c.cluster === d.cluster)
            ?.monthlyCost ?? 0,
      );
      const total = costs.reduce((a, b) => a + b, 0);
      return {
        arm,
        placements: placed.length,
        unschedulable: mine.length - placed.length,
        ready: times.length,
        failed: [...operations.values()].filter(d =>
          FAILED_OPERATION_STATES.has(
            ops.get(d.operationId ?? '')?.state ?? '',
          ),
        ).length,
        ...(times.length
          ? {
              timeToReadyMs: {
                mean: Math.round(
                  times.reduce((a, b) => a + b, 0) / times.length,
                ),
                p50: times[Math.floor((times.length - 1) / 2)],
                max: times[times.length - 1],
              },
            }
          : {}),
        monthlyCost: {
          total: round(total),
          mean: placed.length ? round(total / placed.length) : 0,
        },
      };
    });
  }
}
