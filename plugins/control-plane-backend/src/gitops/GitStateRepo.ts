import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AuditKeyring } from '../audit/AuditKeys';
import { catFileBatch, git, GitCommandError } from './git';
import { Mutex } from './mutex';
import { GitObjects, PathChange, Recent } from './objects';

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

/** `Key: value` lines as a record of trimmed values. */
function parseTrailers(lines: string[]): Record<string, string> {
  const trailers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      trailers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
  }
  return trailers;
}

/**
 * A person as a commit object names them: without the characters git refuses in an identity
 * (`<`, `>`, line breaks, NUL), trimmed.
 */
function identity(person: GitAuthor): GitAuthor {
  // eslint-disable-next-line no-control-regex
  const clean = (value: string) => value.replace(/[<>\n\r\0]/g, '').trim();
  return { name: clean(person.name), email: clean(person.email) };
}

/** A commit this process made: its record, its tree, and the files it changed from `base`. */
interface MadeCommit {
  info: CommitInfo;
  tree: string;
  base: string | undefined;
  changed: PathChange[];
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
  private readonly objects: GitObjects;
  /** The commits this process made lately, with what they changed. */
  private readonly made = new Recent<MadeCommit>(256);
  /**
   * With a remote, the git processes that move branches and remote-tracking refs (a fetch,
   * a push and its mirroring) run one at a time: two at once race for the refs' locks
   * ("cannot lock ref … is at … but expected …"), failing the one that loses.
   */
  private readonly refs = new Mutex();
  /** The contents of the files those commits wrote, by blob. */
  private readonly contents = new Recent<string>(4096);

