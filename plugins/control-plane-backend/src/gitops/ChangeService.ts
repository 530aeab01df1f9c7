import { ConflictError } from '@backstage/errors';
import {
  Manifest,
  ManifestOf,
  manifestKey,
  manifestPath,
  manifestSchema,
  ObjectKey,
  toValidationIssues,
} from '@idp-multicloud/plugin-control-plane-common';
import { PolicyViolation } from '@idp-multicloud/plugin-control-plane-node';
import { DateTime, Duration } from 'luxon';
import { AuditEntry, AuditLog } from '../audit/AuditLog';
import { digestOf } from '../database/util';
import { validationError } from '../errors';
import { DesiredState, ObjectIssue, validateChange } from './DesiredState';
import { GitStateRepo } from './GitStateRepo';
import { keyString, serializeManifest } from './manifestCodec';
import {
  breakingFindingsOf,
  breaksResources,
  DefinitionImpact,
  definitionImpacts,
  impactRef,
  reachOf,
} from './migrationGuide';
import { TRAILERS } from './commits';
import { StateIndexer, SyncResult } from './StateIndexer';
import { storageShrinkIssues } from './storage';

/**
 * A change that breaks product definitions others use, sent without acknowledging it: 409
 * naming each finding and whom it affects.
 */
export class BreakingChangeError extends ConflictError {}

/**
 * The breaking changes of product definitions a valid change makes (those reaching
 * resources); refused unless the request acknowledges them.
 */
export function checkBreaking(
  state: DesiredState,
  next: DesiredState,
  changes: ChangeSet,
  request: Pick<ChangeRequest, 'acknowledgeBreaking'>,
): DefinitionImpact[] {
  const impacts = definitionImpacts(
    state,
    next,
    changes.put.map(manifestKey),
    changes.remove,
  ).filter(breaksResources);
  if (impacts.length === 0 || request.acknowledgeBreaking) return impacts;
  throw new BreakingChangeError(
    `Breaking change${impacts.length === 1 ? '' : 's'} of ${impacts
      .map(
        i =>
          `${impactRef(i)} (${breakingFindingsOf(i)}), affecting ${reachOf(
            i.affected.resources,
          )}`,
      )
      .join(
        '; ',
      )}: plan it (POST /manifests/plan) to read the migration guide, then send it again with acknowledgeBreaking: true`,
  );
}

/** The objects a change writes and removes. */
export interface ChangeSet {
  put: Manifest[];
  remove: ObjectKey[];
}

/**
 * A valid change that must be reviewed (as a pull request) rather than committed to the main
 * branch: a 409 naming why, unless the request's route proposes it for review instead (202).
 */
export class ReviewRequiredError extends ConflictError {
  constructor(
    message: string,
    /** The request, to propose as it is. */
    readonly request: ChangeRequest,
    /** The state it was computed on, and what it changes there: its plan. */
    readonly state: DesiredState,
    readonly changes: ChangeSet,
  ) {
    super(message);
  }
}

export interface ChangeRequest {
  /** The caller's entity ref: the commit's author. */
  actor: string;
  action: string;
  target: string;
  /** The commit message's first line. */
  message: string;
  requestId: string;
  idempotencyKey?: string;
  /** Where the request came from: recorded in the commit's trailers for its audit event. */
  source?: AuditEntry['source'];
  /**
   * Computes the change from the current desired state. Called again when another change
   * lands first; may throw a 4xx error to refuse the request.
   */
  compute(state: DesiredState): ChangeSet;
  /** Maps issues of the resulting state to the caller's terms (e.g. request field names). */
  describeIssues?(issues: ObjectIssue[]): ObjectIssue[];
  /** The operation the change makes (scale, migrate, ...): admission decides on it. */
  operation?: Admission['operation'];
  /**
   * The caller acknowledges the breaking changes of product definitions the change makes;
   * without it such a change is refused (409) naming them.
   */
  acknowledgeBreaking?: boolean;
}

/** A refusal of admission, naming the resource it is about. */
export type Refusal = PolicyViolation & { ref: string };

