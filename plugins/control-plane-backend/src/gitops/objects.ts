import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { catFileBatch, runGit } from './git';

/**
 * Git's object database and refs written in this process: what a commit of the control plane
 * needs (blobs, the trees along the changed paths, the commit, a compare-and-swap of the
 * branch) without a `git` process per step. The objects written are kept until they are
 * flushed ({@link GitObjects.flush}: before any git command runs on the repository and before
 * a ref moves), then written as one pack with its index, exactly as git writes them
 * (`objects/pack/pack-<sha>.{pack,idx}`, through temporary files renamed into place): one
 * file a batch of commits rather than one per object, since creating a file is what costs
 * (0.1 to 0.7 ms of the kernel's time each on the machine measured, against 0.01 ms to append
 * the same bytes). The packs are rolled up now and then by `git repack --geometric`. The
 * branch moves under git's own lock file protocol (`<ref>.lock`, created exclusively), so git
 * commands working on the same repository at the same time (a push received, `git gc`) see a
 * consistent repository. Reading an object this process did not write (a pushed tree, a
 * packed one) asks git.
 */

export type ObjectType = 'blob' | 'tree' | 'commit';

/** One entry of a tree: a file (`100644`), an executable, a link, or a tree (`40000`). */
export interface TreeEntry {
  mode: string;
  name: string;
  sha: string;
}

const TREE_MODE = '40000';
const FILE_MODE = '100644';

/** A file to write (`blob` its object) or remove (`blob` undefined), by path. */
export interface PathChange {
  path: string;
  blob?: string;
  /** The commit that made the change, when known (one of a chain this process wrote). */
  commit?: string;
}

/** A small map that forgets the least recently used entry beyond `limit`. */
export class Recent<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.limit) {
      this.map.delete(this.map.keys().next().value!);
    }
  }
}

/**
 * An entry's place in git's order of tree entries: the bytes of its name (UTF-8), a tree's
 * name as if it ended in `/`. JavaScript compares strings by UTF-16 code units, which is the
 * order of their UTF-8 bytes except where a surrogate pair (a character above U+FFFF) meets
 * U+E000 to U+FFFF: a name with a surrogate is compared as bytes.
 */
interface Placed {
  entry: TreeEntry;
  key: string;
  astral: boolean;
}

function placed(entry: TreeEntry): Placed {
  const key = entry.mode === TREE_MODE ? `${entry.name}/` : entry.name;
  return { entry, key, astral: /[\ud800-\udfff]/.test(key) };
}

function gitOrder(a: Placed, b: Placed): number {
  if (a.astral || b.astral) {
    return Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
  }
  if (a.key === b.key) return 0;
  return a.key < b.key ? -1 : 1;
}

/** Entries in git's order of tree entries (see {@link Placed}). */
function inGitOrder(entries: TreeEntry[]): TreeEntry[] {
  return entries
    .map(placed)
    .sort(gitOrder)
    .map(({ entry }) => entry);
}

/**
 * A tree's entries after an edit, in git's order: `before` (in git's order) with each name
 * set to its entry in `after` or removed, where only the names in `touched` may differ. The
 * entries untouched keep their places; the others are sorted and merged in (all are sorted
 * when `before` is out of order).
 */
function edited(
  before: TreeEntry[],
  after: Map<string, TreeEntry>,
  touched: Set<string>,
): TreeEntry[] {
  const kept: Placed[] = [];
  for (const entry of before) {
    if (touched.has(entry.name)) continue;
    const next = placed(entry);
    // a tree git wrote is in order; one made by hand may not be: sort that one whole
    if (kept.length && gitOrder(kept[kept.length - 1], next) >= 0) {
      return inGitOrder([...after.values()]);
    }
    kept.push(next);
  }
  const moved: Placed[] = [];
  for (const name of touched) {
    const entry = after.get(name);
    if (entry) moved.push(placed(entry));
  }
  moved.sort(gitOrder);
  const merged: TreeEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length || j < moved.length) {
    if (
      j >= moved.length ||
      (i < kept.length && gitOrder(kept[i], moved[j]) < 0)
    ) {
      merged.push(kept[i++].entry);
    } else {
      merged.push(moved[j++].entry);
    }
  }
  return merged;
}

/**
 * Each entry's bytes in its tree (`<mode> <name>\0<20-byte sha>`), kept for the entries
 * parsed or written here: a tree edited again (a directory of a thousand files, one file
 * added per commit) is written from its entries' bytes rather than encoded again.
 */
const entryBytes = new WeakMap<TreeEntry, Buffer>();

