import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git, GitCommandError, runGit } from './git';

const ZERO_SHA = '0'.repeat(40);

/** Who a commit is attributed to. */
export interface GitAuthor {
  name: string;
  email: string;
}

/** A file to write (`content`) or remove (`content` undefined). */
export interface FileChange {
  path: string;
  content?: string;
}

export interface CommitRequest {
  changes: FileChange[];
  /** First line: the action; more lines may follow. */
  message: string;
  author: GitAuthor;
  /** Appended as `Key: value` trailers. */
  trailers?: Record<string, string>;
  /** The head the change was computed against: the commit fails if the branch moved. */
  parent: string | undefined;
}

export type CommitResult =
  | { status: 'committed'; sha: string }
  | { status: 'unchanged'; sha: string | undefined }
  | { status: 'conflict' };

export interface CommitInfo {
  sha: string;
  parents: string[];
  author: GitAuthor;
  date: string;
  message: string;
  trailers: Record<string, string>;
}

export interface GitStateRepoOptions {
  /** The local bare repository; created when missing. */
  path: string;
  branch?: string;
  /** A remote that is the source of truth; the local repository mirrors its branch. */
  remote?: { url: string };
  committer?: GitAuthor;
}

/**
 * The desired-state repository: a bare Git repository written with plumbing commands, so no
 * working copy is needed and every commit is a compare-and-swap of the branch (`update-ref`
 * with the expected old value, or a push the remote refuses when it moved).
 */
export class GitStateRepo {
  private constructor(
    readonly path: string,
    readonly branch: string,
    private readonly remote: { url: string } | undefined,
    private readonly committer: GitAuthor,
  ) {}

  static async open(options: GitStateRepoOptions): Promise<GitStateRepo> {
    const branch = options.branch ?? 'main';
    const path = options.path;
    if (!existsSync(join(path, 'HEAD'))) {
      mkdirSync(dirname(path), { recursive: true });
      if (options.remote) {
        await git(['clone', '--bare', '--quiet', options.remote.url, path], {
          cwd: dirname(path),
        }).catch(async error => {
          // An empty or missing remote: start an empty local repository pointing at it.
          if (!(error instanceof GitCommandError)) throw error;
          await git(
            ['init', '--bare', '--quiet', `--initial-branch=${branch}`, path],
            {
              cwd: dirname(path),
            },
          );
        });
      } else {
        await git(
          ['init', '--bare', '--quiet', `--initial-branch=${branch}`, path],
          {
            cwd: dirname(path),
          },
        );
      }
    }
    const repo = new GitStateRepo(
      path,
      branch,
      options.remote,
      options.committer ?? {
        name: 'IDP control plane',
        email: 'control-plane@idp.invalid',
      },
    );
    if (options.remote) {
      await repo.run(['remote', 'remove', 'origin']).catch(() => undefined);
      await repo.run(['remote', 'add', 'origin', options.remote.url]);
    }
    return repo;
  }

  private run(
    args: string[],
    input?: string | Buffer,
    env?: Record<string, string>,
  ) {
    return git(args, { cwd: this.path, input, env });
  }

  /** The branch's head commit, or undefined while the repository is empty. */
  async head(): Promise<string | undefined> {
    try {
      return await this.run([
        'rev-parse',
        '--verify',
        '--quiet',
        `refs/heads/${this.branch}^{commit}`,
      ]);
    } catch (error) {
      if (error instanceof GitCommandError && error.code === 1) {
        return undefined;
      }
      throw error;
    }
  }

  /** With a remote: makes the local branch match the remote's. */
  async refresh(): Promise<void> {
    if (!this.remote) {
      return;
    }
    try {
      await this.run([
        'fetch',
        '--quiet',
        'origin',
        `+refs/heads/${this.branch}:refs/heads/${this.branch}`,
      ]);
    } catch (error) {
      // The remote branch does not exist yet: nothing to mirror.
      if (
        !(
          error instanceof GitCommandError &&
          /couldn't find remote ref/i.test(error.stderr)
        )
      ) {
        throw error;
      }
    }
  }

