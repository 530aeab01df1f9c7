import { createHash, randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { FaultSpec, SimulatorAction, SimulatorFault } from '../config';
import { isPostgres } from '../database/migrations';

function faultFromRow(row: any): SimulatorFault {
  const fault: SimulatorFault = {
    id: row.id,
    kind: row.kind,
    source: row.source,
    createdAt: DateTime.fromMillis(Number(row.created_at), {
      zone: 'utc',
    }).toISO()!,
  };
  if (row.provider !== null) fault.provider = row.provider;
  if (row.cluster !== null) fault.cluster = row.cluster;
  if (row.step !== null) fault.step = row.step;
  if (row.action !== null) fault.action = row.action as SimulatorAction;
  if (row.ref !== null) fault.ref = row.ref;
  if (row.rate !== null) fault.rate = Number(row.rate);
  if (row.delay_ms !== null) fault.delayMs = Number(row.delay_ms);
  if (row.remaining !== null) fault.remaining = Number(row.remaining);
  if (row.message !== null) fault.message = row.message;
  if (row.version !== null) fault.version = row.version;
  if (row.leak_ms_per_minute !== null) {
    fault.leakMsPerMinute = Number(row.leak_ms_per_minute);
  }
  return fault;
}

function rowOf(id: string, source: string, spec: FaultSpec, now: number) {
  return {
    id,
    kind: spec.kind,
    source,
    provider: spec.provider ?? null,
    cluster: spec.cluster ?? null,
    step: spec.step ?? null,
    action: spec.action ?? null,
    ref: spec.ref ?? null,
    rate: spec.rate ?? null,
    delay_ms: spec.delayMs ?? null,
    remaining: spec.remaining ?? null,
    message: spec.message ?? null,
    version: spec.version ?? null,
    leak_ms_per_minute: spec.leakMsPerMinute ?? null,
    created_at: now,
  };
}

/** A stable id for the n-th fault of config, so every replica installs the same rows. */
function configFaultId(index: number, spec: FaultSpec): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([index, Object.entries(spec).sort()]))
    .digest('hex');
  return `config-${digest.slice(0, 16)}`;
}

/** The faults in force, in the database so every replica sees the same ones. */
export class FaultStore {
  constructor(private readonly db: Knex) {}

  async list(): Promise<SimulatorFault[]> {
    const rows = await this.db('simulator_faults').orderBy([
      'created_at',
      'id',
    ]);
    return rows.map(faultFromRow);
  }

  async add(spec: FaultSpec): Promise<SimulatorFault> {
    const id = `fault-${randomBytes(6).toString('hex')}`;
    await this.db('simulator_faults').insert(
      rowOf(id, 'api', spec, DateTime.now().toMillis()),
    );
    return (await this.get(id))!;
  }

  async get(id: string): Promise<SimulatorFault | undefined> {
    const row = await this.db('simulator_faults').where({ id }).first();
    return row ? faultFromRow(row) : undefined;
  }

  /** Replaces every fault (both sources) with these. */
  async replaceAll(specs: FaultSpec[]): Promise<SimulatorFault[]> {
    await this.db.transaction(async trx => {
      await this.lock(trx);
      await trx('simulator_faults').delete();
      // One millisecond apart, so they list in the order given.
      const now = DateTime.now().toMillis();
      for (const [i, spec] of specs.entries()) {
        await trx('simulator_faults').insert(
          rowOf(
            `fault-${randomBytes(6).toString('hex')}`,
            'api',
            spec,
            now + i,
          ),
        );
      }
    });
    return this.list();
  }

  /**
   * Installs the faults of config: those no longer in config go, new ones come; one still in
   * config keeps its row (and what is left of its count), so a restart does not re-arm it.
   */
  async installConfigFaults(specs: FaultSpec[]): Promise<void> {
    const now = DateTime.now().toMillis();
    const rows = specs.map((spec, i) =>
      rowOf(configFaultId(i, spec), 'config', spec, now + i),
    );
    await this.db.transaction(async trx => {
      await this.lock(trx);
      await trx('simulator_faults')
        .where({ source: 'config' })
        .whereNotIn(
          'id',
          rows.map(r => r.id),
        )
        .delete();
      for (const row of rows) {
        await trx('simulator_faults').insert(row).onConflict('id').ignore();
      }
    });
  }

  /** Lifts one fault; whether it was there. */
  async remove(id: string): Promise<boolean> {
    return (await this.db('simulator_faults').where({ id }).delete()) > 0;
  }

  /** Lifts every fault; how many there were. */
  async removeAll(): Promise<number> {
    return this.db('simulator_faults').delete();
  }

  /**
   * Takes one failure of a counted fault; false when another call (of any replica) took the
   * last one. A fault that fails until lifted always fires.
   */
  async consume(fault: SimulatorFault): Promise<boolean> {
    if (fault.remaining === undefined) return true;
    const changed = await this.db('simulator_faults')
      .where({ id: fault.id })
      .andWhere('remaining', '>', 0)
      .decrement('remaining', 1);
    return changed > 0;
  }

  /** Serialises writers of the whole set on PostgreSQL (SQLite serialises writers anyway). */
  private async lock(trx: Knex.Transaction) {
    if (isPostgres(this.db)) {
      await trx.raw('LOCK TABLE simulator_faults IN SHARE ROW EXCLUSIVE MODE');
    }
  }
}

/** A fault in one line, for the log. */
export function describeFault(fault: SimulatorFault): string {
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
    fault.version && `version=${fault.version}`,
    fault.leakMsPerMinute !== undefined &&
      `leak=${fault.leakMsPerMinute}ms/min`,
  ];
  return parts.filter(Boolean).join(' ');
}