export function parseTree(body: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    const nul = body.indexOf(0, space);
    const entry = {
      mode: body.subarray(offset, space).toString('latin1'),
      name: body.subarray(space + 1, nul).toString('utf8'),
      sha: body.subarray(nul + 1, nul + 21).toString('hex'),
    };
    entryBytes.set(entry, body.subarray(offset, nul + 21));
    entries.push(entry);
    offset = nul + 21;
  }
  return entries;
}

function serializeTree(entries: TreeEntry[]): Buffer {
  const parts = entries.map(e => {
    let bytes = entryBytes.get(e);
    if (!bytes) {
      const head = `${e.mode} ${e.name}\0`;
      const size = Buffer.byteLength(head);
      bytes = Buffer.alloc(size + 20);
      bytes.write(head, 0, 'utf8');
      bytes.write(e.sha, size, 'hex');
      entryBytes.set(e, bytes);
    }
    return bytes;
  });
  return Buffer.concat(parts);
}

/** Names the temporary files of this process's pack writes (unique across processes). */
const tempPrefix = `tmp_pack_${randomBytes(6).toString('hex')}_`;
let tempCount = 0;

/** A pack entry's type code. */
const PACK_TYPE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3 };

/** Packs written before the packs are rolled up (`git repack --geometric=2 -d`). */
const PACKS_PER_ROLL_UP = 50;

/**
 * A pack (version 2) of `objects`, each compressed whole (no deltas: git finds them when it
 * repacks), and its index (version 2); `name` is the pack's checksum, as git names it.
 */
function buildPack(
  objects: { sha: string; type: ObjectType; content: Buffer }[],
): { name: string; pack: Buffer; index: Buffer } {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  const parts = [header];
  let offset = header.length;
  const entries: { sha: string; offset: number; crc: number }[] = [];
  for (const { sha, type, content } of objects) {
    // type and size: 4 bits of size in the first byte, then 7 a byte, low bits first
    const head: number[] = [];
    let byte = (PACK_TYPE[type] << 4) | (content.length & 0x0f);
    let rest = Math.floor(content.length / 16);
    while (rest > 0) {
      head.push(byte | 0x80);
      byte = rest & 0x7f;
      rest = Math.floor(rest / 128);
    }
    head.push(byte);
    const entry = Buffer.concat([
      Buffer.from(head),
      deflateSync(content, { level: 1 }),
    ]);
    entries.push({ sha, offset, crc: crc32(entry) });
    parts.push(entry);
    offset += entry.length;
  }
  if (offset >= 0x80000000) {
    throw new Error('a pack of 2 GiB or more is not written here');
  }
  const body = Buffer.concat(parts);
  const checksum = createHash('sha1').update(body).digest();
  entries.sort((a, b) => (a.sha < b.sha ? -1 : 1)); // each SHA once (see write)
  const n = entries.length;
  const index = Buffer.alloc(8 + 256 * 4 + n * 28 + 40);
  index.writeUInt32BE(0xff744f63, 0); // '\377tOc'
  index.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of entries) fanout[parseInt(e.sha.slice(0, 2), 16)] += 1;
  let at = 8;
  let total = 0;
  for (const count of fanout) {
    total += count;
    index.writeUInt32BE(total, at);
    at += 4;
  }
  for (const e of entries) at += index.write(e.sha, at, 'hex');
  for (const e of entries) at = index.writeUInt32BE(e.crc, at);
  for (const e of entries) at = index.writeUInt32BE(e.offset, at);
  at += checksum.copy(index, at);
  createHash('sha1').update(index.subarray(0, at)).digest().copy(index, at);
  return {
    name: checksum.toString('hex'),
    pack: Buffer.concat([body, checksum]),
    index,
  };
}

export class GitObjects {
  /** Trees by SHA: the ones along recently changed paths, parsed. */
  private readonly trees = new Recent<TreeEntry[]>(64);
  /** The same trees' entries by name. */
  private readonly names = new Recent<Map<string, TreeEntry>>(64);
  /** Objects written since the last flush, in order, and their SHAs. */
  private pending: { sha: string; type: ObjectType; content: Buffer }[] = [];
  private pendingShas = new Set<string>();
  /** Packs written since the packs were last rolled up, and whether that runs now. */
  private packsWritten = 0;
  private rollingUp = false;

  constructor(private readonly gitDir: string) {}

  /**
   * Writes an object (kept until the next {@link flush}) and returns its SHA.
   */
  write(type: ObjectType, body: Buffer | string): string {
    const content = typeof body === 'string' ? Buffer.from(body) : body;
    const sha = createHash('sha1')
      .update(`${type} ${content.length}\0`)
      .update(content)
      .digest('hex');
    if (!this.pendingShas.has(sha)) {
      this.pendingShas.add(sha);
      this.pending.push({ sha, type, content });
    }
    return sha;
  }

