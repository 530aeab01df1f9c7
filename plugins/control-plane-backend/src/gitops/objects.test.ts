import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditKeyring } from '../audit/AuditKeys';
import { git } from '../__testUtils__/git';
import { commitSigner, GitStateRepo } from './GitStateRepo';

/**
 * The commits the control plane writes in its own process must be commits git itself reads
 * the same way: checked by git (`fsck --strict`, `log`, `ls-tree`) and by a second
 * repository object that has none of the first one's memory.
 */
describe('commits written in process', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-objects-test-'));
    path = join(dir, 'state.git');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const author = { name: 'user:default/ana', email: 'ana@users.idp.invalid' };
  const signer = commitSigner(AuditKeyring.random());

  it('are valid git objects that git reads as the writer recorded them', async () => {
    const repo = await GitStateRepo.open({ path, signer });
    const first = await repo.commit({
      parent: undefined,
      // names that sort differently as trees and as files: `a` (a tree) sorts as `a/`
      changes: [
        { path: 'a/x.yaml', content: 'x: 1\n' },
        { path: 'a.yaml', content: 'a: 1\n' },
        { path: 'a-b/y.yaml', content: 'y: 1\n' },
        { path: 'resources/default/orders-db.yaml', content: 'kind: R\n' },
      ],
      message: 'create things',
      author,
      trailers: { 'Idempotency-Key': 'k-1', 'Request-Id': 'r-1' },
    });
    expect(first.status).toBe('committed');
    const head = (first as { sha: string }).sha;
    const second = await repo.commit({
      parent: head,
      changes: [
        { path: 'a/x.yaml' }, // removing a tree's last file removes the tree
        { path: 'resources/default/orders-db.yaml', content: 'kind: R2\n' },
        { path: 'resources/default/missing.yaml' }, // nothing to remove
      ],
      message: 'change things',
      author,
      trailers: { 'Request-Id': 'r-2' },
    });
    const sha = (second as { sha: string }).sha;

    expect(git(path, 'fsck', '--strict', '--no-dangling')).toBe('');
    expect(git(path, 'ls-tree', '-r', '--name-only', sha).split('\n')).toEqual([
      'a-b/y.yaml',
      'a.yaml',
      'resources/default/orders-db.yaml',
    ]);
    expect(git(path, 'rev-parse', 'refs/heads/main')).toBe(sha);

    const fresh = await GitStateRepo.open({ path, signer });
    expect(await fresh.log(undefined, sha)).toEqual([
      ...(await repo.log(undefined, head)),
      ...(await repo.log(head, sha)),
    ]);
    const [info] = await fresh.log(head, sha);
    expect(info).toMatchObject({
      author,
      signed: true,
      trailers: { 'Request-Id': 'r-2' },
    });
    // only what changed is reported: the missing file's removal is not
    const written = await repo.changesBetween(head, sha);
    expect(written.map(({ commit: _, ...c }) => c)).toEqual(
      await fresh.changesBetween(head, sha),
    );
    // the writer knows which commit made each change
    expect(written.map(c => c.commit)).toEqual([sha, sha]);
    expect(
      (await fresh.changesBetween(head, sha)).map(c => c.path).sort(),
    ).toEqual(['a/x.yaml', 'resources/default/orders-db.yaml']);
  });

  it('orders tree entries as git does, bytewise, whatever the characters of their names', async () => {
    const repo = await GitStateRepo.open({ path });
    // UTF-16 order differs from UTF-8 byte order where a character above U+FFFF (a
    // surrogate pair) meets U+E000 to U+FFFF; a tree sorts as if its name ended in `/`
    const names = [
      '\u{1F600}.yaml',
      '\uE000.yaml',
      '\uFFFD.yaml',
      'é.yaml',
      'Z.yaml',
      'a.yaml',
    ];
    const result = await repo.commit({
      parent: undefined,
      changes: [
        ...names.map(name => ({ path: `d/${name}`, content: `${name}\n` })),
        { path: 'd/a/x.yaml', content: 'x\n' },
        { path: 'd/a-b.yaml', content: 'y\n' },
        { path: 'd/a0.yaml', content: 'z\n' },
      ],
      message: 'names',
      author,
    });
    const sha = (result as { sha: string }).sha;
    expect(git(path, 'fsck', '--strict', '--no-dangling')).toBe('');
    expect(
      git(
        path,
        '-c',
        'core.quotePath=false',
        'ls-tree',
        '--name-only',
        `${sha}:d`,
      ).split('\n'),
    ).toEqual([
      'Z.yaml',
      'a-b.yaml',
      'a.yaml',
      'a',
      'a0.yaml',
      'é.yaml',
      '\uE000.yaml',
      '\uFFFD.yaml',
      '\u{1F600}.yaml',
    ]);

    // an edit keeps the untouched entries in place and merges the others in: added,
    // removed, changed, and a file that becomes a tree of the same name
    const edit = await repo.commit({
      parent: sha,
      changes: [
        { path: 'd/Z.yaml' },
        { path: 'd/b.yaml', content: 'b\n' },
        { path: 'd/a/y.yaml', content: 'y\n' },
        { path: 'd/é.yaml', content: 'changed\n' },
        { path: 'd/a-b.yaml' },
        { path: 'd/a-b.yaml/k.yaml', content: 'k\n' },
        { path: 'd/0.yaml', content: '0\n' },
      ],
      message: 'edit',
      author,
    });
    const edited = (edit as { sha: string }).sha;
    expect(git(path, 'fsck', '--strict', '--no-dangling')).toBe('');
    expect(
      git(
        path,
        '-c',
        'core.quotePath=false',
        'ls-tree',
        '--name-only',
        `${edited}:d`,
      ).split('\n'),
    ).toEqual([
      '0.yaml',
      'a-b.yaml',
      'a.yaml',
      'a',
      'a0.yaml',
      'b.yaml',
      'é.yaml',
      '\uE000.yaml',
      '\uFFFD.yaml',
      '\u{1F600}.yaml',
    ]);
  });

  it('moves the branch by compare-and-swap: of two writers on one head, one wins', async () => {
    const one = await GitStateRepo.open({ path });
    const other = await GitStateRepo.open({ path });
    const base = await one.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a\n' }],
      message: 'base',
      author,
    });
    const parent = (base as { sha: string }).sha;
    const results = [
      await one.commit({
        parent,
        changes: [{ path: 'b.yaml', content: 'b\n' }],
        message: 'one',
        author,
      }),
      await other.commit({
        parent,
        changes: [{ path: 'c.yaml', content: 'c\n' }],
        message: 'other',
        author,
      }),
    ];
    expect(results.map(r => r.status)).toEqual(['committed', 'conflict']);
    expect(git(path, 'log', '--format=%s', 'main').split('\n')).toEqual([
      'one',
      'base',
    ]);
  });

  it('leaves the branch alone while git holds its lock', async () => {
    const repo = await GitStateRepo.open({ path });
    const base = await repo.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a\n' }],
      message: 'base',
      author,
    });
    const parent = (base as { sha: string }).sha;
    writeFileSync(join(path, 'refs/heads/main.lock'), '');
    expect(
      await repo.commit({
        parent,
        changes: [{ path: 'b.yaml', content: 'b\n' }],
        message: 'blocked',
        author,
      }),
    ).toEqual({ status: 'conflict' });
    expect(await repo.head()).toBe(parent);
  });

  it('are written as packs git verifies and reads, one a published batch, rolled up as they add up', async () => {
    const repo = await GitStateRepo.open({ path });
    // sizes whose pack headers take one, two and four bytes
    const big = 'x'.repeat(300_000);
    let parent: string | undefined;
    for (let i = 0; i < 60; i++) {
      const result = await repo.commit({
        parent,
        changes: [
          { path: `f/${i}.yaml`, content: `n: ${i}\n` },
          {
            path: `g/${i}.yaml`,
            content: i % 20 === 0 ? big + i : `${i}`.repeat(40),
          },
        ],
        message: `commit ${i}`,
        author,
      });
      expect(result.status).toBe('committed');
      parent = (result as { sha: string }).sha;
    }
    // no loose object: each commit's objects went into one pack
    expect(git(path, 'count-objects', '-v')).toMatch(/^count: 0$/m);
    const packs = () =>
      git(path, 'count-objects', '-v')
        .split('\n')
        .find(line => line.startsWith('packs: '))!;
    // 60 packs written, rolled up in the background after 50: wait for it to finish
    for (let i = 0; i < 100 && packs() === 'packs: 60'; i++) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(Number(packs().slice('packs: '.length))).toBeLessThan(60);
    expect(git(path, 'fsck', '--strict', '--no-dangling', '--full')).toBe('');
    expect(git(path, 'rev-list', '--count', 'main')).toBe('60');
    expect(git(path, 'show', `main:g/40.yaml`)).toBe(big + 40);
    expect(git(path, 'show', `main:f/59.yaml`)).toBe('n: 59');
    // a second repository object, with none of the writer's memory, reads the same
    const reader = await GitStateRepo.open({ path });
    expect((await reader.readTree(parent!)).size).toBe(120);
  });
});
