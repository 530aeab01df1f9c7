import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditKeyring } from '../audit/AuditKeys';
import { commitSigner, GitStateRepo } from './GitStateRepo';

const author = { name: 'user:default/ana', email: 'ana@users.idp.invalid' };
const OLD = 'the key before the rotation';
const NEW = 'the key after the rotation';

describe('commits the control plane signs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-sign-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (keys: AuditKeyring) =>
    GitStateRepo.open({
      path: join(dir, 'state.git'),
      signer: commitSigner(keys),
    });
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: join(dir, 'state.git'),
      input: args.includes('hash-object') ? undefined : '',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: 'IDP control plane',
        GIT_COMMITTER_EMAIL: 'control-plane@idp.invalid',
      },
    })
      .toString()
      .trim();

  it('are told from any other commit, also after a key rotation, and a copied signature proves nothing', async () => {
    const repo = await open(new AuditKeyring(OLD));
    const first = await repo.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a: 1\n' }],
      message: 'create a',
      author,
      trailers: { Action: 'resource.create' },
    });
    if (first.status !== 'committed') throw new Error(first.status);

    // The same message, signature line and all, on another tree: a forgery.
    const raw = git('cat-file', 'commit', first.sha);
    const message = raw.slice(raw.indexOf('\n\n') + 2);
    const tree = execFileSync('git', ['mktree'], {
      cwd: join(dir, 'state.git'),
      input: '',
    })
      .toString()
      .trim();
    const forged = execFileSync('git', ['commit-tree', tree, '-p', first.sha], {
      cwd: join(dir, 'state.git'),
      input: `${message}\n`,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: 'IDP control plane',
        GIT_COMMITTER_EMAIL: 'control-plane@idp.invalid',
      },
    })
      .toString()
      .trim();
    git('update-ref', 'refs/heads/main', forged);

    // Rotated: the old key is kept for what it signed; new commits use the new key.
    const rotated = await open(new AuditKeyring(NEW, [OLD]));
    const second = await rotated.commit({
      parent: forged,
      changes: [{ path: 'b.yaml', content: 'b: 1\n' }],
      message: 'create b',
      author,
    });
    if (second.status !== 'committed') throw new Error(second.status);

    const signed = async (reader: GitStateRepo) =>
      (await reader.log(undefined, second.sha)).map(c => c.signed);
    expect(await signed(rotated)).toEqual([true, false, true]);
    expect(await signed(await open(new AuditKeyring(NEW)))).toEqual([
      false,
      false,
      true,
    ]);
    expect(
      await signed(await GitStateRepo.open({ path: join(dir, 'state.git') })),
    ).toEqual([false, false, false]);
  });

  it('a commit on a base other than its parent takes the base tree, and changes nothing when the base already holds the change', async () => {
    const repo = await open(AuditKeyring.random());
    const good = await repo.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a: 1\n' }],
      message: 'good',
      author,
    });
    if (good.status !== 'committed') throw new Error(good.status);
    const bad = await repo.commit({
      parent: good.sha,
      changes: [{ path: 'bad.yaml', content: 'bad' }],
      message: 'bad',
      author,
    });
    if (bad.status !== 'committed') throw new Error(bad.status);
    expect(
      await repo.commit({
        parent: bad.sha,
        base: good.sha,
        changes: [{ path: 'a.yaml', content: 'a: 1\n' }],
        message: 'nothing',
        author,
      }),
    ).toEqual({ status: 'unchanged', sha: bad.sha });
    const next = await repo.commit({
      parent: bad.sha,
      base: good.sha,
      changes: [{ path: 'c.yaml', content: 'c: 1\n' }],
      message: 'c on the good tree',
      author,
    });
    if (next.status !== 'committed') throw new Error(next.status);
    expect([...(await repo.readTree(next.sha)).keys()].sort()).toEqual([
      'a.yaml',
      'c.yaml',
    ]);
    expect((await repo.commitInfo(next.sha))?.parents).toEqual([bad.sha]);

    // No head ever accepted: the base is the empty tree.
    expect(
      await repo.commit({
        parent: next.sha,
        base: null,
        changes: [{ path: 'a.yaml' }],
        message: 'nothing',
        author,
      }),
    ).toEqual({ status: 'unchanged', sha: next.sha });
    const fresh = await repo.commit({
      parent: next.sha,
      base: null,
      changes: [{ path: 'd.yaml', content: 'd: 1\n' }],
      message: 'd alone',
      author,
    });
    if (fresh.status !== 'committed') throw new Error(fresh.status);
    expect([...(await repo.readTree(fresh.sha)).keys()]).toEqual(['d.yaml']);
  });
});
