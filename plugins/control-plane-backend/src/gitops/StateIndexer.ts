import { LoggerService } from '@backstage/backend-plugin-api';
import {
  GitopsStatus,
  keyForPath,
  Manifest,
  manifestKey,
  ObjectKey,
  ProductSpec,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { AuditAnchor, AuditEntry, AuditLog, storable } from '../audit/AuditLog';
import { isDatabaseUnavailable } from '../database/availability';
import { now, readTimestamp } from '../database/time';
import {
  chunked,
  digestOf,
  isUniqueViolation,
  readJson,
} from '../database/util';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { DesiredState, validateChange } from './DesiredState';
import { CommitInfo, GitStateRepo } from './GitStateRepo';
import { keyString, parseManifestFile } from './manifestCodec';
import {
  DefinitionImpact,
  breakingFindingsOf,
  breaksResources,
  definitionImpacts,
  migrationGuide,
} from './migrationGuide';
import { Mutex } from './mutex';
import { storageShrinkIssues } from './storage';
import { actorOf, auditEntryOf, clip, TRAILERS } from './commits';
import { DEFAULT_YAML_LIMITS } from './yaml';

/** A failure's message, for a rejection. */
function messageOf(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}

/** A breaking change of a product definition a sync applied, acknowledged by its commit. */
export interface SyncBreaking {
  impact: DefinitionImpact;
  commit: string;
  /** Who made it: the caller of the API, or the unverified author of a commit pushed by hand. */
  actor: string;
}

export type SyncResult =
  | { status: 'in-sync'; commit: string | undefined }
  | {
      status: 'indexed';
      commit: string;
      from: string | undefined;
      /** Breaking changes of product definitions the new commits made. */
      breaking?: SyncBreaking[];
    }
  | { status: 'rejected'; commit: string; errors: string[] };

type DesiredRow = {
  kind: string;
  namespace: string;
  name: string;
  manifest: string;
  digest: string;
  generation: string | number;
  commit_sha: string;
};

/**
 * Keeps the database's index of desired state equal to the state repository's head.
 *
 * A new head is validated as a whole: when every manifest parses and the change keeps the
 * desired state consistent, the index takes it in one transaction (objects, resource rows,
 * the commits with their trailers, their audit events, and the indexed commit, moved by
 * compare-and-set so concurrent replicas cannot both apply it). Otherwise the head is
 * recorded as rejected and nothing of it is applied; the index stays at the last valid commit.
 */
export class StateIndexer {
  private readonly mutex = new Mutex();
  private cached: DesiredState | undefined;
  private readonly listeners = new Set<(result: SyncResult) => void>();

  constructor(
    private readonly options: {
      db: Knex;
      repo: GitStateRepo;
      resources: ResourceStore;
      events: ResourceEventStore;
      audit: AuditLog;
      logger: LoggerService;
      moduleProducts?: ReadonlyMap<string, ProductSpec>;
    },
  ) {}

  /** Calls `listener` after every sync that indexed a new commit. */
  onIndexed(listener: (result: SyncResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The newest indexed commit that each actor made under each Idempotency-Key since `since`,
   * by `JSON.stringify([actor, key])`: crash recovery for a change whose commit landed before
   * its answer was stored (see CommandService). One query for a batch's keys.
   */
  async commitsByKeys(
    keys: { actor: string; key: string }[],
    since: DateTime,
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const part of chunked(keys, 200)) {
      const rows = await this.options
        .db('state_changes')
        .whereIn(
          ['actor', 'idempotency_key'],
          part.map(k => [k.actor, k.key]),
        )
        .andWhere('indexed_at', '>=', since.toISO()!)
        .orderBy('indexed_at', 'desc')
        .select('actor', 'idempotency_key', 'commit_sha');
      for (const row of rows) {
        const id = JSON.stringify([row.actor, row.idempotency_key]);
        if (!found.has(id)) found.set(id, row.commit_sha);
      }
    }
    return found;
  }

  /**
   * Where the audit chain stood at each commit the control plane made (signed), in the
   * history of the indexed commit, from their `Audit-Head` trailers: {@link AuditLog.verify}
   * checks that each commit's own event and each anchored event are still there, unchanged.
   * Hand-pushed commits are no anchors: their trailers say whatever the pusher wrote.
   */
  async *auditAnchors(): AsyncGenerator<AuditAnchor> {
    const commit = await this.indexedCommit();
    if (!commit) return;
    for (const info of await this.options.repo.log(undefined, commit)) {
      if (!info.signed) continue;
      const match = /^(\d+) ([0-9a-f]{64})$/.exec(
        info.trailers[TRAILERS.auditHead] ?? '',
      );
      yield {
        commit: info.sha,
        ...(match ? { head: { id: Number(match[1]), hash: match[2] } } : {}),
      };
    }
  }

  async indexedCommit(
    db: Knex | Knex.Transaction = this.options.db,
  ): Promise<string | undefined> {
    const row = await db('state_repo_sync').where({ id: 1 }).first();
    return row?.indexed_commit ?? undefined;
  }

  /** The desired state at the indexed commit (cached until the index moves). */
  async current(): Promise<DesiredState> {
    return this.stateAt(await this.indexedCommit());
  }

  /**
   * The desired state this replica last indexed or read, without asking the database
   * whether another replica moved the index since: for a pre-check whose change is
   * validated again when it is committed.
   */
  async lastKnown(): Promise<DesiredState> {
    return this.cached ?? this.current();
  }

  /** The desired state at `commit`, the indexed commit just read. */
  private async stateAt(commit: string | undefined): Promise<DesiredState> {
    if (this.cached && this.cached.commit === commit) {
      return this.cached;
    }
    const rows = await this.options.db<DesiredRow>('desired_objects');
    this.cached = DesiredState.create(
      commit,
      rows.map(r => JSON.parse(r.manifest) as Manifest),
      this.options.moduleProducts,
    );
    return this.cached;
  }

  /** Brings the index up to the repository's head. Safe to call at any time, from anywhere. */
  sync(): Promise<SyncResult> {
    return this.mutex.run(() => this.syncLocked());
  }

  private async syncLocked(): Promise<SyncResult> {
    const { repo, db, logger } = this.options;
    await repo.refresh();
    const head = await repo.head();
    // The head this replica indexed last: nothing to read. (Another replica may since have
    // indexed a head this one has not fetched yet; then this sync ran just before it.)
    if (head !== undefined && head === this.cached?.commit) {
      return { status: 'in-sync', commit: head };
    }
    const indexed = await this.indexedCommit();
    if (!head || head === indexed) {
      return { status: 'in-sync', commit: indexed };
    }
    const known = await db('state_repo_rejections')
      .where({ commit_sha: head })
      .first();
    if (known) {
      return {
        status: 'rejected',
        commit: head,
        errors: readJson(known.errors, []),
      };
    }

    const commits =
      indexed && (await repo.isAncestor(indexed, head))
        ? await repo.log(indexed, head)
        : await repo.log(undefined, head);
    const headCommit = commits[commits.length - 1];
    const refuse = async (errors: string[]): Promise<SyncResult> => {
      await this.reject(head, headCommit, errors);
      logger.warn(`state repository head ${head} rejected`, {
        errors: errors.join('; '),
      });
      return { status: 'rejected', commit: head, errors };
    };

    // Anything that goes wrong reading the head is a rejection of it, never an error of
    // every later sync (and of every API change, which syncs first).
    let checked;
    try {
      checked = await this.check(head, indexed, commits);
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      return refuse([`the head could not be indexed: ${messageOf(error)}`]);
    }
    if (checked.errors.length > 0) {
      return refuse(checked.errors);
    }
    const { after, changed, removed } = checked;

    const touchedRefs: string[] = [];
    let applied: boolean;
    try {
      applied = await this.apply({
        head,
        indexed,
        headCommit,
        commits,
        changed,
        removed,
        attribution: checked.attribution,
        touchedRefs,
        breaking: checked.breaking,
      });
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      touchedRefs.length = 0;
      return refuse([`the head could not be applied: ${messageOf(error)}`]);
    }
    if (!applied) {
      return { status: 'in-sync', commit: await this.indexedCommit() };
    }
    this.cached = after;
    this.options.events.announce(touchedRefs);
    const result: SyncResult = {
      status: 'indexed',
      commit: head,
      from: indexed,
      ...(checked.breaking.length > 0 ? { breaking: checked.breaking } : {}),
    };
    logger.info(`indexed state repository at ${head}`, {
      from: indexed ?? 'empty',
      changed: changed.length,
      removed: removed.length,
    });
    for (const listener of this.listeners) listener(result);
    return result;
  }

  /**
   * Reads and validates what `head` changes from the indexed state: only the files that
   * differ between the two trees are read and parsed (every file, when nothing is indexed
   * yet), and the change is validated against the state it makes. Files over the size limit
   * are not read.
   */
  private async check(
    head: string,
    indexed: string | undefined,
    commits: CommitInfo[] = [],
  ) {
    const { repo } = this.options;
    const before = await this.stateAt(indexed);
    const diff = (await repo.changesBetween(before.commit, head)).filter(
      change => keyForPath(change.path), // READMEs and other files are not desired state
    );
    const { contents, tooLarge } = await repo.readBlobs(
      diff.flatMap(change => (change.blob ? [change.blob] : [])),
      DEFAULT_YAML_LIMITS.maxBytes,
    );
    const errors: string[] = [];
    const puts = new Map<string, { path: string; manifest: Manifest }>();
    const gone = new Map<string, ObjectKey>();
    /** The commit each object was last changed by, when known: by key string. */
    const attribution = new Map<string, string>();
    for (const { path, blob, commit } of diff) {
      const key = keyForPath(path)!;
      if (commit) attribution.set(keyString(key), commit);
      if (!blob) {
        gone.set(keyString(key), key);
        continue;
      }
      const size = tooLarge.get(blob);
      if (size !== undefined) {
        errors.push(
          `${path}: too large: ${size} bytes, at most ${DEFAULT_YAML_LIMITS.maxBytes}`,
        );
        continue;
      }
      const parsed = parseManifestFile(path, contents.get(blob)!);
      if (!parsed.ok) {
        errors.push(...parsed.issues.map(i => `${i.path}: ${i.message}`));
        continue;
      }
      const other = puts.get(keyString(key));
      if (other) {
        errors.push(
          `${path}: declares ${keyString(key)}, which ${
            other.path
          } declares too`,
        );
      }
      puts.set(keyString(key), { path, manifest: parsed.manifest });
    }
    // `x.yaml` and `x.yml` declare the same object: the one changed must be the only one.
    errors.push(...(await this.declaredTwice(head, before.commit, diff, puts)));

    const changed: { key: ObjectKey; manifest: Manifest; digest: string }[] =
      [];
    for (const { manifest } of puts.values()) {
      const key = manifestKey(manifest);
      const digest = digestOf(manifest);
      const old = before.get(key.kind, key.name, key.namespace);
      if (!old || digestOf(old) !== digest) {
        changed.push({ key, manifest, digest });
      }
    }
    const removed = [...gone]
      .filter(([k, key]) => !puts.has(k) && before.has(key))
      .map(([, key]) => key);
    const after = before.with(
      changed.map(c => c.manifest),
      removed,
      head,
    );

    if (errors.length === 0) {
      errors.push(
        ...[
          ...validateChange(
            after,
            changed.map(c => c.key),
            removed,
          ),
          ...storageShrinkIssues(
            before,
            after,
            changed.map(c => c.key),
          ),
        ].map(i => `${keyString(i.key)} ${i.path}: ${i.message}`),
      );
    }
    // A breaking change of a product definition needs its acknowledgement, in the commit
    // that made it (the API writes it when the caller acknowledged; by hand, a trailer).
    const breaking: SyncBreaking[] = [];
    if (errors.length === 0) {
      const bySha = new Map(commits.map(c => [c.sha, c]));
      for (const impact of definitionImpacts(
        before,
        after,
        changed.map(c => c.key),
        removed,
      )) {
        if (!breaksResources(impact)) continue;
        const key = impact.source;
        const commit = bySha.get(attribution.get(keyString(key)) ?? head);
        const acknowledges = (c: CommitInfo | undefined) =>
          c?.trailers[TRAILERS.breakingChange] === 'acknowledged';
        // a merge (a pull request merged on GitHub) carries the acknowledgement of the
        // commits it brings in
        const acknowledged =
          acknowledges(commit) ||
          (!!commit && commit.parents.length > 1 && commits.some(acknowledges));
        if (!acknowledged) {
          errors.push(
            `${keyString(key)}: breaking change${
              impact.findings.filter(f => f.breaking).length === 1 ? '' : 's'
            } (${breakingFindingsOf(impact)}) affecting ${
              impact.affected.resources.length
            } resource(s) without acknowledgement: add the trailer "${
              TRAILERS.breakingChange
            }: acknowledged" to the commit that makes it, or apply it through the API with acknowledgeBreaking`,
          );
          continue;
        }
        breaking.push({
          impact,
          commit: commit!.sha,
          actor: actorOf(commit!),
        });
      }
    }
    return { errors, after, changed, removed, attribution, breaking, before };
  }

  /**
   * The objects a change declares in a file whose other spelling (`.yaml`, `.yml`) also
   * declares them at `head`.
   */
  private async declaredTwice(
    head: string,
    from: string | undefined,
    diff: { path: string; blob?: string }[],
    puts: Map<string, { path: string }>,
  ): Promise<string[]> {
    // Nothing indexed yet: every file is in the diff, and was checked above.
    if (!from) return [];
    const inDiff = new Set(diff.map(c => c.path));
    const twins = new Map<string, string>();
    for (const { path } of puts.values()) {
      const twin = path.endsWith('.yaml')
        ? path.replace(/\.yaml$/, '.yml')
        : path.replace(/\.yml$/, '.yaml');
      if (!inDiff.has(twin)) twins.set(twin, path);
    }
    const errors: string[] = [];
    for (const twin of await this.options.repo.existing(head, [
      ...twins.keys(),
    ])) {
      errors.push(`${twins.get(twin)}: declares the same object as ${twin}`);
    }
    return errors;
  }

  /** Applies a checked head to the index in one transaction; false when another replica did. */
  private async apply({
    head,
    indexed,
    headCommit,
    commits,
    changed,
    removed,
    attribution,
    touchedRefs,
    breaking = [],
  }: {
    head: string;
    indexed: string | undefined;
    headCommit: CommitInfo;
    commits: CommitInfo[];
    changed: { key: ObjectKey; manifest: Manifest; digest: string }[];
    removed: ObjectKey[];
    attribution: Map<string, string>;
    breaking?: SyncBreaking[];
    touchedRefs: string[];
  }): Promise<boolean> {
    const { db } = this.options;
    return db.transaction(async trx => {
      const move = () =>
        trx('state_repo_sync')
          .where({ id: 1 })
          .andWhere(qb =>
            indexed
              ? qb.where('indexed_commit', indexed)
              : qb.whereNull('indexed_commit'),
          )
          .update({ indexed_commit: head, updated_at: now() });
      let moved = await move();
      if (!moved && !indexed) {
        // nothing indexed yet, maybe not even the row: made once, by whichever replica first
        await trx('state_repo_sync')
          .insert({ id: 1, indexed_commit: null, updated_at: now() })
          .onConflict('id')
          .ignore();
        moved = await move();
      }
      if (!moved) {
        return false; // another replica indexed it first
      }
      // Each object is the change of the commit that last changed it (a batch of the control
      // plane's commits indexed at once); otherwise, of the head.
      const bySha = new Map(commits.map(c => [c.sha, c]));
      const madeBy = (key: ObjectKey) =>
        bySha.get(attribution.get(keyString(key)) ?? head) ?? headCommit;
      const generations = await this.generationsOf(
        trx,
        changed.map(c => c.key),
      );
      // the live incarnations of the resources this head changes, in one query
      const live = new Map(
        (
          await this.options.resources.getLiveMany(
            [...changed.map(c => c.key), ...removed]
              .filter(key => key.kind === 'Resource')
              .map(key => stringifyResourceRef(key)),
            trx,
          )
        ).map(r => [r.ref, r]),
      );
      const objects = changed.map(({ key, manifest, digest }) => {
        const previous = generations.get(keyString(key));
        return {
          kind: key.kind,
          namespace: key.namespace,
          name: key.name,
          manifest: JSON.stringify(manifest),
          digest,
          generation: previous ? previous + 1 : 1,
          commit_sha: madeBy(key).sha,
          updated_at: now(),
        };
      });
      for (const part of chunked(objects, 100)) {
        await trx('desired_objects')
          .insert(part)
          .onConflict(['kind', 'namespace', 'name'])
          .merge();
      }
      // new resources are inserted together, after the changed ones are updated
      const fresh: Parameters<ResourceStore['insertMany']>[1] = [];
      for (const [i, { key, manifest }] of changed.entries()) {
        if (manifest.kind !== 'Resource') continue;
        const by = madeBy(key);
        const ref = stringifyResourceRef(manifest.metadata);
        const desired = {
          generation: objects[i].generation,
          commit: by.sha,
          // What a hand push's trailers say is not the control plane's to act on.
          action: by.signed
            ? clip(by.trailers[TRAILERS.action], 64)
            : undefined,
        };
        const current = live.get(ref);
        if (!current) {
          fresh.push({
            manifest,
            desired,
            cause: {
              actor: actorOf(by),
              reason: `requested in commit ${by.sha.slice(0, 12)}`,
            },
          });
        } else if (current.status.state !== 'DELETING') {
          await this.options.resources.updateDesired(
            trx,
            current.uid,
            manifest,
            desired,
            actorOf(by),
          );
        }
        // A resource re-added while its previous incarnation is still being deleted gets a
        // new incarnation once that deletion completes (the reconciler's work).
        touchedRefs.push(ref);
      }
      // their audit events are appended with the commits' (below), in one statement
      const audited: AuditEntry[] = [];
      await this.options.resources.insertMany(trx, fresh, audited);
      for (const key of removed) {
        await trx('desired_objects').where(key).delete();
        if (key.kind === 'Resource') {
          const by = madeBy(key);
          const ref = stringifyResourceRef(key);
          await this.removeResource(trx, live.get(ref), by.sha, actorOf(by));
          touchedRefs.push(ref);
        }
      }
      await this.recordCommits(trx, commits, audited);
      // with the index, so a crash never loses one (their notifications are an outbox)
      for (const b of breaking) {
        await trx('definition_changes')
          .insert({
            id: randomUUID(),
            product: b.impact.project
              ? `${b.impact.project}/${b.impact.product}`
              : b.impact.product,
            commit_sha: b.commit,
            actor: clip(b.actor, 512) ?? 'unknown',
            findings: JSON.stringify(b.impact.findings),
            affected: JSON.stringify(b.impact.affected),
            guide: migrationGuide(b.impact, {
              commit: b.commit,
              actor: b.actor,
            }),
            created_at: now(),
          })
          .onConflict(['commit_sha', 'product'])
          .ignore();
      }
      return true;
    });
  }

  /**
   * The generations the index holds for `keys` (those it has), by key string: looked up by
   * the primary key (kind, namespace, name), a few hundred names of one kind and namespace
   * at a time.
   */
  private async generationsOf(
    trx: Knex.Transaction,
    keys: ObjectKey[],
  ): Promise<Map<string, number>> {
    const generations = new Map<string, number>();
    const groups = new Map<
      string,
      { kind: string; namespace: string; names: Set<string> }
    >();
    for (const { kind, namespace, name } of keys) {
      const group = JSON.stringify([kind, namespace]);
      let names = groups.get(group);
      if (!names) {
        names = { kind, namespace, names: new Set() };
        groups.set(group, names);
      }
      names.names.add(name);
    }
    for (const { kind, namespace, names } of groups.values()) {
      for (const part of chunked([...names], 500)) {
        const rows = await trx<DesiredRow>('desired_objects')
          .where({ kind, namespace })
          .whereIn('name', part)
          .select('name', 'generation');
        for (const row of rows) {
          generations.set(
            keyString({
              kind: kind as ObjectKey['kind'],
              namespace,
              name: row.name,
            }),
            Number(row.generation),
          );
        }
      }
    }
    return generations;
  }

  private async removeResource(
    trx: Knex.Transaction,
    live: ResourceRecord | undefined,
    commit: string,
    actor: string,
  ): Promise<void> {
    if (live && live.status.state !== 'DELETING') {
      await this.options.resources.transition(
        live.uid,
        live.status.state,
        'DELETING',
        { actor, reason: `deleted in commit ${commit.slice(0, 12)}` },
        trx,
      );
    }
  }

  /**
   * Records the commits a sync indexes (those not recorded yet), with their audit events in
   * commit order: a few statements for the batch.
   */
  private async recordCommits(
    trx: Knex.Transaction,
    commits: CommitInfo[],
    /** Events to append before the commits' own. */
    audited: AuditEntry[] = [],
  ) {
    // Only the replica that moved the index gets here, so check-then-insert is safe.
    const recorded = new Set<string>();
    const rejected = new Set<string>();
    for (const part of chunked(commits, 500)) {
      const shas = part.map(c => c.sha);
      for (const row of await trx('state_changes')
        .whereIn('commit_sha', shas)
        .select('commit_sha')) {
        recorded.add(row.commit_sha);
      }
      for (const row of await trx('state_repo_rejections')
        .whereIn('commit_sha', shas)
        .select('commit_sha')) {
        rejected.add(row.commit_sha);
      }
    }
    const fresh = commits.filter(c => !recorded.has(c.sha));
    const rows = fresh.map(commit => {
      // A hand-pushed commit's trailers are data, never facts (see auditEntryOf).
      const trailers = commit.signed ? commit.trailers : {};
      return {
        commit_sha: commit.sha,
        actor: clip(actorOf(commit), 255),
        message: commit.message.split('\n')[0],
        request_id: clip(trailers[TRAILERS.requestId], 64) ?? null,
        idempotency_key: clip(trailers[TRAILERS.idempotencyKey], 255) ?? null,
        committed_at: commit.date,
        indexed_at: now(),
      };
    });
    for (const part of chunked(rows, 100)) {
      await trx('state_changes').insert(part);
    }
    // One refused as a head was audited then; the head indexed now supersedes it.
    await this.options.audit.appendMany(
      [
        ...audited,
        ...fresh.filter(c => !rejected.has(c.sha)).map(auditEntryOf),
      ],
      trx,
    );
  }

  private async reject(
    head: string,
    commit: CommitInfo | undefined,
    errors: string[],
  ) {
    const actor = commit ? actorOf(commit) : 'git:unknown';
    try {
      await this.options.db.transaction(async trx => {
        await trx('state_repo_rejections').insert({
          commit_sha: head,
          author: clip(actor, 255),
          message: storable(commit?.message.split('\n')[0] ?? '', 2000),
          errors: JSON.stringify(
            errors.slice(0, 100).map(e => storable(e, 2000)),
          ),
          detected_at: now(),
        });
        await this.options.audit.append(
          {
            actor,
            action: 'state-repo.sync',
            target: 'state-repo',
            outcome: 'rejected',
            reason: storable(
              `${commit?.signed ? '' : 'pushed by hand, refused: '}${errors
                .slice(0, 20)
                .join('; ')}`,
              4000,
            ),
            commit: head,
            verified: commit?.signed ?? false,
          },
          trx,
        );
      });
    } catch (error) {
      // Another replica recorded this rejection first.
      if (!isUniqueViolation(error)) throw error;
    }
  }

  /** Where the index stands against the repository, and the heads it refused. */
  async status(): Promise<GitopsStatus> {
    const head = await this.options.repo.head();
    const indexed = await this.indexedCommit();
    const rejected = await this.options
      .db('state_repo_rejections')
      .orderBy('detected_at', 'desc')
      .limit(20);
    return {
      ...(head ? { head } : {}),
      ...(indexed ? { indexedCommit: indexed } : {}),
      inSync: head === indexed,
      rejected: rejected.map(r => ({
        commit: r.commit_sha,
        author: r.author,
        message: r.message,
        errors: readJson<string[]>(r.errors, []),
        detectedAt: readTimestamp(r.detected_at),
      })),
    };
  }
}
