import { execFileSync } from 'node:child_process';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

interface PullRequest {
  number: number;
  title: string;
  body: string;
  head: { ref: string; sha: string };
  base: { ref: string };
  state: 'open' | 'closed';
  merged: boolean;
  merge_commit_sha: string | null;
  merged_by: { login: string } | null;
}

type Send = (status: number, payload: unknown) => void;

interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string };
}

/**
 * A local GitHub for tests: the REST API endpoints the GitHub module calls, with GitHub's paths,
 * status codes and payload shapes, over a real bare Git repository (the repository's git remote:
 * branches the control plane pushes are there, and merging a pull request makes a real merge
 * commit on the base branch). Branch protection is modelled as GitHub enforces it: with
 * `requiredChecks`, merging is refused (405) until the head commit's latest check run of each
 * name concluded `success`.
 */
export class FakeGitHub {
  readonly pulls: PullRequest[] = [];
  readonly comments: { issue: number; body: string }[] = [];
  readonly checkRuns: CheckRun[] = [];
  readonly reviews = new Map<
    number,
    { id: number; user: { login: string }; state: string }[]
  >();
  /** team slug → logins */
  readonly teams = new Map<string, Set<string>>();
  readonly requests: { method: string; path: string }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: {
      owner: string;
      repo: string;
      token: string;
      gitDir: string;
      requiredChecks: string[];
    },
  ) {}

  static async start(options: {
    owner: string;
    repo: string;
    token: string;
    /** The bare repository that is the GitHub repository's git remote. */
    gitDir: string;
    requiredChecks?: string[];
  }): Promise<FakeGitHub> {
    const started: { fake?: FakeGitHub } = {};
    const server = createServer((req, res) => {
      void started.fake!.handle(req, res);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    started.fake = new FakeGitHub(server, url, {
      ...options,
      requiredChecks: options.requiredChecks ?? [],
    });
    return started.fake;
  }

  stop(): Promise<void> {
    return new Promise(resolve => this.server.close(() => resolve()));
  }

  /** A reviewer submits a review (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`). */
  review(pr: number, login: string, state: string) {
    const list = this.reviews.get(pr) ?? [];
    list.push({ id: list.length + 1, user: { login }, state });
    this.reviews.set(pr, list);
  }

  addTeamMember(team: string, login: string) {
    const members = this.teams.get(team) ?? new Set();
    members.add(login);
    this.teams.set(team, members);
  }

  private git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.options.gitDir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'GitHub',
        GIT_AUTHOR_EMAIL: 'noreply@github.invalid',
        GIT_COMMITTER_NAME: 'GitHub',
        GIT_COMMITTER_EMAIL: 'noreply@github.invalid',
      },
    })
      .toString()
      .trim();
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? JSON.parse(raw) : {};
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `token ${this.options.token}`) {
      send(401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
      return;
    }
    const { owner, repo } = this.options;
    const r = `/repos/${owner}/${repo}`;
    const routes: [string, RegExp, (m: RegExpExecArray) => void][] = [
      ['POST', new RegExp(`^${r}/pulls$`), () => this.createPull(body, send)],
      [
        'GET',
        new RegExp(`^${r}/pulls/(\\d+)$`),
        m => this.withPull(m, send, pr => send(200, this.pullJson(pr))),
      ],
      [
        'PATCH',
        new RegExp(`^${r}/pulls/(\\d+)$`),
        m =>
          this.withPull(m, send, pr => {
            if (body.state === 'closed') pr.state = 'closed';
            send(200, this.pullJson(pr));
          }),
      ],
      [
        'GET',
        new RegExp(`^${r}/pulls/(\\d+)/reviews$`),
        m => send(200, this.reviews.get(Number(m[1])) ?? []),
      ],
      [
        'PUT',
        new RegExp(`^${r}/pulls/(\\d+)/merge$`),
        m => this.withPull(m, send, pr => this.merge(pr, send)),
      ],
      [
        'POST',
        new RegExp(`^${r}/issues/(\\d+)/comments$`),
        m => {
          this.comments.push({ issue: Number(m[1]), body: body.body });
          send(201, { id: this.comments.length, body: body.body });
        },
      ],
      [
        'POST',
        new RegExp(`^${r}/check-runs$`),
        () => {
          const run: CheckRun = {
            id: this.checkRuns.length + 1,
            name: body.name,
            head_sha: body.head_sha,
            status: body.status ?? 'queued',
            conclusion: body.conclusion ?? null,
            output: body.output ?? {},
          };
          this.checkRuns.push(run);
          send(201, run);
        },
      ],
      [
        'PATCH',
        new RegExp(`^${r}/check-runs/(\\d+)$`),
        m => {
          const run = this.checkRuns.find(c => c.id === Number(m[1]));
          if (!run) {
            send(404, { message: 'Not Found' });
            return;
          }
          Object.assign(run, {
            ...(body.status ? { status: body.status } : {}),
            ...(body.conclusion ? { conclusion: body.conclusion } : {}),
            ...(body.output ? { output: body.output } : {}),
          });
          send(200, run);
        },
      ],
      [
        'GET',
        new RegExp(`^${r}/commits/([^/]+)/check-runs$`),
        m => {
          const name = url.searchParams.get('check_name');
          const runs = this.checkRuns
            .filter(c => c.head_sha === m[1] && (!name || c.name === name))
            .reverse();
          send(200, { total_count: runs.length, check_runs: runs });
        },
      ],
      [
        'GET',
        new RegExp(`^/orgs/${owner}/teams/([^/]+)/memberships/([^/]+)$`),
        m => {
          if (this.teams.get(m[1])?.has(m[2])) {
            send(200, { state: 'active', role: 'member' });
          } else {
            send(404, { message: 'Not Found' });
          }
        },
      ],
    ];
    for (const [routeMethod, pattern, handler] of routes) {
      const m = routeMethod === method ? pattern.exec(url.pathname) : null;
      if (m) {
        handler(m);
        return;
      }
    }
    send(404, { message: 'Not Found' });
  }

  private withPull(
    m: RegExpExecArray,
    send: Send,
    then: (pr: PullRequest) => void,
  ) {
    const pr = this.pulls[Number(m[1]) - 1];
    if (pr) then(pr);
    else send(404, { message: 'Not Found' });
  }

  private createPull(body: any, send: Send) {
    let sha: string;
    try {
      sha = this.git('rev-parse', '--verify', `refs/heads/${body.head}`);
    } catch {
      send(422, {
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }],
      });
      return;
    }
    const pr: PullRequest = {
      number: this.pulls.length + 1,
      title: body.title,
      body: body.body ?? '',
      head: { ref: body.head, sha },
      base: { ref: body.base },
      state: 'open',
      merged: false,
      merge_commit_sha: null,
      merged_by: null,
    };
    this.pulls.push(pr);
    send(201, this.pullJson(pr));
  }

  /** Merges as GitHub does: branch protection first, then a real merge commit. */
  private merge(pr: PullRequest, send: Send) {
    if (pr.state !== 'open') {
      send(405, { message: 'Pull Request is not mergeable' });
      return;
    }
    for (const name of this.options.requiredChecks) {
      const runs = this.checkRuns.filter(
        c => c.head_sha === pr.head.sha && c.name === name,
      );
      const latest = runs[runs.length - 1];
      if (!latest || latest.conclusion !== 'success') {
        send(405, {
          message: `Required status check "${name}" is ${
            latest ? 'failing' : 'expected'
          }.`,
        });
        return;
      }
    }
    const base = this.git('rev-parse', `refs/heads/${pr.base.ref}`);
    let tree: string;
    try {
      tree = this.git('merge-tree', '--write-tree', base, pr.head.sha).split(
        '\n',
      )[0];
    } catch {
      send(405, { message: 'Pull Request is not mergeable' });
      return;
    }
    const merge = this.git(
      'commit-tree',
      tree,
      '-p',
      base,
      '-p',
      pr.head.sha,
      '-m',
      `Merge pull request #${pr.number} from ${this.options.owner}/${pr.head.ref}`,
    );
    this.git('update-ref', `refs/heads/${pr.base.ref}`, merge, base);
    pr.state = 'closed';
    pr.merged = true;
    pr.merge_commit_sha = merge;
    send(200, {
      sha: merge,
      merged: true,
      message: 'Pull Request successfully merged',
    });
  }

  private pullJson(pr: PullRequest) {
    return {
      ...pr,
      html_url: `${this.url}/${this.options.owner}/${this.options.repo}/pull/${pr.number}`,
    };
  }
}
