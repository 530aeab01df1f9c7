import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ChangeProposalState,
  ChangeProposer,
  ProposedChange,
  ProposedObject,
} from '@idp-multicloud/plugin-control-plane-node';
import { Config } from '@backstage/config';
import {
  DefaultGithubCredentialsProvider,
  ScmIntegrations,
} from '@backstage/integration';
import { Octokit } from '@octokit/rest';
import {
  approvalVerdict,
  codeownersFor,
  ApprovalRequirement,
  requiredApprovals,
  TeamOf,
  withProjectApprovals,
  teamOf,
} from './approvals';
import { GitHubSettings } from './config';

/** The name of the check run that carries the plan and the approvals verdict. */
export const CHECK_NAME = 'idp plan';

/**
 * Proposes changes as GitHub pull requests: the control plane pushed the change's branch; this
 * opens the pull request, comments the plan and adds the `idp plan` check run, which passes
 * once the approvals policy is met (require it in the branch protection of the main branch:
 * merging is then refused until it passes). Its state is read back by polling and on webhooks.
 */
export class GitHubChangeProposer implements ChangeProposer {
  private readonly watchers: (() => void)[] = [];
  /** Owner groups' GitHub teams, from the catalog (refreshed by the module). */
  private ownerTeam: TeamOf = teamOf;

  constructor(
    private readonly settings: GitHubSettings,
    private readonly logger: LoggerService,
    /** A client with fresh credentials (an App installation's token expires). */
    private readonly client: () => Promise<Octokit>,
  ) {}

  /**
   * A proposer on the host's Backstage integration (`integrations.github`): its API base URL
   * and its credentials (token or GitHub App), unless the module's own config names them.
   */
  static fromConfig(
    settings: GitHubSettings,
    config: Config,
    logger: LoggerService,
  ): GitHubChangeProposer {
    const integrations = ScmIntegrations.fromConfig(config);
    const integration = integrations.github.byHost(settings.host);
    const baseUrl = settings.baseUrl ?? integration?.config.apiBaseUrl;
    const credentials =
      DefaultGithubCredentialsProvider.fromIntegrations(integrations);
    const repoUrl = `https://${settings.host}/${settings.owner}/${settings.repo}`;
    return new GitHubChangeProposer(settings, logger, async () => {
      const token =
        settings.token ??
        (await credentials.getCredentials({ url: repoUrl })).token;
      if (!token) {
        throw new Error(
          `No GitHub credentials for ${repoUrl}: set controlPlane.github.token or an integrations.github entry for ${settings.host}`,
        );
      }
      return new Octokit({
        auth: token,
        ...(baseUrl ? { baseUrl } : {}),
        userAgent: 'idp-multicloud-control-plane',
      });
    });
  }

  private get repo() {
    return { owner: this.settings.owner, repo: this.settings.repo };
  }

  requiresReview(change: { objects: ProposedObject[] }): boolean {
    const { namespaces, tiers } = this.settings.review;
    return change.objects.some(
      o =>
        o.kind === 'Resource' &&
        (namespaces.includes(o.namespace) ||
          (o.tier !== undefined && tiers.includes(o.tier))),
    );
  }

  private readTeams?: () => Promise<TeamOf>;
  private teamsReadAt = 0;

  /**
   * Reads the owner groups' GitHub teams with `read` (from the catalog's
   * `github.com/team-slug`) before a change is proposed, at most every minute; when it
   * fails, owner groups map to their names.
   */
  readTeamsWith(read: () => Promise<TeamOf>): void {
    this.readTeams = read;
  }

  async prepare(): Promise<void> {
    if (!this.readTeams || Date.now() - this.teamsReadAt < 60_000) return;
    try {
      this.ownerTeam = await this.readTeams();
      this.teamsReadAt = Date.now();
    } catch (error) {
      this.logger.warn(
        `could not read the catalog's groups for their GitHub teams (owner groups map to their names): ${error}`,
      );
    }
  }

  private requirement(change: ProposedChange): ApprovalRequirement {
    return withProjectApprovals(
      requiredApprovals(
        this.settings.approvals,
        change.objects,
        this.ownerTeam,
      ),
      change.approvals ?? [],
      this.ownerTeam,
    );
  }