/** A valid change about to be committed, as admission sees it. */
export interface Admission {
  action: string;
  actor: string;
  requestId: string;
  before: DesiredState;
  next: DesiredState;
  put: ManifestOf<'Resource'>[];
  /** The resources the change removes, as they were. */
  removed: ManifestOf<'Resource'>[];
  /** The operation the change makes; its resource is in `put`, changed or not. */
  operation?: { type: string; params: Record<string, unknown> };
  /** The breaking changes of product definitions it makes (acknowledged), when known. */
  breaking?: DefinitionImpact[];
}

export interface ChangeResult {
  /** The commit, or undefined when the change changed nothing. */
  commit: string | undefined;
  state: DesiredState;
  /** The idempotency key had already produced this commit (a retried request). */
  alreadyApplied: boolean;
  changes: ChangeSet;
}

const MAX_ATTEMPTS = 8;
/** At most this many queued requests are committed together. */
const MAX_BATCH = 64;

/** Digests of what a change touches, before and after it (for its audit event). */
export function changeDigests(
  before: DesiredState,
  changes: ChangeSet,
): { beforeDigest?: string; afterDigest?: string } {
  const keys = [...changes.put.map(manifestKey), ...changes.remove];
  if (keys.length === 0) return {};
  const next = before.with(changes.put, changes.remove);
  // One object: its manifest's digest (as the index stores it). Several: a digest of the
  // sorted list of [object, manifest or null].
  const digestAt = (state: DesiredState) => {
    const entries = keys
      .map(k => [keyString(k), state.get(k.kind, k.name, k.namespace) ?? null])
      .sort(([a], [b]) => String(a).localeCompare(String(b)));
    if (entries.length === 1) {
      return entries[0][1] ? digestOf(entries[0][1]) : undefined;
    }
    return entries.every(([, m]) => m === null) ? undefined : digestOf(entries);
  };
  const beforeDigest = digestAt(before);
  const afterDigest = digestAt(next);
  return {
    ...(beforeDigest ? { beforeDigest } : {}),
    ...(afterDigest ? { afterDigest } : {}),
  };
}

/** A trailer value: one line, without control characters, at most `max` characters. */
function trailerValue(value: string, max = 512): string {
  return (
    value
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x1f\x7f]+/g, ' ')
      .trim()
      .slice(0, max)
  );
}

/**
 * Turns an accepted request into exactly one commit of the state repository, then indexes
 * it. The change is validated against the desired state at the head it is committed on;
 * when another commit lands first, the change is computed and validated again on the new
 * head. A request retried with the same idempotency key after its commit landed (a crash
 * before it could answer) finds that commit by its trailer instead of committing twice.
 */
export class ChangeService {
  private readonly queue: Queued[] = [];
  private draining = false;

  constructor(
    private readonly options: {
      repo: GitStateRepo;
      indexer: StateIndexer;
      audit: AuditLog;
      /**
       * How long an idempotency key's commit is remembered; an older commit with the same
       * key is someone's earlier request, not this one (default 24 hours, as the keys).
       */
      idempotencyRetention?: Duration;
      /**
       * Admission (policy, quotas): may refuse a valid change before it is committed by
       * throwing a 4xx error. Its decisions' audit events go to `record` when given (a batch
       * appends them all at once), otherwise it appends them itself.
       */
      admit?: (
        change: Admission,
        record?: (entries: AuditEntry[]) => void,
      ) => Promise<void>;
      /** The same decisions as `admit`, recording nothing: what admission would refuse. */
      review?: (change: Admission) => Promise<Refusal[]>;
      /**
       * Why a valid change must be reviewed (as a pull request) rather than committed to the
       * main branch, or undefined: such a change is refused (409) with the reason.
       */
      reviewRequired?: (change: Admission) => string | undefined;
    },
  ) {}

