import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  keyForPath,
  Manifest,
  manifestPath,
  ObjectKey,
  Plan,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { CallContext } from '../context';
import { digestOf } from '../database/util';
import { ChangeResult, ChangeService, ChangeSet } from './ChangeService';
import { actorOf, TRAILERS } from './commits';
import { DesiredState } from './DesiredState';
import { CommitInfo, GitStateRepo } from './GitStateRepo';
import { parseManifestFile } from './manifestCodec';
import { fieldChanges } from './ManifestService';

/** One object a change touched: as it was before the change, and as the change left it. */
export interface TouchedObject {
  key: ObjectKey;
  /** Before the change (what a revert restores); none: the change created it. */
  before?: Manifest;
  /** After the change (what the desired state must still hold); none: it deleted it. */
  after?: Manifest;
}

/** A change to revert, read from the state repository and checked against its head. */
export interface RevertPlan {
  change: CommitInfo;
  objects: TouchedObject[];
}

/** What a change does to an object: create, update or delete. */
export function actionOn(o: {
  before?: unknown;
  after?: unknown;
}): 'create' | 'update' | 'delete' {
  if (!o.before) return 'create';
  return o.after ? 'update' : 'delete';
}

/** The ref of an object key as the API names it. */
export function objectRef(key: ObjectKey): string {
  return key.kind === 'Resource'
    ? stringifyResourceRef(key)
    : `${key.kind.toLowerCase()}:${key.name}`;
}

const short = (sha: string) => sha.slice(0, 12);
const subjectOf = (c: CommitInfo) => c.message.split('\n')[0];

/**
 * Rollback by `git revert`: a change of the state repository undone by a new change that
 * restores what it touched, made through {@link ChangeService} (validation, admission,
 * audit) like any other. A revert refuses (409) when a later change touched the same objects,
 * naming those changes; the change to revert must be in the history of the head the control
 * plane accepted.
 */
export class RevertService {
  constructor(
    private readonly options: { repo: GitStateRepo; changes: ChangeService },
  ) {}

  /**
   * Reads the change `rev` names, in the history of the current head, and what it did to each
   * object (404 when there is no such change); see {@link checkConflicts}.
   */
  async plan(rev: string): Promise<RevertPlan> {
    const { repo, changes } = this.options;
    const state = await changes.current();
    const head = state.commit;
    const sha = await repo.resolveCommit(rev);
    if (
      !head ||
      !sha ||
      (sha !== head && !(await repo.isAncestor(sha, head)))
    ) {
      throw new NotFoundError(
        `No change ${rev} in the state repository's history`,
      );
    }
    const change = (await repo.commitInfo(sha))!;
    const parent = change.parents[0];
    const written = (await repo.changesBetween(parent, sha)).filter(c =>
      keyForPath(c.path),
    );
    if (written.length === 0) {
      throw new ConflictError(
        `Change ${short(
          sha,
        )} changes no object of the desired state: nothing to revert`,
      );
    }
    const restored = parent
      ? new Map(
          (await repo.changesBetween(sha, parent))
            .filter(c => keyForPath(c.path))
            .map(c => [c.path, c.blob]),
        )
      : new Map<string, string | undefined>();
    const blobs = [
      ...written.flatMap(c => (c.blob ? [c.blob] : [])),
      ...[...restored.values()].flatMap(b => (b ? [b] : [])),
    ];
    const { contents } = await repo.readBlobs(blobs, Infinity);
    const read = (path: string, blob: string | undefined, when: string) => {
      if (!blob) return undefined;
      const parsed = parseManifestFile(path, contents.get(blob)!);
      if (!parsed.ok) {
        throw new ConflictError(
          `Change ${short(
            sha,
          )} cannot be reverted: ${path} ${when} is not a valid manifest (${parsed.issues
            .map(i => `${i.path}: ${i.message}`)
            .join('; ')})`,
        );
      }
      return parsed.manifest;
    };
    const plan: RevertPlan = {
      change,
      objects: written.map(c => ({
        key: keyForPath(c.path)!,
        before: read(c.path, restored.get(c.path), 'before it'),
        after: read(c.path, c.blob, 'after it'),
      })),
    };
    return plan;
  }

  /**
   * Refuses (409) a revert of objects the head no longer holds as the change left them,
   * naming the later changes that touched them (a change and another that changed it back
   * are no conflict). Checked after the caller was authorized on what the plan touches.
   */
  async checkConflicts(plan: RevertPlan): Promise<void> {
    const { repo, changes } = this.options;
    const state = await changes.current();
    const head = state.commit!;
    const sha = plan.change.sha;
    const moved = this.moved(plan, state);
    if (moved.length > 0) {
      const later = await repo.commitsTouching(
        moved.map(o => manifestPath(o.key)),
        head,
        { from: sha, limit: 20 },
      );
      throw new ConflictError(
        `Reverting ${short(sha)} conflicts with later changes of ${moved
          .map(o => objectRef(o.key))
          .join(', ')}: ${later
          .map(c => `${short(c.sha)} "${subjectOf(c)}"`)
          .join(', ')}; revert those first`,
      );
    }
  }

