import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A failed git command, with what it printed. */
export class GitError extends Error {
  constructor(args: string[], code: number | null, stderr: string) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
    this.name = 'GitError';
  }
}

function git(
  args: string[],
  cwd: string,
  input?: Buffer | string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: {
        ...process.env,
        // Never read the user's or the system's git configuration, never prompt.
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', c => out.push(c));
    child.stderr.on('data', c => err.push(c));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new GitError(args, code, Buffer.concat(err).toString('utf8'))),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** The object id git gives a file's content. */
export function blobSha(content: Buffer): string {
  return createHash('sha1')
    .update(`blob ${content.length}\0`)
    .update(content)
    .digest('hex');
}

/** The options of a deploy repository. */
export interface DeployRepoOptions {
  /** A bare repository on local disk; made when absent. */
  path: string;
  branch: string;
  /** A remote each commit is pushed to (and fetched from before each commit). */
  pushUrl?: string;
  authorName: string;
  authorEmail: string;
}

/** What a commit of {@link DeployRepo.commitTree} did. */
export interface TreeCommit {
  /** The new commit; undefined when the tree was already as asked. */
  commit?: string;
  /** The files added, changed or removed. */
  changed: string[];
}

/**
 * The deploy repository: a real git repository whose branch holds, at each commit, the whole
 * rendered tree. A commit writes only what differs from the branch's head (`git fast-import`,
 * one process); when nothing differs there is no commit. Commits are serialised in-process.
 */
export class DeployRepo {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DeployRepoOptions) {}

  get path() {
    return this.options.path;
  }

  /** Makes the bare repository when it does not exist yet. */
  async ensure(): Promise<void> {
    const { path, branch } = this.options;
    if (existsSync(path)) return;
    mkdirSync(dirname(path), { recursive: true });
    await git(
      ['init', '--bare', '--quiet', `--initial-branch=${branch}`, path],
      dirname(path),
    );
  }

  /** The branch's head commit, if it has one. */
  async head(): Promise<string | undefined> {
    try {
      return (
        await git(
          [
            'rev-parse',
            '--verify',
            '--quiet',
            `refs/heads/${this.options.branch}^{commit}`,
          ],
          this.options.path,
        )
      ).trim();
    } catch {
      return undefined;
    }
  }

  /** Every file of a commit, path → blob id. */
  async files(commit: string | undefined): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    if (!commit) return files;
    const out = await git(['ls-tree', '-r', '-z', commit], this.options.path);
    for (const entry of out.split('\0')) {
      if (!entry) continue;
      const tab = entry.indexOf('\t');
      const [, type, sha] = entry.slice(0, tab).split(' ');
      if (type === 'blob') files.set(entry.slice(tab + 1), sha);
    }
    return files;
  }

  /** A file's content at a commit (the head by default). */
  async read(path: string, commit?: string): Promise<string | undefined> {
    const at = commit ?? (await this.head());
    if (!at) return undefined;
    try {
      return await git(['show', `${at}:${path}`], this.options.path);
    } catch {
      return undefined;
    }
  }

  /**
   * Whether `path` holds at `commit` what it holds at the head: a tool that applied `commit`
   * applied the latest render of that file. False when either lacks the file, or the commit
   * is not in this repository.
   */
  async sameAsHead(path: string, commit: string): Promise<boolean> {
    const head = await this.head();
    if (!head || !/^[0-9a-f]{7,64}$/.test(commit)) return false;
    try {
      const [at, now] = (
        await git(
          ['rev-parse', `${commit}:${path}`, `${head}:${path}`],
          this.options.path,
        )
      )
        .trim()
        .split('\n');
      return at === now;
    } catch {
      return false;
    }
  }

  /** A commit's full message. */
  async message(commit: string): Promise<string> {
    return git(['log', '-1', '--format=%B', commit], this.options.path);
  }

  /**
   * Makes the branch hold exactly `files` (path → content), in one commit with `message`
   * (a function of what changed); no commit when the head already holds them.
   */
  commitTree(
    files: Map<string, string>,
    message: (changed: string[]) => string,
  ): Promise<TreeCommit> {
    const run = this.#queue.then(() => this.#commitTree(files, message));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #commitTree(
    files: Map<string, string>,
    message: (changed: string[]) => string,
  ): Promise<TreeCommit> {
    await this.ensure();
    const { path, branch, pushUrl, authorName, authorEmail } = this.options;
    if (pushUrl) await this.#fetch();
    const parent = await this.head();
    const before = await this.files(parent);
    const writes: [string, Buffer][] = [];
    for (const [file, content] of [...files].sort(([a], [b]) =>
      a < b ? -1 : 1,
    )) {
      const bytes = Buffer.from(content, 'utf8');
      if (before.get(file) !== blobSha(bytes)) writes.push([file, bytes]);
    }
    const removes = [...before.keys()].filter(f => !files.has(f)).sort();
    const changed = [...writes.map(([f]) => f), ...removes].sort();
    if (changed.length === 0) return { changed };

    const text = Buffer.from(message(changed), 'utf8');
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const who = `${authorName} <${authorEmail}>`;
    const chunks: Buffer[] = [
      Buffer.from(
        `commit refs/heads/${branch}\nauthor ${who} ${when}\ncommitter ${who} ${when}\ndata ${text.length}\n`,
      ),
      text,
      Buffer.from(`\n${parent ? `from ${parent}\n` : ''}`),
    ];
    for (const [file, bytes] of writes) {
      chunks.push(
        Buffer.from(`M 100644 inline ${file}\ndata ${bytes.length}\n`),
        bytes,
        Buffer.from('\n'),
      );
    }
    for (const file of removes) chunks.push(Buffer.from(`D ${file}\n`));
    chunks.push(Buffer.from('done\n'));
    await git(
      ['fast-import', '--quiet', '--done'],
      path,
      Buffer.concat(chunks),
    );
    const commit = await this.head();
    if (pushUrl) {
      await git(
        [
          'push',
          '--quiet',
          pushUrl,
          `refs/heads/${branch}:refs/heads/${branch}`,
        ],
        path,
      );
    }
    return { commit, changed };
  }

  /** Takes the remote's branch (when it has one) as the local branch. */
  async #fetch() {
    const { path, branch, pushUrl } = this.options;
    const remote = await git(
      ['ls-remote', pushUrl!, `refs/heads/${branch}`],
      path,
    );
    if (!remote.trim()) return;
    await git(
      [
        'fetch',
        '--quiet',
        pushUrl!,
        `+refs/heads/${branch}:refs/heads/${branch}`,
      ],
      path,
    );
  }
}