  /**
   * Writes one request's change as a commit for review: computed, validated and admitted on
   * the current head like {@link apply}, with the same trailers, but not published (the main
   * branch does not move); the caller pushes it as a branch. 409 when it changes nothing.
   */
  async writeForReview(
    request: ChangeRequest,
    /** Other files the commit writes, from the state after the change (not desired state). */
    extraFiles?: (next: DesiredState) => { path: string; content: string }[],
  ): Promise<{
    commit: string;
    state: DesiredState;
    next: DesiredState;
    changes: ChangeSet;
  }> {
    const { repo, audit } = this.options;
    const state = await this.current();
    const changes = request.compute(state);
    const next = this.validate(state, changes, request);
    const breaking = checkBreaking(state, next, changes, request).length > 0;
    await this.options.admit?.(this.admission(request, state, next, changes));
    const written = await repo.write({
      parent: state.commit,
      changes: [...this.files(changes), ...(extraFiles?.(next) ?? [])],
      message: request.message,
      author: authorFor(request.actor),
      trailers: this.trailers(
        request,
        changeDigests(state, changes),
        await audit.head(),
        { breaking },
      ),
    });
    if (written.status !== 'written') {
      throw new ConflictError(
        'Nothing to change: the desired state already is what the request asks for',
      );
    }
    return { commit: written.sha, state, next, changes };
  }

  private files(changes: ChangeSet) {
    return [
      ...changes.put.map(m => ({
        path: manifestPath(manifestKey(m)),
        content: serializeManifest(m),
      })),
      ...changes.remove.map(k => ({ path: manifestPath(k) })),
    ];
  }

  /**
   * Commits one request's change (see the class comment). Requests that arrive while others
   * are being committed are taken together, as one batch.
   */
  apply(request: ChangeRequest): Promise<ChangeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** The desired state at the repository's head (indexed first when it moved). */
  async current(): Promise<DesiredState> {
    await this.options.indexer.sync();
    return this.options.indexer.current();
  }

  /**
   * The same checks as {@link apply}, without committing or recording anything: what would
   * change, and what admission would refuse (listed, not thrown).
   */
  async dryRun(
    request: Pick<ChangeRequest, 'compute' | 'describeIssues'> &
      Partial<Pick<ChangeRequest, 'action' | 'actor' | 'requestId'>> & {
        /** Also ask admission what it would refuse (default true). */
        admission?: boolean;
        /**
         * Bring the index up to the repository's head first (default true). With false, a
         * pre-check (its change is validated again when committed) checks against the
         * desired state this replica last indexed or read, and catches up with the head only
         * before refusing.
         */
        sync?: boolean;
      },
  ): Promise<{
    state: DesiredState;
    next: DesiredState;
    changes: ChangeSet;
    refusals: Refusal[];
  }> {
    const attempt = (at: DesiredState) => {
      const changes = request.compute(at);
      return { state: at, changes, next: this.validate(at, changes, request) };
    };
    let checked;
    if (request.sync === false) {
      const indexed = await this.options.indexer.lastKnown();
      try {
        checked = attempt(indexed);
      } catch (error) {
        const head = await this.current();
        if (head.commit === indexed.commit) throw error;
        checked = attempt(head);
      }
    } else {
      checked = attempt(await this.current());
    }
    const { state, changes, next } = checked;
    const refusals =
      (request.admission !== false &&
        (await this.options.review?.(
          this.admission(
            {
              action: request.action ?? 'plan',
              actor: request.actor ?? 'unknown',
              requestId: request.requestId ?? '',
            },
            state,
            next,
            changes,
          ),
        ))) ||
      [];
    return { state, next, changes, refusals };
  }

  private admission(
    request: Pick<
      ChangeRequest,
      'action' | 'actor' | 'requestId' | 'operation'
    >,
    before: DesiredState,
    next: DesiredState,
    changes: ChangeSet,
  ): Admission {
    return {
      action: request.action,
      actor: request.actor,
      requestId: request.requestId,
      before,
      next,
      put: changes.put.filter(
        (m): m is ManifestOf<'Resource'> => m.kind === 'Resource',
      ),
      removed: changes.remove.flatMap(key =>
        key.kind === 'Resource'
          ? before.get('Resource', key.name, key.namespace) ?? []
          : [],
      ),
      ...(request.operation ? { operation: request.operation } : {}),
    };
  }