  private moved(plan: RevertPlan, state: DesiredState): TouchedObject[] {
    return plan.objects.filter(o => {
      const now = state.get(o.key.kind, o.key.name, o.key.namespace);
      return (
        (now ? digestOf(now) : null) !== (o.after ? digestOf(o.after) : null)
      );
    });
  }

  /**
   * The revert's change set on `state`: each object back to how it was before the change.
   * 409 when an object is no longer what the change left (changed meanwhile).
   */
  changeSet(plan: RevertPlan, state: DesiredState): ChangeSet {
    const moved = this.moved(plan, state);
    if (moved.length > 0) {
      throw new ConflictError(
        `Reverting ${short(
          plan.change.sha,
        )} conflicts with later changes of ${moved
          .map(o => objectRef(o.key))
          .join(', ')}; revert those first`,
      );
    }
    return {
      put: plan.objects.flatMap(o => (o.before ? [o.before] : [])),
      remove: plan.objects.filter(o => !o.before).map(o => o.key),
    };
  }

  /** What the revert does to each object, as a plan (for a proposal's pull request). */
  planOf(plan: RevertPlan): Plan {
    const changes: Plan['changes'] = plan.objects.map(o => ({
      kind: o.key.kind,
      ref: objectRef(o.key),
      action: actionOn({ before: o.after, after: o.before }),
      fields: o.after && o.before ? fieldChanges(o.after, o.before) : [],
    }));
    const count = (action: string) =>
      changes.filter(c => c.action === action).length;
    return {
      changes,
      summary: {
        create: count('create'),
        update: count('update'),
        delete: count('delete'),
        unchanged: 0,
      },
      refusals: [],
    };
  }

  /** The revert as a change to propose for review (see ChangeProposals.proposeChange). */
  asProposal(plan: RevertPlan) {
    const subject = subjectOf(plan.change);
    return {
      action: 'change.revert',
      target: `change:${plan.change.sha}`,
      message: `Revert "${subject}"\n\nThis reverts commit ${plan.change.sha}.`,
      title: `Revert "${subject}"`,
      plan: this.planOf(plan),
      manifests: plan.objects.flatMap(o => (o.before ? [o.before] : [])),
      compute: (state: DesiredState) => this.changeSet(plan, state),
    };
  }

  /** Makes the revert commit through the one write path of changes. */
  async revert(plan: RevertPlan, ctx: CallContext): Promise<ChangeResult> {
    const { change } = plan;
    return this.options.changes.apply({
      actor: ctx.actor,
      action: 'change.revert',
      target: `change:${change.sha}`,
      message: `Revert "${subjectOf(change)}"\n\nThis reverts commit ${
        change.sha
      }.`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      source: ctx.source,
      compute: state => this.changeSet(plan, state),
    });
  }

  /**
   * The changes of one object, newest first, each with what it did to the object; and the
   * object's last manifest (to authorize reading its history), undefined when it never was.
   */
  async history(
    key: ObjectKey,
    limit: number,
  ): Promise<{ last?: Manifest; items: HistoryEntry[] }> {
    const { repo, changes } = this.options;
    const state = await changes.current();
    const head = state.commit;
    if (!head) return { items: [] };
    const path = manifestPath(key);
    const commits = await repo.commitsTouching([path], head, { limit });
    const items: HistoryEntry[] = [];
    for (const c of commits) {
      const [existsAfter, existsBefore] = await Promise.all([
        repo.existing(c.sha, [path]),
        c.parents[0] ? repo.existing(c.parents[0], [path]) : [],
      ]);
      items.push({
        sha: c.sha,
        subject: subjectOf(c),
        actor: actorOf(c),
        verified: c.signed,
        date: c.date,
        ...(c.signed && c.trailers[TRAILERS.action]
          ? { action: c.trailers[TRAILERS.action] }
          : {}),
        objects: [
          {
            kind: key.kind,
            ref: objectRef(key),
            action: actionOn({
              before: existsBefore.length > 0,
              after: existsAfter.length > 0,
            }),
          },
        ],
      });
    }
    const current = state.get(key.kind, key.name, key.namespace);
    if (current || commits.length === 0) return { last: current, items };
    // deleted: its last manifest is in the parent of its deletion
    const deletion = commits[0];
    const text = deletion.parents[0]
      ? await repo.fileAt(deletion.parents[0], path)
      : undefined;
    const parsed = text ? parseManifestFile(path, text) : undefined;
    return { last: parsed?.ok ? parsed.manifest : undefined, items };
  }
}

/** One change in an object's history. */
export interface HistoryEntry {
  sha: string;
  subject: string;
  actor: string;
  verified: boolean;
  date: string;
  action?: string;
  objects: {
    kind: string;
    ref: string;
    action: 'create' | 'update' | 'delete';
  }[];
}
