import { Knex } from 'knex';
import { now, readTimestamp } from '../database/time';
import { SchedulingDecision } from './pipeline';

/** A placement decision as stored, with when and how long it took. */
export interface StoredPlacement {
  operationId?: string;
  decidedAt: string;
  durationMs: number;
  decision: SchedulingDecision;
  explanation: string;
  experiment?: { id: string; arm: string };
}

/** A placement decision of an experiment, with the state of the operation that asked for it. */
export interface ExperimentPlacement {
  arm: string;
  /** The cluster chosen; absent for an unschedulable decision. */
  cluster?: string;
  decision: SchedulingDecision;
  operationId?: string;
}

/**
 * The placement decisions (`placement_decisions`), placed or not, each with its explanation:
 * the scheduler records them, `GET .../placement` and experiment outcomes read them.
 */
export class PlacementStore {
  constructor(private readonly db: Knex) {}

  /** Stores a decision, in the caller's transaction when given one. */
  async record(
    db: Knex | Knex.Transaction,
    entry: {
      resource: { uid: string; ref: string };
      operationId: string;
      decision: SchedulingDecision;
      durationMs: number;
    },
  ): Promise<void> {
    const { decision } = entry;
    await db('placement_decisions').insert({
      resource_uid: entry.resource.uid,
      resource_ref: entry.resource.ref,
      operation_id: entry.operationId,
      cluster: decision.selected?.cluster ?? null,
      provider: decision.selected?.provider ?? null,
      experiment: decision.experiment?.id ?? null,
      arm: decision.experiment?.arm ?? null,
      decision: JSON.stringify(decision),
      explanation: decision.explanation,
      duration_ms: entry.durationMs,
      created_at: now(),
    });
  }

  /** The newest decision about a resource incarnation. */
  async latest(resourceUid: string): Promise<StoredPlacement | undefined> {
    const row = await this.db('placement_decisions')
      .where('resource_uid', resourceUid)
      .orderBy('id', 'desc')
      .first();
    if (!row) return undefined;
    return {
      ...(row.operation_id ? { operationId: row.operation_id } : {}),
      decidedAt: readTimestamp(row.created_at),
      durationMs: Number(row.duration_ms),
      decision: JSON.parse(row.decision),
      explanation: row.explanation,
      ...(row.experiment
        ? { experiment: { id: row.experiment, arm: row.arm } }
        : {}),
    };
  }

  /** The decisions taken in an experiment, placed or not. */
  async ofExperiment(experiment: string): Promise<ExperimentPlacement[]> {
    const rows = await this.db('placement_decisions')
      .where('experiment', experiment)
      .select('arm', 'cluster', 'decision', 'operation_id');
    return rows.map(row => ({
      arm: row.arm,
      ...(row.cluster ? { cluster: row.cluster } : {}),
      decision: JSON.parse(row.decision),
      ...(row.operation_id ? { operationId: row.operation_id } : {}),
    }));
  }
}
