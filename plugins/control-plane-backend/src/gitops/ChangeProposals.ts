import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Manifest,
  manifestKey,
  ManifestOf,
  manifestPath,
  parseResourceRef,
  Plan,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ChangeProposer,
  ProposedChange,
  ProposedObject,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { DateTime } from 'luxon';
import { randomUUID } from 'node:crypto';
import { AuditLog } from '../audit/AuditLog';
import { CallContext } from '../context';
import { ResourceView } from '../permissions/ResourceView';
import { checkedInView } from '../permissions/checkedInView';
import {
  BreakingChange,
  breakingChanges,
  crossNamespaceImpact,
} from './breaking';
import {
  ChangeRequest,
  ChangeService,
  ReviewRequiredError,
} from './ChangeService';
import { DesiredState } from './DesiredState';
import {
  breakingApprovals,
  breaksResources,
  definitionImpacts,
  migrationGuide,
} from './migrationGuide';
import { GitStateRepo } from './GitStateRepo';
import { ManifestService, ParsedManifests, planOf } from './ManifestService';

/** A proposal's status: `Awaiting approval → Merged → Applied`, or `Closed`. */
export type ProposalStatus =
  | 'awaiting-approval'
  | 'merged'
  | 'applied'
  | 'closed';

/** A change proposed for review, as the API shows it. */
export interface ChangeProposal {
  id: string;
  actor: string;
  title: string;
  status: ProposalStatus;
  branch: string;
  commit: string;
  pullRequest?: { number: number; url: string };
  approvers: string[];
  mergeCommit?: string;
  objects: ProposedObject[];
  plan: string;
  /** Approvals the projects' own policies ask (Project manifests' `approvals`). */
  requiredApprovals?: { kind: string; project: string; groups: string[] }[];
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  actor: string;
  title: string;
  branch: string;
  base_branch: string;
  commit: string;
  objects: string;
  plan: string;
  pull_request: number | null;
  url: string | null;
  status: ProposalStatus;
  approvers: string;
  merge_commit: string | null;
  created_at: string;
  updated_at: string;
  required_approvals?: string | null;
}

const money = (n: number | undefined) =>
  n === undefined ? '–' : `$${n.toFixed(2)}`;