  /**
   * Writes the objects kept since the last flush as one pack, so that git sees them: called
   * before a git command runs on the repository and before a ref moves to them.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const { name, pack, index } = buildPack(this.pending);
    const directory = join(this.gitDir, 'objects', 'pack');
    mkdirSync(directory, { recursive: true });
    // the pack, then its index: git looks a pack up by its index
    for (const [suffix, bytes] of [
      ['pack', pack],
      ['idx', index],
    ] as const) {
      const temp = join(directory, `${tempPrefix}${tempCount++}`);
      writeFileSync(temp, bytes, { mode: 0o444 });
      renameSync(temp, join(directory, `pack-${name}.${suffix}`));
    }
    this.pending = [];
    this.pendingShas = new Set();
    this.packsWritten += 1;
    if (this.packsWritten >= PACKS_PER_ROLL_UP && !this.rollingUp) {
      this.packsWritten = 0;
      this.rollingUp = true;
      // In the background: it packs only whole packs (and loose objects) into a new one,
      // whatever is reachable, then removes those packs; packs written meanwhile stay.
      runGit(['repack', '-d', '-q', '--geometric=2'], { cwd: this.gitDir })
        .catch(() => undefined)
        .finally(() => {
          this.rollingUp = false;
        });
    }
  }

  /** Runs git on the repository, once the objects written here are flushed. */
  private git(args: string[], input?: string) {
    this.flush();
    return runGit(args, { cwd: this.gitDir, input });
  }

  /** The entries of a tree. */
  async tree(sha: string): Promise<TreeEntry[]> {
    const known = this.trees.get(sha);
    if (known) return known;
    const entries = parseTree(await this.git(['cat-file', 'tree', sha]));
    this.trees.set(sha, entries);
    return entries;
  }

  /** Whether `path` is a file (not a tree) in `tree`. */
  async exists(tree: string, path: string): Promise<boolean> {
    const parts = path.split('/');
    let sha = tree;
    for (const [i, part] of parts.entries()) {
      let byName = this.names.get(sha);
      if (!byName) {
        byName = new Map((await this.tree(sha)).map(e => [e.name, e]));
        this.names.set(sha, byName);
      }
      const entry = byName.get(part);
      if (!entry) return false;
      if (i === parts.length - 1) return entry.mode !== TREE_MODE;
      if (entry.mode !== TREE_MODE) return false;
      sha = entry.sha;
    }
    return false;
  }

  /**
   * Writes a tree of `entries` (sorted here, unless they are in git's order already) and
   * returns its SHA.
   */
  writeTree(entries: TreeEntry[], inOrder = false): string {
    const sorted = inOrder ? entries : inGitOrder(entries);
    const sha = this.write('tree', serializeTree(sorted));
    this.trees.set(sha, sorted);
    return sha;
  }

  /**
   * The tree `base` (undefined: the empty tree) with `changes` made, written, and the changes
   * that changed something (a file written with the content it had, or a missing file
   * removed, is left out).
   */
  async editTree(
    base: string | undefined,
    changes: PathChange[],
  ): Promise<{ tree: string; changed: PathChange[] }> {
    type Node = { files: Map<string, PathChange>; dirs: Map<string, Node> };
    const root: Node = { files: new Map(), dirs: new Map() };
    for (const change of changes) {
      const parts = change.path.split('/');
      let node = root;
      for (const part of parts.slice(0, -1)) {
        let next = node.dirs.get(part);
        if (!next) {
          next = { files: new Map(), dirs: new Map() };
          node.dirs.set(part, next);
        }
        node = next;
      }
      node.files.set(parts[parts.length - 1], change);
    }
    const changed: PathChange[] = [];
    const rewrite = async (
      sha: string | undefined,
      node: Node,
    ): Promise<string | undefined> => {
      const before = sha ? await this.tree(sha) : [];
      const entries = new Map(before.map(e => [e.name, e]));
      const touched = new Set([...node.files.keys(), ...node.dirs.keys()]);
      for (const [name, change] of node.files) {
        const old = entries.get(name);
        if (change.blob === undefined) {
          if (old && old.mode !== TREE_MODE) {
            entries.delete(name);
            changed.push(change);
          }
        } else if (old?.sha !== change.blob || old.mode !== FILE_MODE) {
          entries.set(name, { mode: FILE_MODE, name, sha: change.blob });
          changed.push(change);
        }
      }
      for (const [name, child] of node.dirs) {
        const old = entries.get(name);
        const sub = await rewrite(
          old?.mode === TREE_MODE ? old.sha : undefined,
          child,
        );
        if (sub) {
          entries.set(name, { mode: TREE_MODE, name, sha: sub });
        } else if (old?.mode === TREE_MODE) {
          entries.delete(name);
        }
      }
      if (entries.size === 0) return undefined;
      return this.writeTree(edited(before, entries, touched), true);
    };
    const tree = (await rewrite(base, root)) ?? this.writeTree([]);
    return { tree, changed };
  }

