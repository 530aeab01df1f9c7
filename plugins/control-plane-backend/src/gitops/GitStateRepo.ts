import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AuditKeyring } from '../audit/AuditKeys';
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
  /**
   * The commit whose tree the changes are applied to, when not `parent` (the last good head
   * under a rejected one: the commit then also undoes what the rejected commits changed);
   * null for the empty tree (no head was ever accepted).
   */
  base?: string | null;
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
  /**
   * The control plane made this commit: it carries a valid {@link SIGNATURE_TRAILER} under
   * one of its keys. Anything else was pushed by hand, whatever its author and trailers say.
   */
  signed: boolean;
}

/** The trailer that proves a commit was made by the control plane (see {@link CommitSigner}). */
export const SIGNATURE_TRAILER = 'Control-Plane-Signature';

/**
 * Signs the commits the control plane makes and checks a commit's signature. What is signed
 * is the commit object as git stores it (tree, parents, author, committer, dates, message
 * with every other trailer), without the signature's own line, which is the object's last.
 */
export interface CommitSigner {
  /** The signature trailer's value for a commit object. */
  sign(payload: string): string;
  /** Whether `signature` is a valid signature of `payload` under a key this backend has. */
  verify(payload: string, signature: string): boolean;
}

/**
 * The signer of the control plane's commits under its audit keys: `v1 <key id> <HMAC-SHA256>`
 * with the key derived for commit signatures. A commit signed with a key moved to
 * `previousKeys` still verifies.
 */
export function commitSigner(keys: AuditKeyring): CommitSigner {
  return {
    sign: payload =>
      `v1 ${keys.currentId} ${keys.mac('commit-signature', payload)}`,
    verify: (payload, signature) => {
      const match = /^v1 ([0-9a-f]{1,32}) ([0-9a-f]{64})$/.exec(signature);
      return (
        !!match && keys.check('commit-signature', payload, match[1], match[2])
      );
    },
  };
}

export interface GitStateRepoOptions {
  /** The local bare repository; created when missing. */
  path: string;
  branch?: string;
  /** A remote that is the source of truth; the local repository mirrors its branch. */
  remote?: { url: string };
  committer?: GitAuthor;
  /** Signs every commit this repository makes; without one, no commit is recognised as signed. */
  signer?: CommitSigner;
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
    private readonly signer: CommitSigner | undefined,
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
      options.signer,
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
      const base =
        request.base === undefined ? request.parent : request.base ?? undefined;
      if (base) {
        await this.run(['read-tree', base], undefined, env);
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
      // Unchanged: the desired state (the base's tree) is already what the change asks for.
      const baseTree = base
        ? await this.run(['rev-parse', `${base}^{tree}`])
        : await this.run(['mktree'], '');
      if (tree === baseTree && (base || request.parent)) {
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
      // Signed, a commit always ends with a trailer paragraph: its signature is the last line.
      const message = trailers
        ? `${request.message.trim()}\n\n${trailers}\n`
        : `${request.message.trim()}\n${this.signer ? '\n' : ''}`;
      const now = new Date().toISOString();
      const commitTree = (text: string) =>
        this.run(
          [
            'commit-tree',
            tree,
            ...(request.parent ? ['-p', request.parent] : []),
          ],
          text,
          {
            GIT_AUTHOR_NAME: request.author.name,
            GIT_AUTHOR_EMAIL: request.author.email,
            GIT_AUTHOR_DATE: now,
            GIT_COMMITTER_NAME: this.committer.name,
            GIT_COMMITTER_EMAIL: this.committer.email,
            GIT_COMMITTER_DATE: now,
          },
        );
      let sha = await commitTree(message);
      if (this.signer) {
        // The same commit with the signature of its object as the last line: the object
        // without that line is exactly the unsigned one (same tree, parents, people, dates).
        const payload = (await this.rawCommits([sha])).get(sha)!;
        sha = await commitTree(
          `${message}${SIGNATURE_TRAILER}: ${this.signer.sign(payload)}\n`,
        );
      }

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
    return (await this.readTreeWithin(commit, Infinity)).files;
  }

  /**
   * The files of a commit's tree of at most `maxBytes` each, by path; larger ones are listed
   * with their size, never read.
   */
  async readTreeWithin(
    commit: string,
    maxBytes: number,
  ): Promise<{
    files: Map<string, string>;
    tooLarge: { path: string; size: number }[];
  }> {
    const blobs = (
      await runGit(['ls-tree', '-r', '-l', '-z', commit], { cwd: this.path })
    )
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const tab = line.indexOf('\t');
        const [, type, sha, size] = line.slice(0, tab).split(/ +/);
        return { type, sha, size: Number(size), path: line.slice(tab + 1) };
      })
      .filter(entry => entry.type === 'blob');
    const listing = blobs.filter(entry => entry.size <= maxBytes);
    const tooLarge = blobs
      .filter(entry => entry.size > maxBytes)
      .map(({ path, size }) => ({ path, size }));
    const files = new Map<string, string>();
    if (listing.length === 0) {
      return { files, tooLarge };
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
    return { files, tooLarge };
  }

  /** The raw objects of commits, by SHA (what `git cat-file commit` prints). */
  private async rawCommits(shas: string[]): Promise<Map<string, string>> {
    const raws = new Map<string, string>();
    if (shas.length === 0) return raws;
    const output = await runGit(['cat-file', '--batch'], {
      cwd: this.path,
      input: `${shas.join('\n')}\n`,
    });
    let offset = 0;
    for (const sha of shas) {
      const headerEnd = output.indexOf(0x0a, offset);
      const [, type, size] = output
        .subarray(offset, headerEnd)
        .toString('utf8')
        .split(' ');
      if (type !== 'commit') {
        throw new Error(`${sha} is not a commit (${type})`);
      }
      const start = headerEnd + 1;
      const end = start + Number(size);
      raws.set(sha, output.subarray(start, end).toString('utf8'));
      offset = end + 1;
    }
    return raws;
  }

  /** The commits among `shas` that carry a valid signature of the control plane. */
  private async signedAmong(shas: string[]): Promise<Set<string>> {
    const signed = new Set<string>();
    if (!this.signer || shas.length === 0) return signed;
    const prefix = `${SIGNATURE_TRAILER}: `;
    for (const [sha, raw] of await this.rawCommits(shas)) {
      const body = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
      const lastBreak = body.lastIndexOf('\n');
      const last = body.slice(lastBreak + 1);
      if (
        last.startsWith(prefix) &&
        this.signer.verify(
          raw.slice(0, lastBreak + 1),
          last.slice(prefix.length),
        )
      ) {
        signed.add(sha);
      }
    }
    return signed;
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
    const infos = raw
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
          signed: false,
        };
      });
    const signed = await this.signedAmong(infos.map(info => info.sha));
    return infos.map(info => ({ ...info, signed: signed.has(info.sha) }));
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