  /**
   * Admission of an operation that changes nothing in Git (failover, backup, ...): decided
   * on the resource as the current desired state has it; throws the refusal.
   */
  async admitOperation(request: {
    action: string;
    actor: string;
    requestId: string;
    manifest: ManifestOf<'Resource'>;
    operation: NonNullable<Admission['operation']>;
  }): Promise<void> {
    const state = await this.current();
    await this.options.admit?.({
      action: request.action,
      actor: request.actor,
      requestId: request.requestId,
      before: state,
      next: state,
      put: [request.manifest],
      removed: [],
      operation: request.operation,
    });
  }

  /** The audit event of a request that changed nothing (no commit, so no indexed event). */
  private async auditNoCommit(
    request: ChangeRequest,
    reason: string,
    extra: Partial<AuditEntry> = {},
  ) {
    await this.options.audit.append({
      actor: request.actor,
      action: request.action,
      target: request.target,
      outcome: 'accepted',
      reason,
      source: request.source,
      requestId: request.requestId,
      ...extra,
    });
  }

  private validate(
    state: DesiredState,
    changes: ChangeSet,
    request: Pick<ChangeRequest, 'describeIssues'>,
  ): DesiredState {
    const next = state.with(changes.put, changes.remove);
    const issues = validateChangeSet(state, next, changes);
    if (issues.length > 0) {
      const described = request.describeIssues?.(issues) ?? issues;
      throw validationError(
        described.map(({ path, message }) => ({ path, message })),
      );
    }
    return next;
  }

  /**
   * Takes the queued requests in batches, one batch at a time. Before each batch it lets
   * the event loop turn once, so that the requests already received (whose handling up to
   * here never waits for I/O on SQLite, whose queries are synchronous) join the batch: a
   * group commit that adds no timer, only the requests that are already there.
   */
  private async drain() {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        await new Promise(resolve => setImmediate(resolve));
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.applyBatch(batch);
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Applies a batch of requests: each is computed and validated on the state the ones before
   * it leave, and written as its own commit on the previous one; the branch then moves once,
   * to the last, and one sync indexes them all. A request refused (4xx) is answered alone;
   * when the branch moved under the batch, the whole batch is computed again on the new head.
   */
  private async applyBatch(batch: Queued[]): Promise<void> {
    const { repo, indexer, audit } = this.options;
    const retention =
      this.options.idempotencyRetention ?? Duration.fromObject({ hours: 24 });
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const sync = await indexer.sync();
      // the state the sync left (unless it refused the head): no need to read it again
      const known = await indexer.lastKnown();
      const indexed =
        sync.status !== 'rejected' && sync.commit === known.commit
          ? known
          : await indexer.current();
      // A rejected head (pushed by hand) is not built on: the first change is made on the
      // last good head's tree, as a commit on top of the rejected one (the branch only moves
      // forward), so it also undoes what the rejected commits changed, and says so.
      const rejected = sync.status === 'rejected' ? sync.commit : undefined;
      const outcomes = new Map<Queued, Outcome>();
      let state = indexed;
      let parent = rejected ?? indexed.commit;
      let base: string | null | undefined = rejected
        ? indexed.commit ?? null
        : undefined;
      let last: string | undefined;
      /** The commits of this batch by caller and Idempotency-Key. */
      const keyed = new Map<string, string>();
      /**
       * Admission's decisions, appended to the audit log together before the batch is
       * published; each commit anchors the chain where it stood when the batch began.
       */
      const decisions: AuditEntry[] = [];
      const auditHead = await audit.head();
      const earlierCommits = await indexer.commitsByKeys(
        batch.flatMap(({ request: { actor, idempotencyKey } }) =>
          idempotencyKey ? [{ actor, key: idempotencyKey }] : [],
        ),
        DateTime.utc().minus(retention),
      );
      for (const entry of batch) {
        const { request } = entry;
        const key = request.idempotencyKey
          ? JSON.stringify([request.actor, request.idempotencyKey])
          : undefined;
        try {
          const sameBatch = key && keyed.get(key);
          if (sameBatch) {
            outcomes.set(entry, { kind: 'earlier', commit: sameBatch });
            continue;
          }
          if (key) {
            // A commit this caller made with this key, within the key's retention: the
            // request is a retry of one whose commit landed. Older ones are another, earlier
            // request.
            const earlier = earlierCommits.get(key);
            if (earlier) {
              outcomes.set(entry, { kind: 'earlier', commit: earlier });
              continue;
            }
          }
          const changes = request.compute(state);
          const next = this.validate(state, changes, request);
          const impacts = checkBreaking(state, next, changes, request);
          const breaking = impacts.length > 0;
          const admission = {
            ...this.admission(request, state, next, changes),
            breaking: impacts,
          };
          const review = this.options.reviewRequired?.(admission);
          if (review) {
            throw new ReviewRequiredError(
              `${review}: propose it for review instead (POST /changes/proposals; a revert: POST /changes/{sha}/revert/proposal)`,
              request,
              state,
              changes,
            );
          }
          await this.options.admit?.(admission, entries =>
            decisions.push(...entries),
          );
          const digests = changeDigests(state, changes);
          const written = await repo.write({
            parent,
            ...(base !== undefined ? { base } : {}),
            changes: this.files(changes),
            message:
              base !== undefined && rejected
                ? rejectedMessage(request, indexed.commit, rejected, sync)
                : request.message,
            author: authorFor(request.actor),
            trailers: this.trailers(request, digests, auditHead, {
              undoes: base !== undefined ? rejected : undefined,
              breaking,
            }),
          });
          if (written.status === 'unchanged') {
            outcomes.set(entry, { kind: 'unchanged', state, changes, digests });
            continue;
          }
          outcomes.set(entry, {
            kind: 'committed',
            commit: written.sha,
            state: next,
            changes,
          });
          if (key) keyed.set(key, written.sha);
          state = next;
          parent = written.sha;
          base = undefined;
          last = written.sha;
        } catch (error) {
          outcomes.set(entry, { kind: 'refused', error });
        }
      }
      await audit.appendMany(decisions);
      if (last && !(await repo.publish(rejected ?? indexed.commit, last))) {
        continue; // the branch moved: compute everything again on the new head
      }
      const synced = last ? await indexer.sync() : undefined;
      for (const entry of batch) {
        await this.settle(entry, outcomes.get(entry)!, synced);
      }
      return;
    }
    for (const entry of batch) {
      entry.reject(
        new ConflictError(
          'The state repository kept changing under this request; try again',
        ),
      );
    }
  }