  /** The SHA a ref points at, or undefined when it does not exist. */
  readRef(ref: string): string | undefined {
    try {
      const value = readFileSync(join(this.gitDir, ref), 'utf8').trim();
      if (/^[0-9a-f]{40}$/.test(value)) return value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // not loose: packed (a clone's refs are), or missing
    try {
      const packed = readFileSync(join(this.gitDir, 'packed-refs'), 'utf8');
      for (const line of packed.split('\n')) {
        if (line.endsWith(` ${ref}`) && /^[0-9a-f]{40} /.test(line)) {
          return line.slice(0, 40);
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return undefined;
  }

  /**
   * Moves `ref` to `sha` if it is at `expected` (undefined: does not exist), under git's lock
   * file; false when it moved or another writer holds its lock.
   */
  compareAndSwapRef(
    ref: string,
    sha: string,
    expected: string | undefined,
  ): boolean {
    this.flush(); // the objects it will point at first
    const path = join(this.gitDir, ref);
    const lock = `${path}.lock`;
    mkdirSync(dirname(path), { recursive: true });
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      if (this.readRef(ref) !== expected) {
        closeSync(fd);
        unlinkSync(lock);
        return false;
      }
      writeSync(fd, `${sha}\n`);
      closeSync(fd);
      renameSync(lock, path);
      return true;
    } catch (error) {
      try {
        unlinkSync(lock);
      } catch {
        // already renamed or removed
      }
      throw error;
    }
  }

  /**
   * The files changed between two commits' trees (`from` undefined: every file of `to`):
   * the new blob of each written file, none for a removed one.
   */
  async diff(from: string | undefined, to: string): Promise<PathChange[]> {
    const args = from
      ? ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', from, to]
      : ['ls-tree', '-r', '-z', to];
    const out = (await this.git(args)).toString('utf8');
    const changes: PathChange[] = [];
    if (!from) {
      for (const line of out.split('\0').filter(Boolean)) {
        const tab = line.indexOf('\t');
        const [, type, sha] = line.slice(0, tab).split(' ');
        if (type === 'blob')
          changes.push({ path: line.slice(tab + 1), blob: sha });
      }
      return changes;
    }
    const fields = out.split('\0');
    for (let i = 0; i + 1 < fields.length; i += 2) {
      // :<old mode> <new mode> <old sha> <new sha> <status>, then the path
      const [, newMode, , newSha, status] = fields[i].slice(1).split(' ');
      const path = fields[i + 1];
      if (status === 'D') {
        changes.push({ path });
      } else if (newMode === TREE_MODE || newMode === '160000') {
        continue; // a submodule: no file of the desired state
      } else {
        changes.push({ path, blob: newSha });
      }
    }
    return changes;
  }

  /**
   * The contents of blobs of at most `maxBytes` each, by SHA; larger ones with their size,
   * never read.
   */
  async readBlobs(
    shas: string[],
    maxBytes: number,
  ): Promise<{ contents: Map<string, string>; tooLarge: Map<string, number> }> {
    const contents = new Map<string, string>();
    const tooLarge = new Map<string, number>();
    const unique = [...new Set(shas)];
    if (unique.length === 0) return { contents, tooLarge };
    const sizes = (
      await this.git(
        ['cat-file', '--batch-check=%(objectname) %(objectsize)'],
        `${unique.join('\n')}\n`,
      )
    )
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => line.split(' '));
    const small: string[] = [];
    for (const [sha, size] of sizes) {
      if (Number(size) > maxBytes) tooLarge.set(sha, Number(size));
      else small.push(sha);
    }
    this.flush();
    for (const [sha, { body }] of await catFileBatch(this.gitDir, small)) {
      contents.set(sha, body.toString('utf8'));
    }
    return { contents, tooLarge };
  }
}

/** The SHA of a blob of `content`, as git computes it. */
export function blobSha(content: string): string {
  const body = Buffer.from(content);
  return createHash('sha1')
    .update(`blob ${body.length}\0`)
    .update(body)
    .digest('hex');
}