  /**
   * Writes one commit on top of `parent`. Returns `conflict` when the branch moved since
   * (the caller re-reads and retries), `unchanged` when the changes change nothing.
   */
  async commit(request: CommitRequest): Promise<CommitResult> {
    const scratch = mkdtempSync(join(tmpdir(), 'idp-index-'));
    const env = { GIT_INDEX_FILE: join(scratch, 'index') };
    try {
      if (request.parent) {
        await this.run(['read-tree', request.parent], undefined, env);
      } else {
        await this.run(['read-tree', '--empty'], undefined, env);
      }
      const lines: string[] = [];
      for (const change of request.changes) {
        if (change.content === undefined) {
          lines.push(`0 ${ZERO_SHA}\t${change.path}`);
        } else {
          const blob = await this.run(
            ['hash-object', '-w', '--stdin'],
            change.content,
          );
          lines.push(`100644 ${blob}\t${change.path}`);
        }
      }
      // git refuses an empty index info: no changes leave the parent's tree as it is.
      if (lines.length) {
        await this.run(
          ['update-index', '--index-info'],
          `${lines.join('\n')}\n`,
          env,
        );
      }
      const tree = await this.run(['write-tree'], undefined, env);
      if (
        request.parent &&
        tree === (await this.run(['rev-parse', `${request.parent}^{tree}`]))
      ) {
        return { status: 'unchanged', sha: request.parent };
      }
      if (
        !request.parent &&
        request.changes.every(c => c.content === undefined)
      ) {
        return { status: 'unchanged', sha: undefined };
      }

      const trailers = Object.entries(request.trailers ?? {})
        .map(([key, value]) => `${key}: ${value.replace(/\n/g, ' ')}`)
        .join('\n');
      const message = trailers
        ? `${request.message.trim()}\n\n${trailers}\n`
        : `${request.message.trim()}\n`;
      const now = new Date().toISOString();
      const sha = await this.run(
        [
          'commit-tree',
          tree,
          ...(request.parent ? ['-p', request.parent] : []),
        ],
        message,
        {
          GIT_AUTHOR_NAME: request.author.name,
          GIT_AUTHOR_EMAIL: request.author.email,
          GIT_AUTHOR_DATE: now,
          GIT_COMMITTER_NAME: this.committer.name,
          GIT_COMMITTER_EMAIL: this.committer.email,
          GIT_COMMITTER_DATE: now,
        },
      );

      if (this.remote) {
        try {
          await this.run([
            'push',
            '--quiet',
            '--porcelain',
            'origin',
            `${sha}:refs/heads/${this.branch}`,
          ]);
        } catch (error) {
          if (error instanceof GitCommandError) {
            return { status: 'conflict' };
          }
          throw error;
        }
      }
      try {
        await this.run([
          'update-ref',
          `refs/heads/${this.branch}`,
          sha,
          request.parent ?? ZERO_SHA,
        ]);
      } catch (error) {
        if (error instanceof GitCommandError && !this.remote) {
          return { status: 'conflict' };
        }
        if (!(error instanceof GitCommandError)) {
          throw error;
        }
        // With a remote, the push decided; mirror it.
        await this.run(['update-ref', `refs/heads/${this.branch}`, sha]);
      }
      return { status: 'committed', sha };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** Every file of a commit's tree, by path. */
  async readTree(commit: string): Promise<Map<string, string>> {
    const listing = (
      await runGit(['ls-tree', '-r', '-z', commit], { cwd: this.path })
    )
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const [meta, path] = line.split('\t');
        const [, type, sha] = meta.split(' ');
        return { type, sha, path };
      })
      .filter(entry => entry.type === 'blob');
    const files = new Map<string, string>();
    if (listing.length === 0) {
      return files;
    }
    const output = await runGit(['cat-file', '--batch'], {
      cwd: this.path,
      input: `${listing.map(e => e.sha).join('\n')}\n`,
    });
    let offset = 0;
    for (const entry of listing) {
      const headerEnd = output.indexOf(0x0a, offset);
      const [, , size] = output
        .subarray(offset, headerEnd)
        .toString('utf8')
        .split(' ');
      const start = headerEnd + 1;
      const end = start + Number(size);
      files.set(entry.path, output.subarray(start, end).toString('utf8'));
      offset = end + 1;
    }
    return files;
  }

  /** The commits after `from` up to `to`, oldest first (all of `to`'s history without `from`). */
  async log(from: string | undefined, to: string): Promise<CommitInfo[]> {
    const range = from ? `${from}..${to}` : to;
    return this.commits(['--reverse', range]);
  }

  /** One commit: its author, message and trailers. */
  async commitInfo(sha: string): Promise<CommitInfo | undefined> {
    const [info] = await this.commits(['-1', sha]);
    return info;
  }

  private async commits(args: string[]): Promise<CommitInfo[]> {
    const raw = await this.run([
      'log',
      '--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%B%x1f%(trailers:unfold,only,separator=%x1d)%x1e',
      ...args,
    ]);
    return raw
      .split('\x1e')
      .map(record => record.replace(/^\n/, ''))
      .filter(Boolean)
      .map(record => {
        const [sha, parents, name, email, date, body, trailerText] =
          record.split('\x1f');
        const trailers: Record<string, string> = {};
        for (const trailer of (trailerText ?? '').split('\x1d')) {
          const colon = trailer.indexOf(':');
          if (colon > 0) {
            trailers[trailer.slice(0, colon).trim()] = trailer
              .slice(colon + 1)
              .trim();
          }
        }
        return {
          sha,
          parents: parents ? parents.split(' ') : [],
          author: { name, email },
          date,
          message: body.trim(),
          trailers,
        };
      });
  }

  /** Whether `ancestor` is in `commit`'s history. */
  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    try {
      await this.run(['merge-base', '--is-ancestor', ancestor, commit]);
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && error.code === 1) {
        return false;
      }
      throw error;
    }
  }
}