  async propose(
    change: ProposedChange,
  ): Promise<{ number: number; url: string }> {
    const requirement = this.requirement(change);
    const pr = await (
      await this.client()
    ).pulls.create({
      ...this.repo,
      title: change.title,
      head: change.branch,
      base: change.baseBranch,
      body: `Proposed by ${
        change.actor
      } through the IDP control plane (change \`${
        change.id
      }\`).\n\nApprovals needed: ${describe(requirement)}.`,
    });
    await (
      await this.client()
    ).issues.createComment({
      ...this.repo,
      issue_number: pr.data.number,
      body: change.plan,
    });
    await (
      await this.client()
    ).checks.create({
      ...this.repo,
      name: CHECK_NAME,
      head_sha: change.commit,
      status: 'completed',
      conclusion: 'action_required',
      output: {
        title: `Waiting for approvals: ${describe(requirement)}`,
        summary: change.plan,
      },
    });
    this.logger.info(
      `proposed change ${change.id} as pull request #${pr.data.number}`,
    );
    return { number: pr.data.number, url: pr.data.html_url };
  }

  async status(
    change: ProposedChange,
    pullRequest: number,
  ): Promise<ChangeProposalState> {
    await this.prepare();
    const { data: pr } = await (
      await this.client()
    ).pulls.get({
      ...this.repo,
      pull_number: pullRequest,
    });
    const approvers = await this.approvers(pullRequest);
    if (pr.merged) {
      return {
        state: 'merged',
        approvers,
        ...(pr.merge_commit_sha ? { mergeCommit: pr.merge_commit_sha } : {}),
      };
    }
    if (pr.state === 'closed') return { state: 'closed', approvers };
    await this.updateCheck(change, approvers);
    return { state: 'awaiting-approval', approvers };
  }

  /** Who approved: the latest review of each reviewer, when it approves. */
  private async approvers(pullRequest: number): Promise<string[]> {
    const reviews = [];
    for (let page = 1; ; page++) {
      const { data } = await (
        await this.client()
      ).pulls.listReviews({
        ...this.repo,
        pull_number: pullRequest,
        per_page: 100,
        page,
      });
      reviews.push(...data);
      if (data.length < 100) break;
    }
    const latest = new Map<string, string>();
    for (const review of reviews) {
      const login = review.user?.login;
      if (!login || review.state === 'COMMENTED') continue;
      latest.set(login, review.state);
    }
    return [...latest]
      .filter(([, state]) => state === 'APPROVED')
      .map(([login]) => login)
      .sort();
  }

  /** The check run's verdict from the approvals policy; it passes once met. */
  private async updateCheck(change: ProposedChange, approvers: string[]) {
    const requirement = this.requirement(change);
    const memberships = new Map<string, boolean>();
    for (const team of new Set(requirement.teams.flat())) {
      for (const user of approvers) {
        memberships.set(`${team}/${user}`, await this.isMember(team, user));
      }
    }
    const verdict = approvalVerdict(
      requirement,
      approvers,
      (team, user) => memberships.get(`${team}/${user}`) ?? false,
    );
    const { data } = await (
      await this.client()
    ).checks.listForRef({
      ...this.repo,
      ref: change.commit,
      check_name: CHECK_NAME,
    });
    const run = data.check_runs[0];
    const output = verdict.met
      ? {
          title: `Approved by ${approvers.join(', ')}`,
          summary: change.plan,
        }
      : {
          title: `Waiting for ${verdict.missing.join('; ')}`,
          summary: change.plan,
        };
    const conclusion = verdict.met ? 'success' : 'action_required';
    if (
      run &&
      run.conclusion === conclusion &&
      run.output?.title === output.title
    ) {
      return;
    }
    if (run) {
      await (
        await this.client()
      ).checks.update({
        ...this.repo,
        check_run_id: run.id,
        status: 'completed',
        conclusion,
        output,
      });
    } else {
      await (
        await this.client()
      ).checks.create({
        ...this.repo,
        name: CHECK_NAME,
        head_sha: change.commit,
        status: 'completed',
        conclusion,
        output,
      });
    }
  }

  private async isMember(team: string, user: string): Promise<boolean> {
    try {
      const { data } = await (
        await this.client()
      ).teams.getMembershipForUserInOrg({
        org: this.settings.owner,
        team_slug: team,
        username: user,
      });
      return data.state === 'active';
    } catch (error) {
      if ((error as { status?: number }).status === 404) return false;
      throw error;
    }
  }

  codeowners(
    resources: {
      path: string;
      namespace: string;
      owner: string;
      tier: string;
    }[],
  ): string {
    return codeownersFor(
      this.settings.owner,
      this.settings.approvals,
      resources,
      this.ownerTeam,
    );
  }

  watch(onChange: () => void): void {
    this.watchers.push(onChange);
  }

  /** A webhook delivery or a poll: the control plane looks at open proposals again. */
  notify(): void {
    for (const watcher of this.watchers) watcher();
  }
}

function describe(requirement: ApprovalRequirement): string {
  return [
    `${requirement.count} approval${requirement.count === 1 ? '' : 's'}`,
    ...requirement.teams.map(t => `one from ${t.join(' or ')}`),
  ].join(', ');
}