  /** Answers one request of a batch, auditing what changed nothing. */
  private async settle(
    { request, resolve, reject }: Queued,
    outcome: Outcome,
    synced: SyncResult | undefined,
  ) {
    try {
      switch (outcome.kind) {
        case 'refused':
          reject(outcome.error);
          return;
        case 'earlier':
          await this.auditNoCommit(
            request,
            `already applied in commit ${outcome.commit.slice(
              0,
              12,
            )}: a retry of the request with this Idempotency-Key`,
          );
          resolve({
            commit: outcome.commit,
            state: await this.options.indexer.current(),
            alreadyApplied: true,
            changes: { put: [], remove: [] },
          });
          return;
        case 'unchanged':
          await this.auditNoCommit(
            request,
            'nothing to change: the desired state already is what the request asks for',
            outcome.digests,
          );
          resolve({
            commit: undefined,
            state: outcome.state,
            alreadyApplied: false,
            changes: outcome.changes,
          });
          return;
        default:
          if (synced?.status === 'rejected') {
            // Validation passed on this head, so only a concurrent invalid push gets here.
            reject(
              new ConflictError(
                `Committed ${outcome.commit.slice(
                  0,
                  12,
                )}, but the state repository head is invalid: ${synced.errors.join(
                  '; ',
                )}`,
              ),
            );
            return;
          }
          resolve({
            commit: outcome.commit,
            state: outcome.state,
            alreadyApplied: false,
            changes: outcome.changes,
          });
      }
    } catch (error) {
      reject(error);
    }
  }