  private constructor(
    readonly path: string,
    readonly branch: string,
    private readonly remote: { url: string } | undefined,
    private readonly committer: GitAuthor,
    private readonly signer: CommitSigner | undefined,
  ) {
    this.objects = new GitObjects(path);
  }

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
    // git sees the objects written here only once they are flushed
    this.objects.flush();
    return git(args, { cwd: this.path, input, env });
  }

  /** The branch's head commit, or undefined while the repository is empty. */
  async head(): Promise<string | undefined> {
    return this.objects.readRef(`refs/heads/${this.branch}`);
  }

  /** With a remote: makes the local branch match the remote's. */
  async refresh(): Promise<void> {
    if (!this.remote) {
      return;
    }
    try {
      await this.refs.run(() =>
        this.run([
          'fetch',
          '--quiet',
          'origin',
          `+refs/heads/${this.branch}:refs/heads/${this.branch}`,
        ]),
      );
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
   *
   * The objects are written in this process ({@link GitObjects}): a blob per file written,
   * the trees along the changed paths, the commit; then the branch moves by compare-and-swap
   * (with a remote, the push decides first).
   */
  async commit(request: CommitRequest): Promise<CommitResult> {
    const written = await this.write(request);
    if (written.status !== 'written') return written;
    return (await this.publish(request.parent, written.sha))
      ? { status: 'committed', sha: written.sha }
      : { status: 'conflict' };
  }

  /**
   * Writes the objects of one commit on top of `parent` without moving the branch (see
   * {@link GitStateRepo.publish}): several can be written one on another and published at
   * once. `unchanged` when the changes change nothing.
   */
  async write(
    request: CommitRequest,
  ): Promise<
    | { status: 'written'; sha: string }
    | { status: 'unchanged'; sha: string | undefined }
  > {
    const base =
      request.base === undefined ? request.parent : request.base ?? undefined;
    const baseTree = base ? await this.treeOf(base) : undefined;
    const contents = new Map<string, string>();
    const { tree, changed } = await this.objects.editTree(
      baseTree,
      request.changes.map(change => {
        if (change.content === undefined) return { path: change.path };
        const blob = this.objects.write('blob', change.content);
        contents.set(blob, change.content);
        return { path: change.path, blob };
      }),
    );
    // Unchanged: the desired state (the base's tree) is already what the change asks for.
    if (baseTree !== undefined ? tree === baseTree : changed.length === 0) {
      return { status: 'unchanged', sha: request.parent };
    }

    const trailers = Object.entries(request.trailers ?? {})
      .map(([key, value]) => `${key}: ${value.replace(/\n/g, ' ')}`)
      .join('\n');
    // Signed, a commit always ends with a trailer paragraph: its signature is the last line.
    const message = trailers
      ? `${request.message.trim()}\n\n${trailers}\n`
      : `${request.message.trim()}\n${this.signer ? '\n' : ''}`;
    const when = new Date();
    const stamp = `${Math.floor(when.getTime() / 1000)} +0000`;
    const author = identity(request.author);
    const committer = identity(this.committer);
    const unsigned = [
      `tree ${tree}`,
      ...(request.parent ? [`parent ${request.parent}`] : []),
      `author ${author.name} <${author.email}> ${stamp}`,
      `committer ${committer.name} <${committer.email}> ${stamp}`,
      '',
      message,
    ].join('\n');
    // Signed: the commit object ends with the signature of the object without that line.
    const body = this.signer
      ? `${unsigned}${SIGNATURE_TRAILER}: ${this.signer.sign(unsigned)}\n`
      : unsigned;
    const sha = this.objects.write('commit', body);
    const signature = body.slice(unsigned.length);

    for (const [blob, content] of contents) this.contents.set(blob, content);
    this.made.set(sha, {
      info: {
        sha,
        parents: request.parent ? [request.parent] : [],
        author,
        date: new Date(Math.floor(when.getTime() / 1000) * 1000)
          .toISOString()
          .replace(/\.\d{3}Z$/, '+00:00'),
        message: `${message}${signature}`.trim(),
        trailers: parseTrailers(
          trailers
            ? `${trailers}\n${signature}`.split('\n')
            : signature.split('\n'),
        ),
        signed: !!this.signer,
      },
      tree,
      base,
      // in the order git lists a diff: by path
      changed: [...changed].sort((a, b) =>
        Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
      ),
    });
    return { status: 'written', sha };
  }

  /**
   * Moves the branch from `expected` (undefined: it does not exist yet) to `sha`, a commit
   * written on it: a compare-and-swap of the local branch, or with a remote a push the
   * remote refuses when its branch moved. False when the branch moved.
   */
  async publish(expected: string | undefined, sha: string): Promise<boolean> {
    if (!this.remote) {
      return this.objects.compareAndSwapRef(
        `refs/heads/${this.branch}`,
        sha,
        expected,
      );
    }
    return this.refs.run(async () => {
      try {
        await this.run([
          'push',
          '--quiet',
          '--porcelain',
          'origin',
          `${sha}:refs/heads/${this.branch}`,
        ]);
      } catch (error) {
        if (error instanceof GitCommandError) return false;
        throw error;
      }
      // The push decided; mirror it.
      await this.run(['update-ref', `refs/heads/${this.branch}`, sha]);
      return true;
    });
  }

  /**
   * The commits this process wrote from `to` back to `from` (newest first), when `to` was
   * written here on a chain of such commits starting at `from`; otherwise undefined.
   */
  private madeChain(
    from: string | undefined,
    to: string,
  ): MadeCommit[] | undefined {
    const chain: MadeCommit[] = [];
    let sha: string | undefined = to;
    while (sha !== undefined && chain.length < 1024) {
      const made = this.made.get(sha);
      if (!made) return undefined;
      chain.push(made);
      if (made.base === from) return chain;
      // only a commit made on its parent's tree continues the chain
      if (made.base !== made.info.parents[0]) return undefined;
      sha = made.base;
    }
    return undefined;
  }

  /** The tree of a commit. */
  private async treeOf(commit: string): Promise<string> {
    const made = this.made.get(commit);
    if (made) return made.tree;
    return this.run(['rev-parse', `${commit}^{tree}`]);
  }

  /**
   * The files that differ between two commits' trees (`from` undefined: every file of `to`),
   * with the blob each is written with (none: removed).
   */
  async changesBetween(
    from: string | undefined,
    to: string,
  ): Promise<PathChange[]> {
    const chain = this.madeChain(from, to);
    if (!chain) return this.objects.diff(from, to);
    // oldest first: the last commit to change a path is the one it is attributed to
    const byPath = new Map<string, PathChange>();
    for (const made of [...chain].reverse()) {
      for (const change of made.changed) {
        byPath.set(change.path, { ...change, commit: made.info.sha });
      }
    }
    return [...byPath.values()].sort((a, b) =>
      Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
    );
  }

  /** Which of `paths` are files in `commit`'s tree. */
  async existing(commit: string, paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const tree = await this.treeOf(commit);
    const found: string[] = [];
    for (const path of paths) {
      if (await this.objects.exists(tree, path)) found.push(path);
    }
    return found;
  }

  /**
   * The contents of blobs of at most `maxBytes` each, by SHA; larger ones with their size,
   * never read.
   */
  async readBlobs(shas: string[], maxBytes: number) {
    const known = new Map<string, string>();
    const unknown: string[] = [];
    for (const sha of shas) {
      const content = this.contents.get(sha);
      if (content !== undefined && Buffer.byteLength(content) <= maxBytes) {
        known.set(sha, content);
      } else {
        unknown.push(sha);
      }
    }
    const read = await this.objects.readBlobs(unknown, maxBytes);
    for (const [sha, content] of known) read.contents.set(sha, content);
    return read;
  }

  /** Every file of a commit's tree, by path. */
  async readTree(commit: string): Promise<Map<string, string>> {
    const files = await this.objects.diff(undefined, commit);
    const { contents } = await this.objects.readBlobs(
      files.map(f => f.blob!),
      Infinity,
    );
    return new Map(files.map(f => [f.path, contents.get(f.blob!)!]));
  }

  /** The raw objects of commits, by SHA (what `git cat-file commit` prints). */
  private async rawCommits(shas: string[]): Promise<Map<string, string>> {
    const raws = new Map<string, string>();
    this.objects.flush();
    for (const [sha, { type, body }] of await catFileBatch(this.path, shas)) {
      if (type !== 'commit') {
        throw new Error(`${sha} is not a commit (${type})`);
      }
      raws.set(sha, body.toString('utf8'));
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
    const chain = this.madeChain(from, to);
    if (chain && chain.every(m => m.base === m.info.parents[0])) {
      return chain.map(m => m.info).reverse();
    }
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
        const trailers = parseTrailers((trailerText ?? '').split('\x1d'));
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

  /** Whether the repository mirrors a remote (where branches for review can be pushed). */
  get hasRemote(): boolean {
    return this.remote !== undefined;
  }

  /**
   * Pushes `sha` (a commit written here, not published) as the remote branch `branch`, for
   * review; the local main branch does not move.
   */
  async pushBranch(sha: string, branch: string): Promise<void> {
    if (!this.remote) {
      throw new Error('The state repository has no remote to push a branch to');
    }
    await this.refs.run(() =>
      this.run([
        'push',
        '--quiet',
        '--porcelain',
        'origin',
        `${sha}:refs/heads/${branch}`,
      ]),
    );
  }

  /**
   * The full SHA of the commit `rev` names (a full or abbreviated SHA), or undefined when
   * it names none (unknown, ambiguous, or not a commit).
   */
  async resolveCommit(rev: string): Promise<string | undefined> {
    return this.resolveObject(`${rev}^{commit}`);
  }

  private async resolveObject(name: string): Promise<string | undefined> {
    try {
      return (
        (await this.run(['rev-parse', '--verify', '--quiet', name])) ||
        undefined
      );
    } catch (error) {
      if (error instanceof GitCommandError) return undefined;
      throw error;
    }
  }

  /**
   * The commits of `to`'s history (after `from`, when given) that changed any of `paths`,
   * newest first, at most `limit`.
   */
  async commitsTouching(
    paths: string[],
    to: string,
    options: { from?: string; limit?: number } = {},
  ): Promise<CommitInfo[]> {
    if (paths.length === 0) return [];
    return this.commits([
      `--max-count=${options.limit ?? 100}`,
      options.from ? `${options.from}..${to}` : to,
      '--',
      ...paths,
    ]);
  }

  /** The content of the file at `path` in `commit`'s tree, or undefined when it has none. */
  async fileAt(commit: string, path: string): Promise<string | undefined> {
    const blob = await this.resolveObject(`${commit}:${path}`);
    if (!blob) return undefined;
    const { contents } = await this.readBlobs([blob], Infinity);
    return contents.get(blob);
  }

  /** Whether `ancestor` is in `commit`'s history. */
  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    for (
      let made = this.made.get(commit), steps = 0;
      made && steps < 1024;
      made = made.info.parents[0]
        ? this.made.get(made.info.parents[0])
        : undefined,
        steps++
    ) {
      if (made.info.parents[0] === ancestor) return true;
    }
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