/** The plan of a change as the pull request's comment shows it. */
export function planMarkdown(
  plan: Plan,
  impact: { ref: string; dependents: string[] }[],
  breaking: BreakingChange[] = [],
  guides: string[] = [],
): string {
  const lines = [
    '### Plan',
    '',
    '| change | object | monthly cost before | after |',
    '| --- | --- | --- | --- |',
    ...plan.changes
      .filter(c => c.action !== 'unchanged')
      .map(
        c =>
          `| ${c.action} | \`${c.ref}\` | ${money(c.cost?.before)} | ${money(
            c.cost?.after,
          )} |`,
      ),
  ];
  const fields = plan.changes.flatMap(c =>
    c.fields.map(
      f =>
        `- \`${c.ref}\` ${f.path}: ${JSON.stringify(
          f.before ?? null,
        )} → ${JSON.stringify(f.after ?? null)}`,
    ),
  );
  if (fields.length > 0) lines.push('', '#### Fields', '', ...fields);
  if (plan.cost) {
    lines.push(
      '',
      `**Monthly cost**: ${money(plan.cost.before)} → ${money(
        plan.cost.after,
      )} (${plan.cost.delta >= 0 ? '+' : ''}${money(plan.cost.delta)})`,
    );
  }
  lines.push(
    '',
    `**Policy**: ${
      plan.refusals.length === 0
        ? 'every decision allows it'
        : plan.refusals.map(r => `${r.ref}: ${r.message}`).join('; ')
    }`,
  );
  lines.push(
    '',
    breaking.length === 0
      ? '**Breaking changes**: none'
      : `**Breaking changes**:\n${breaking
          .map(b => `- [${b.code}] ${b.message}`)
          .join('\n')}`,
  );
  if (impact.length > 0) {
    lines.push(
      '',
      '**Depends on what changes**:',
      ...impact.map(i => `- \`${i.ref}\` ← ${i.dependents.join(', ')}`),
    );
  }
  for (const guide of guides) {
    // one level below the plan's headings
    lines.push(
      '',
      '<details><summary>Migration guide</summary>',
      '',
      guide.replace(/^#/gm, '####'),
      '</details>',
    );
  }
  return lines.join('\n');
}

/**
 * Changes that need review: validated, admitted and planned like a direct change, written as
 * a commit on a branch of the state repository's remote and opened as a pull request by the
 * installed {@link ChangeProposer}; followed until the pull request is merged (then the main
 * branch is indexed, with the same validation as any push, and the change is applied, its
 * audit event naming the approvers) or closed.
 */
export class ChangeProposals {
  constructor(
    private readonly options: {
      db: Knex;
      repo: GitStateRepo;
      changes: ChangeService;
      manifests: ManifestService;
      audit: AuditLog;
      logger: LoggerService;
      /** Prices a plan (CostService.priced). */
      price: (
        state: DesiredState,
        manifests: Manifest[],
        plan: Plan,
      ) => Promise<Plan>;
      proposer?: ChangeProposer;
    },
  ) {}

  /** Whether a module takes changes for review. */
  get enabled(): boolean {
    return !!this.options.proposer;
  }

  private proposer(): ChangeProposer {
    const { proposer, repo } = this.options;
    if (!proposer || !repo.hasRemote) {
      throw new ConflictError(
        'Changes cannot be proposed for review here: that needs a pull request module (e.g. the GitHub module) and a state repository with a remote',
      );
    }
    return proposer;
  }

  /** Proposes manifests for review: a branch, a pull request with the plan; 202. */
  async propose(
    parsed: ParsedManifests,
    ctx: CallContext,
    view: ResourceView = ResourceView.everything,
  ): Promise<ChangeProposal> {
    const { manifests } = this.options;
    const plan = await manifests.plan(parsed, ctx, view);
    const count = parsed.manifests.length;
    return this.proposeChange(
      {
        action: 'manifests.apply',
        target: 'state-repo',
        message: `apply ${count} manifest${count === 1 ? '' : 's'}`,
        title: `${
          count === 1 ? plan.changes[0].ref : `${count} objects`
        }: ${summaryOf(plan)}`,
        plan,
        manifests: parsed.manifests,
        acknowledgeBreaking: parsed.acknowledgeBreaking,
        ...checkedInView(view, s => manifests.changeSet(s, parsed, view)),
      },
      ctx,
    );
  }

  /** Whether changes can be proposed here: a module takes them and the state repo has a remote. */
  get canPropose(): boolean {
    return !!this.options.proposer && this.options.repo.hasRemote;
  }

  /**
   * Proposes for review a request sent straight to the main branch that needs review (a
   * {@link ReviewRequiredError}): the same change, as a pull request with its plan; 202.
   */
  async proposeRequest(
    error: ReviewRequiredError,
    ctx: CallContext,
  ): Promise<ChangeProposal> {
    const { request, state, changes } = error;
    const plan: Plan = {
      ...planOf(state, { manifests: changes.put, prune: false }, changes),
      refusals: [],
    };
    const count = plan.changes.length;
    return this.proposeChange(
      {
        action: request.action,
        target: request.target,
        message: request.message,
        compute: request.compute,
        acknowledgeBreaking: request.acknowledgeBreaking,
        ...(request.describeIssues
          ? { describeIssues: request.describeIssues }
          : {}),
        title: `${
          count === 1 ? plan.changes[0].ref : `${count} objects`
        }: ${summaryOf(plan)}`,
        plan,
        manifests: changes.put,
      },
      ctx,
    );
  }

  /**
   * Proposes a change for review: written by {@link ChangeService.writeForReview} (validated
   * and admitted on the current head) as a commit on a branch pushed to the remote, with the
   * approvals policy as CODEOWNERS, and opened as a pull request carrying `plan`; 202.
   */
  async proposeChange(
    proposal: Pick<
      ChangeRequest,
      | 'action'
      | 'target'
      | 'message'
      | 'compute'
      | 'describeIssues'
      | 'acknowledgeBreaking'
    > & {
      title: string;
      plan: Plan;
      /** What the change writes (priced, and its tiers and owners decide the reviews). */
      manifests: Manifest[];
    },
    ctx: CallContext,
  ): Promise<ChangeProposal> {
    const proposer = this.proposer();
    const { changes, repo, db } = this.options;
    const { plan } = proposal;
    const id = randomUUID();
    await proposer.prepare?.();
    const written = await changes.writeForReview(
      {
        actor: ctx.actor,
        action: proposal.action,
        target: proposal.target,
        message: `${proposal.message.split('\n')[0]} (change ${id.slice(
          0,
          8,
        )})${proposal.message.slice(proposal.message.split('\n')[0].length)}`,
        requestId: ctx.requestId,
        source: ctx.source,
        compute: proposal.compute,
        acknowledgeBreaking: proposal.acknowledgeBreaking,
        ...(proposal.describeIssues
          ? { describeIssues: proposal.describeIssues }
          : {}),
      },
      next => {
        const content = proposer.codeowners?.(
          next.ofKind('Resource').map(m => ({
            path: manifestPath(manifestKey(m)),
            namespace: m.metadata.namespace,
            owner: m.spec.owner,
            tier: m.spec.tier,
          })),
        );
        return content === undefined
          ? []
          : [{ path: '.github/CODEOWNERS', content }];
      },
    );
    const priced = await this.options.price(
      written.state,
      proposal.manifests,
      plan,
    );
    const objects = proposedObjects(written.state, plan, proposal.manifests);
    // The same breaking changes and impact `idp validate` reports in CI.
    const changed = written.changes.put.map(manifestKey);
    const impact = crossNamespaceImpact(written.state, written.next, [
      ...changed,
      ...written.changes.remove,
    ]);
    const breaking = breakingChanges(
      written.state,
      written.next,
      changed,
      written.changes.remove,
    );
    const approvals = breakingApprovals(
      written.next,
      definitionImpacts(
        written.state,
        written.next,
        changed,
        written.changes.remove,
      ),
    ).map(a => ({ kind: 'breaking', ...a }));
    const change: ProposedChange = {
      ...(approvals.length > 0 ? { approvals } : {}),
      id,
      actor: ctx.actor,
      title: proposal.title,
      branch: `idp/change-${id.slice(0, 8)}`,
      baseBranch: repo.branch,
      commit: written.commit,
      objects,
      plan: planMarkdown(
        priced,
        impact,
        breaking,
        definitionImpacts(
          written.state,
          written.next,
          changed,
          written.changes.remove,
        )
          .filter(breaksResources)
          .map(d => migrationGuide(d)),
      ),
    };
    await repo.pushBranch(written.commit, change.branch);
    const now = DateTime.utc().toISO()!;
    await db<Row>('change_proposals').insert({
      id,
      actor: change.actor,
      title: change.title,
      branch: change.branch,
      base_branch: change.baseBranch,
      commit: change.commit,
      objects: JSON.stringify(objects),
      plan: change.plan,
      required_approvals:
        approvals.length > 0 ? JSON.stringify(approvals) : null,
      status: 'awaiting-approval',
      approvers: '[]',
      created_at: now,
      updated_at: now,
    });
    const pr = await proposer.propose(change);
    await db<Row>('change_proposals')
      .where({ id })
      .update({ pull_request: pr.number, url: pr.url, updated_at: now });
    return this.get(id);
  }

  async get(id: string): Promise<ChangeProposal> {
    const row = await this.options
      .db<Row>('change_proposals')
      .where({ id })
      .first();
    if (!row) throw new NotFoundError(`No change proposal ${id}`);
    return toProposal(row);
  }

  /** Asks the pull request host about a proposal and moves its status on; returns it. */
  async refresh(id: string): Promise<ChangeProposal> {
    const { db, changes, repo, audit } = this.options;
    const proposal = await this.get(id);
    if (
      !this.options.proposer ||
      !proposal.pullRequest ||
      proposal.status === 'applied' ||
      proposal.status === 'closed'
    ) {
      return proposal;
    }
    const now = DateTime.utc().toISO()!;
    let status: ProposalStatus = proposal.status;
    let { approvers, mergeCommit } = proposal;
    if (status === 'awaiting-approval') {
      const pr = await this.options.proposer.status(
        {
          id,
          actor: proposal.actor,
          title: proposal.title,
          branch: proposal.branch,
          baseBranch: repo.branch,
          commit: proposal.commit,
          objects: proposal.objects,
          plan: proposal.plan,
          ...(proposal.requiredApprovals
            ? { approvals: proposal.requiredApprovals }
            : {}),
        },
        proposal.pullRequest.number,
      );
      approvers = pr.approvers;
      if (pr.state === 'closed') status = 'closed';
      if (pr.state === 'merged') {
        status = 'merged';
        mergeCommit = pr.mergeCommit;
      }
    }
    if (status === 'merged' && mergeCommit) {
      // Applied once the main branch holding the merge is indexed (validated like any push).
      const state = await changes.current();
      if (
        state.commit &&
        (state.commit === mergeCommit ||
          (await repo.isAncestor(mergeCommit, state.commit).catch(() => false)))
      ) {
        status = 'applied';
      }
    }
    if (
      status === proposal.status &&
      JSON.stringify(approvers) === JSON.stringify(proposal.approvers)
    ) {
      return proposal;
    }
    // Compare-and-set: a webhook and a read may refresh at once; one moves it.
    const moved = await db<Row>('change_proposals')
      .where({ id, status: proposal.status })
      .update({
        status,
        approvers: JSON.stringify(approvers),
        merge_commit: mergeCommit ?? null,
        updated_at: now,
      });
    if (moved === 0) return this.get(id);
    if (status === 'applied') {
      await audit.append({
        actor: proposal.actor,
        action: 'change.applied',
        target: `change:${id}`,
        outcome: 'succeeded',
        reason: `pull request #${
          proposal.pullRequest.number
        } merged as ${mergeCommit!.slice(0, 12)}, approved by ${
          approvers.join(', ') || 'nobody'
        }`,
        approvers,
        commit: mergeCommit,
      });
    }
    return this.get(id);
  }

  /** Refreshes every proposal not yet applied or closed (webhooks and polls call it). */
  async refreshOpen(): Promise<void> {
    const open = await this.options
      .db<Row>('change_proposals')
      .whereIn('status', ['awaiting-approval', 'merged'])
      .select('id');
    for (const { id } of open) {
      try {
        await this.refresh(id);
      } catch (error) {
        this.options.logger.warn(
          `could not refresh change proposal ${id}: ${error}`,
        );
      }
    }
  }

  /** Starts listening to the proposer (webhooks, polls). */
  start(): void {
    this.options.proposer?.watch?.(() => {
      void this.refreshOpen();
    });
  }
}

function summaryOf(plan: Plan): string {
  const { create, update, delete: remove } = plan.summary;
  return [
    create ? `create ${create}` : '',
    update ? `update ${update}` : '',
    remove ? `delete ${remove}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** What a plan touches, with each resource's tier and owner (as it was, for a deletion). */
function proposedObjects(
  state: DesiredState,
  plan: Plan,
  manifests: Manifest[],
): ProposedObject[] {
  const written = new Map(
    manifests.flatMap(m =>
      m.kind === 'Resource'
        ? [[stringifyResourceRef(manifestKey(m)), m] as const]
        : [],
    ),
  );
  return plan.changes.map(c => {
    if (c.kind !== 'Resource') {
      return {
        kind: c.kind,
        ref: c.ref,
        namespace: 'default',
        action: c.action,
      };
    }
    const m: ManifestOf<'Resource'> | undefined =
      written.get(c.ref) ?? state.resource(c.ref);
    return {
      kind: c.kind,
      ref: c.ref,
      namespace: parseResourceRef(c.ref).namespace,
      action: c.action,
      ...(m
        ? { tier: m.spec.tier, owner: m.spec.owner, cell: m.spec.cell }
        : {}),
    };
  });
}

function toProposal(row: Row): ChangeProposal {
  return {
    id: row.id,
    actor: row.actor,
    title: row.title,
    status: row.status,
    branch: row.branch,
    commit: row.commit,
    ...(row.pull_request !== null && row.url
      ? { pullRequest: { number: Number(row.pull_request), url: row.url } }
      : {}),
    approvers: JSON.parse(row.approvers),
    ...(row.merge_commit ? { mergeCommit: row.merge_commit } : {}),
    objects: JSON.parse(row.objects),
    plan: row.plan,
    ...(row.required_approvals
      ? { requiredApprovals: JSON.parse(row.required_approvals) }
      : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