  /** The trailers of a request's commit: what its audit event is made of. */
  private trailers(
    request: ChangeRequest,
    digests: { beforeDigest?: string; afterDigest?: string },
    auditHead: { id: number; hash: string } | undefined,
    { undoes, breaking }: { undoes?: string; breaking?: boolean },
  ): Record<string, string> {
    const trailers: Record<string, string> = {
      [TRAILERS.action]: trailerValue(request.action, 64),
      [TRAILERS.target]: trailerValue(request.target, 255),
      [TRAILERS.requestId]: trailerValue(request.requestId, 64),
    };
    if (request.idempotencyKey) {
      trailers[TRAILERS.idempotencyKey] = request.idempotencyKey;
    }
    if (request.source?.ip) {
      trailers[TRAILERS.sourceIp] = trailerValue(request.source.ip, 64);
    }
    if (request.source?.userAgent) {
      trailers[TRAILERS.userAgent] = trailerValue(request.source.userAgent);
    }
    if (digests.beforeDigest) {
      trailers[TRAILERS.beforeDigest] = digests.beforeDigest;
    }
    if (digests.afterDigest) {
      trailers[TRAILERS.afterDigest] = digests.afterDigest;
    }
    if (auditHead) {
      trailers[TRAILERS.auditHead] = `${auditHead.id} ${auditHead.hash}`;
    }
    if (undoes) {
      trailers[TRAILERS.undoesRejected] = undoes;
    }
    if (breaking) {
      trailers[TRAILERS.breakingChange] = 'acknowledged';
    }
    return trailers;
  }
}

/** A request waiting in the queue, with its answer. */
interface Queued {
  request: ChangeRequest;
  resolve(result: ChangeResult): void;
  reject(error: unknown): void;
}

/** What became of one request of a batch. */
type Outcome =
  | { kind: 'refused'; error: unknown }
  | { kind: 'earlier'; commit: string }
  | {
      kind: 'unchanged';
      state: DesiredState;
      changes: ChangeSet;
      digests: { beforeDigest?: string; afterDigest?: string };
    }
  | {
      kind: 'committed';
      commit: string;
      state: DesiredState;
      changes: ChangeSet;
    };

/** The message of a change made on the last good head under a rejected one. */
function rejectedMessage(
  request: ChangeRequest,
  good: string | undefined,
  rejected: string,
  sync: SyncResult,
): string {
  return `${request.message}\n\n${trailerValue(
    `Made on ${shortSha(
      good,
    )}, the last head the control plane accepted: it also undoes the changes of ${shortSha(
      rejected,
    )}, a head the control plane refused (${
      sync.status === 'rejected' ? sync.errors.join('; ') : ''
    }`,
    600,
  )}). Push those changes again, fixed, to apply them.`;
}

/** Validation of a change set: what it writes, and what refers to what it changes. */
function validateChangeSet(
  before: DesiredState,
  next: DesiredState,
  changes: ChangeSet,
): ObjectIssue[] {
  const changed = changes.put.map(manifestKey).filter(key => {
    const old = before.get(key.kind, key.name, key.namespace);
    const now = next.get(key.kind, key.name, key.namespace);
    return !old || digestOf(old) !== digestOf(now);
  });
  // What the index will refuse when it reads the file back is refused before it is
  // committed: a commit the index rejects would hold up every later change.
  const malformed = changed.flatMap(key => {
    const parsed = manifestSchema.safeParse(
      next.get(key.kind, key.name, key.namespace),
    );
    return parsed.success
      ? []
      : toValidationIssues(parsed.error).map(i => ({ ...i, key }));
  });
  if (malformed.length > 0) return malformed;
  return [
    ...validateChange(next, changed, changes.remove),
    ...storageShrinkIssues(before, next, changed),
  ];
}

function shortSha(sha: string | undefined): string {
  return sha ? sha.slice(0, 12) : 'the empty repository';
}

/** The Git author of a change made by a catalog entity. */
export function authorFor(actor: string): { name: string; email: string } {
  const slug = actor.replace(/[^A-Za-z0-9._-]+/g, '.');
  return { name: actor, email: `${slug}@users.idp.invalid` };
}
