import { Knex } from 'knex';
import { isPostgres } from '../database/migrations';
import { Claim, ClaimHealth } from './logic';

type Db = Knex | Knex.Transaction;

const num = (v: unknown) =>
  v === null || v === undefined ? undefined : Number(v);

function claimFromRow(row: any): Claim {
  return {
    cluster: row.cluster,
    uid: row.uid,
    ref: row.ref,
    namespace: row.namespace,
    name: row.name,
    product: row.product,
    tier: row.tier,
    owner: row.owner,
    provider: row.provider,
    cell: row.cell,
    region: row.region,
    zones: JSON.parse(row.zones),
    params: JSON.parse(row.params),
    generation: Number(row.generation),
    version: row.version,
    primaryZone: row.primary_zone ?? undefined,
    secretVersion: Number(row.secret_version),
    health: row.health as ClaimHealth,
    healthMessage: row.health_message ?? undefined,
    healthChangedAt: num(row.health_changed_at),
    revision: Number(row.revision),
    driftedAt: num(row.drifted_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    readyAt: Number(row.ready_at),
    deletingAt: num(row.deleting_at),
    absentAt: num(row.absent_at),
  };
}

function rowFromClaim(claim: Claim) {
  return {
    cluster: claim.cluster,
    uid: claim.uid,
    ref: claim.ref,
    namespace: claim.namespace,
    name: claim.name,
    product: claim.product,
    tier: claim.tier,
    owner: claim.owner,
    provider: claim.provider,
    cell: claim.cell,
    region: claim.region,
    zones: JSON.stringify(claim.zones),
    params: JSON.stringify(claim.params),
    generation: claim.generation,
    version: claim.version,
    primary_zone: claim.primaryZone ?? null,
    secret_version: claim.secretVersion,
    health: claim.health,
    health_message: claim.healthMessage ?? null,
    health_changed_at: claim.healthChangedAt ?? null,
    revision: claim.revision,
    drifted_at: claim.driftedAt ?? null,
    created_at: claim.createdAt,
    updated_at: claim.updatedAt,
    ready_at: claim.readyAt,
    deleting_at: claim.deletingAt ?? null,
    absent_at: claim.absentAt ?? null,
  };
}

/** An endpoint opened by `configureNetworking`. */
export interface NetworkingRecord {
  cluster: string;
  uid: string;
  ref: string;
  host: string;
  port: number;
  createdAt: number;
}

/** A DNS record published by `registerDns`. */
export interface DnsRecord {
  hostname: string;
  ref: string;
  uid: string;
  cluster: string;
  target: string;
  createdAt: number;
  updatedAt: number;
}

/** A backup taken by the backup operation. */
export interface BackupRecord {
  id: string;
  ref: string;
  uid: string;
  cluster: string;
  operationId: string;
  label?: string;
  sizeGi: number;
  createdAt: number;
}

/** What exists in the simulated clouds: claims, endpoints, DNS records and backups. */
export class ObjectStore {
  constructor(private readonly db: Knex) {}

  // ── claims ─────────────────────────────────────────────────────────────────────────

  /** The claim of a resource incarnation on a cluster, locked for the transaction on PostgreSQL. */
  async getClaim(
    db: Db,
    cluster: string,
    uid: string,
    options: { lock?: boolean } = {},
  ): Promise<Claim | undefined> {
    const row = await db('simulator_claims')
      .where({ cluster, uid })
      .modify(q => {
        if (options.lock && isPostgres(this.db)) q.forUpdate();
      })
      .first();
    return row ? claimFromRow(row) : undefined;
  }

  /** Every claim of a resource ref (there are two while it migrates), locked on PostgreSQL. */
  async claimsOf(
    db: Db,
    ref: string,
    options: { cluster?: string; lock?: boolean } = {},
  ): Promise<Claim[]> {
    const rows = await db('simulator_claims')
      .where({ ref })
      .modify(q => {
        if (options.cluster) q.andWhere({ cluster: options.cluster });
        if (options.lock && isPostgres(this.db)) q.forUpdate();
      })
      .orderBy(['cluster', 'uid']);
    return rows.map(claimFromRow);
  }

  async listClaims(ref?: string): Promise<Claim[]> {
    const rows = await this.db('simulator_claims')
      .modify(q => {
        if (ref) q.where({ ref });
      })
      .orderBy(['ref', 'cluster', 'uid']);
    return rows.map(claimFromRow);
  }

  /** Creates or replaces a claim (race-free: an insert that merges on conflict). */
  async putClaim(db: Db, claim: Claim): Promise<void> {
    const row = rowFromClaim(claim);
    await db('simulator_claims')
      .insert(row)
      .onConflict(['cluster', 'uid'])
      .merge(Object.keys(row).filter(k => k !== 'cluster' && k !== 'uid'));
  }

  // ── networking ─────────────────────────────────────────────────────────────────────

  async putNetworking(db: Db, record: NetworkingRecord): Promise<void> {
    await db('simulator_networking')
      .insert({
        cluster: record.cluster,
        uid: record.uid,
        ref: record.ref,
        host: record.host,
        port: record.port,
        created_at: record.createdAt,
      })
      .onConflict(['cluster', 'uid'])
      .merge(['ref', 'host', 'port']);
  }

  /** Removes an endpoint; whether there was one. */
  async removeNetworking(
    db: Db,
    cluster: string,
    uid: string,
  ): Promise<boolean> {
    return (
      (await db('simulator_networking').where({ cluster, uid }).delete()) > 0
    );
  }

  async listNetworking(ref?: string): Promise<NetworkingRecord[]> {
    const rows = await this.db('simulator_networking')
      .modify(q => {
        if (ref) q.where({ ref });
      })
      .orderBy(['ref', 'cluster']);
    return rows.map((r: any) => ({
      cluster: r.cluster,
      uid: r.uid,
      ref: r.ref,
      host: r.host,
      port: Number(r.port),
      createdAt: Number(r.created_at),
    }));
  }

  // ── DNS ────────────────────────────────────────────────────────────────────────────

  async putDnsRecord(db: Db, record: DnsRecord): Promise<void> {
    await db('simulator_dns_records')
      .insert({
        hostname: record.hostname,
        ref: record.ref,
        uid: record.uid,
        cluster: record.cluster,
        target: record.target,
        created_at: record.createdAt,
        updated_at: record.updatedAt,
      })
      .onConflict(['hostname'])
      .merge(['ref', 'uid', 'cluster', 'target', 'updated_at']);
  }

  /** Removes a record if it points at the cluster; whether it did. */
  async removeDnsRecord(
    db: Db,
    hostname: string,
    cluster: string,
  ): Promise<boolean> {
    return (
      (await db('simulator_dns_records')
        .where({ hostname, cluster })
        .delete()) > 0
    );
  }

  async listDnsRecords(ref?: string): Promise<DnsRecord[]> {
    const rows = await this.db('simulator_dns_records')
      .modify(q => {
        if (ref) q.where({ ref });
      })
      .orderBy('hostname');
    return rows.map((r: any) => ({
      hostname: r.hostname,
      ref: r.ref,
      uid: r.uid,
      cluster: r.cluster,
      target: r.target,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  // ── backups ────────────────────────────────────────────────────────────────────────

  async addBackup(db: Db, backup: BackupRecord): Promise<void> {
    await db('simulator_backups').insert({
      id: backup.id,
      ref: backup.ref,
      uid: backup.uid,
      cluster: backup.cluster,
      operation_id: backup.operationId,
      label: backup.label ?? null,
      size_gi: backup.sizeGi,
      created_at: backup.createdAt,
    });
  }

  /** A backup of a resource: by id, or the newest one an operation took. */
  async findBackup(
    db: Db,
    ref: string,
    by: { id: string } | { operationId: string },
  ): Promise<BackupRecord | undefined> {
    const row = await db('simulator_backups')
      .where({ ref })
      .andWhere('id' in by ? { id: by.id } : { operation_id: by.operationId })
      .orderBy('created_at', 'desc')
      .first();
    return row ? backupFromRow(row) : undefined;
  }

  async listBackups(ref?: string): Promise<BackupRecord[]> {
    const rows = await this.db('simulator_backups')
      .modify(q => {
        if (ref) q.where({ ref });
      })
      .orderBy(['ref', 'created_at']);
    return rows.map(backupFromRow);
  }
}

function backupFromRow(row: any): BackupRecord {
  return {
    id: row.id,
    ref: row.ref,
    uid: row.uid,
    cluster: row.cluster,
    operationId: row.operation_id,
    label: row.label ?? undefined,
    sizeGi: Number(row.size_gi),
    createdAt: Number(row.created_at),
  };
}
