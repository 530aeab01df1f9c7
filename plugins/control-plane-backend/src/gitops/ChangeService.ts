import { ConflictError } from '@backstage/errors';
import {
  Manifest,
  ManifestOf,
  manifestKey,
  manifestPath,
  ObjectKey,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { digestOf } from '../database/util';
import { validationError } from '../errors';
import { DesiredState, ObjectIssue, validateChange } from './DesiredState';
import { GitStateRepo } from './GitStateRepo';
import { serializeManifest } from './manifestCodec';
import { Mutex } from './mutex';
import { RequestContext, StateIndexer, TRAILERS } from './StateIndexer';

/** The objects a change writes and removes. */
export interface ChangeSet {
  put: Manifest[];
  remove: ObjectKey[];
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
  context?: RequestContext;
  /**
   * Computes the change from the current desired state. Called again when another change
   * lands first; may throw a 4xx error to refuse the request.
   */
  compute(state: DesiredState): ChangeSet;
  /** Maps issues of the resulting state to the caller's terms (e.g. request field names). */
  describeIssues?(issues: ObjectIssue[]): ObjectIssue[];
}

/** A valid change about to be committed, as admission sees it. */
export interface Admission {
  action: string;
  actor: string;
  requestId: string;
  before: DesiredState;
  next: DesiredState;
  put: ManifestOf<'Resource'>[];
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

/**
 * Turns an accepted request into exactly one commit of the state repository, then indexes
 * it. The change is validated against the desired state at the head it is committed on;
 * when another commit lands first, the change is computed and validated again on the new
 * head. A request retried with the same idempotency key after its commit landed (a crash
 * before it could answer) finds that commit by its trailer instead of committing twice.
 */
export class ChangeService {
  private readonly mutex = new Mutex();

  constructor(
    private readonly options: {
      db: Knex;
      repo: GitStateRepo;
      indexer: StateIndexer;
      /**
       * Admission (policy, quotas): may refuse a valid change before it is committed by
       * throwing a 4xx error.
       */
      admit?: (change: Admission) => Promise<void>;
    },
  ) {}

  apply(request: ChangeRequest): Promise<ChangeResult> {
    return this.mutex.run(() => this.applyLocked(request));
  }

  /** The same checks as {@link apply}, without committing: what would change. */
  async dryRun(request: Pick<ChangeRequest, 'compute' | 'describeIssues'>) {
    await this.options.indexer.sync();
    const state = await this.options.indexer.current();
    const changes = request.compute(state);
    this.validate(state, changes, request);
    return { state, changes };
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

  private async applyLocked(request: ChangeRequest): Promise<ChangeResult> {
    const { repo, indexer, db } = this.options;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const sync = await indexer.sync();
      if (request.idempotencyKey) {
        const earlier = await db('state_changes')
          .where({
            actor: request.actor,
            idempotency_key: request.idempotencyKey,
          })
          .first();
        if (earlier) {
          const state = await indexer.current();
          return {
            commit: earlier.commit_sha,
            state,
            alreadyApplied: true,
            changes: { put: [], remove: [] },
          };
        }
      }
      if (sync.status === 'rejected') {
        throw new ConflictError(
          `The state repository's head ${sync.commit.slice(
            0,
            12,
          )} is invalid and was not applied; fix or revert it first: ${sync.errors
            .slice(0, 5)
            .join('; ')}`,
        );
      }
      const state = await indexer.current();
      const changes = request.compute(state);
      const next = this.validate(state, changes, request);
      await this.options.admit?.({
        action: request.action,
        actor: request.actor,
        requestId: request.requestId,
        before: state,
        next,
        put: changes.put.filter(
          (m): m is ManifestOf<'Resource'> => m.kind === 'Resource',
        ),
      });

      const trailers: Record<string, string> = {
        [TRAILERS.action]: request.action,
        [TRAILERS.target]: request.target,
        [TRAILERS.requestId]: request.requestId,
      };
      if (request.idempotencyKey) {
        trailers[TRAILERS.idempotencyKey] = request.idempotencyKey;
      }
      const result = await repo.commit({
        parent: state.commit,
        changes: [
          ...changes.put.map(m => ({
            path: manifestPath(manifestKey(m)),
            content: serializeManifest(m),
          })),
          ...changes.remove.map(key => ({ path: manifestPath(key) })),
        ],
        message: request.message,
        author: authorFor(request.actor),
        trailers,
      });
      if (result.status === 'conflict') {
        continue;
      }
      if (result.status === 'unchanged') {
        return { commit: undefined, state, alreadyApplied: false, changes };
      }
      indexer.rememberRequest(result.sha, request.context ?? {});
      const indexed = await indexer.sync();
      if (indexed.status === 'rejected') {
        // Validation passed on this head, so only a concurrent invalid push gets here.
        throw new ConflictError(
          `Committed ${result.sha.slice(
            0,
            12,
          )}, but the state repository head is invalid: ${indexed.errors.join(
            '; ',
          )}`,
        );
      }
      return {
        commit: result.sha,
        state: next,
        alreadyApplied: false,
        changes,
      };
    }
    throw new ConflictError(
      'The state repository kept changing under this request; try again',
    );
  }
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
  return validateChange(next, changed, changes.remove);
}

/** The Git author of a change made by a catalog entity. */
export function authorFor(actor: string): { name: string; email: string } {
  const slug = actor.replace(/[^A-Za-z0-9._-]+/g, '.');
  return { name: actor, email: `${slug}@users.idp.invalid` };
}
