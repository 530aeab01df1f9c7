import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitStateRepo } from './GitStateRepo';

const author = { name: 'user:default/ana', email: 'ana@users.idp.invalid' };

describe('GitStateRepo', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-git-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const gitIn = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Someone',
        GIT_AUTHOR_EMAIL: 'someone@example.com',
        GIT_COMMITTER_NAME: 'Someone',
        GIT_COMMITTER_EMAIL: 'someone@example.com',
      },
    })
      .toString()
      .trim();

  /** An empty bare repository to share, as a remote. */
  const bareRemote = () => {
    const remotePath = join(dir, 'remote.git');
    gitIn(
      dir,
      'init',
      '--bare',
      '--quiet',
      '--initial-branch=main',
      remotePath,
    );
    return remotePath;
  };

  /** Replicas' state repositories, each its own clone of `remote`. */
  const replicasOf = (remote: string, names: string[]) =>
    Promise.all(
      names.map(name =>
        GitStateRepo.open({
          path: join(dir, `${name}.git`),
          remote: { url: remote },
        }),
      ),
    );

  it('creates a bare repository and commits files with author and trailers', async () => {
    const repo = await GitStateRepo.open({ path: join(dir, 'state.git') });
    expect(await repo.head()).toBeUndefined();

    const result = await repo.commit({
      parent: undefined,
      changes: [
        {
          path: 'resources/default/orders-db.yaml',
          content: 'kind: Resource\n',
        },
      ],
      message: 'create resource default/orders-db',
      author,
      trailers: { 'Idempotency-Key': 'k-1', 'Request-Id': 'r-1' },
    });
    expect(result.status).toBe('committed');
    const head = await repo.head();
    expect(result).toEqual({ status: 'committed', sha: head });

    expect(await repo.readTree(head!)).toEqual(
      new Map([['resources/default/orders-db.yaml', 'kind: Resource\n']]),
    );
    const [info] = await repo.log(undefined, head!);
    expect(info).toMatchObject({
      sha: head,
      parents: [],
      author,
      trailers: { 'Idempotency-Key': 'k-1', 'Request-Id': 'r-1' },
    });
    expect(info.message.split('\n')[0]).toBe(
      'create resource default/orders-db',
    );
    // Real Git: the CLI sees the same commit.
    expect(gitIn(join(dir, 'state.git'), 'log', '--format=%an', 'main')).toBe(
      'user:default/ana',
    );
  });

  it('refuses a commit on a stale parent (compare-and-swap of the branch)', async () => {
    const repo = await GitStateRepo.open({ path: join(dir, 'state.git') });
    const first = await repo.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a' }],
      message: 'a',
      author,
    });
    const sha = first.status === 'committed' ? first.sha : undefined;
    await repo.commit({
      parent: sha,
      changes: [{ path: 'b.yaml', content: 'b' }],
      message: 'b',
      author,
    });

    const stale = await repo.commit({
      parent: sha,
      changes: [{ path: 'c.yaml', content: 'c' }],
      message: 'c',
      author,
    });
    expect(stale).toEqual({ status: 'conflict' });
    expect([...(await repo.readTree((await repo.head())!)).keys()]).toEqual([
      'a.yaml',
      'b.yaml',
    ]);
  });

  it('lets exactly one of many concurrent commits on the same parent win', async () => {
    const repo = await GitStateRepo.open({ path: join(dir, 'state.git') });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        repo.commit({
          parent: undefined,
          changes: [{ path: `f${i}.yaml`, content: String(i) }],
          message: `f${i}`,
          author,
        }),
      ),
    );
    expect(results.filter(r => r.status === 'committed')).toHaveLength(1);
    expect(results.filter(r => r.status === 'conflict')).toHaveLength(7);
  });

  it('reports a change that changes nothing, and deletes files', async () => {
    const repo = await GitStateRepo.open({ path: join(dir, 'state.git') });
    const one = await repo.commit({
      parent: undefined,
      changes: [
        { path: 'a.yaml', content: 'a' },
        { path: 'b.yaml', content: 'b' },
      ],
      message: 'ab',
      author,
    });
    const sha = one.status === 'committed' ? one.sha : '';
    expect(
      await repo.commit({
        parent: sha,
        changes: [{ path: 'a.yaml', content: 'a' }],
        message: 'same',
        author,
      }),
    ).toEqual({ status: 'unchanged', sha });
    // No changes at all (manifests applied again as they are) is unchanged too.
    expect(
      await repo.commit({ parent: sha, changes: [], message: 'none', author }),
    ).toEqual({ status: 'unchanged', sha });

    const removed = await repo.commit({
      parent: sha,
      changes: [{ path: 'a.yaml' }],
      message: 'rm',
      author,
    });
    expect(removed.status).toBe('committed');
    expect([...(await repo.readTree((await repo.head())!)).keys()]).toEqual([
      'b.yaml',
    ]);
    expect(
      (await repo.log(sha, (await repo.head())!)).map(c => c.message),
    ).toEqual(['rm']);
  });

  it('sees a commit pushed by hand from a clone', async () => {
    const repo = await GitStateRepo.open({ path: join(dir, 'state.git') });
    await repo.commit({
      parent: undefined,
      changes: [{ path: 'a.yaml', content: 'a' }],
      message: 'a',
      author,
    });

    gitIn(dir, 'clone', '--quiet', join(dir, 'state.git'), 'work');
    writeFileSync(join(dir, 'work', 'b.yaml'), 'b\n');
    gitIn(join(dir, 'work'), 'add', 'b.yaml');
    gitIn(
      join(dir, 'work'),
      'commit',
      '--quiet',
      '-m',
      'add b',
      '-m',
      'Reviewed-by: Bea',
    );
    gitIn(join(dir, 'work'), 'push', '--quiet', 'origin', 'HEAD:main');

    const head = (await repo.head())!;
    expect((await repo.readTree(head)).get('b.yaml')).toBe('b\n');
    const [pushed] = await repo.log(undefined, head).then(l => l.slice(-1));
    expect(pushed).toMatchObject({
      author: { name: 'Someone', email: 'someone@example.com' },
      trailers: { 'Reviewed-by': 'Bea' },
    });
  });

  it('with a remote, pushes each commit there and refuses when the remote moved', async () => {
    const remotePath = bareRemote();
    const [a, b] = await replicasOf(remotePath, ['a', 'b']);

    await a.refresh();
    const first = await a.commit({
      parent: await a.head(),
      changes: [{ path: 'x.yaml', content: 'x' }],
      message: 'x from a',
      author,
    });
    expect(first.status).toBe('committed');
    expect(gitIn(remotePath, 'log', '--format=%s', 'main')).toBe('x from a');

    // b has not refreshed: its change is on a stale parent and the remote refuses it.
    expect(
      await b.commit({
        parent: await b.head(),
        changes: [{ path: 'y.yaml', content: 'y' }],
        message: 'y',
        author,
      }),
    ).toEqual({ status: 'conflict' });
    await b.refresh();
    expect(await b.head()).toBe(first.status === 'committed' && first.sha);
    const second = await b.commit({
      parent: await b.head(),
      changes: [{ path: 'y.yaml', content: 'y' }],
      message: 'y from b',
      author,
    });
    expect(second.status).toBe('committed');
    await a.refresh();
    expect([...(await a.readTree((await a.head())!)).keys()]).toEqual([
      'x.yaml',
      'y.yaml',
    ]);
    expect(readFileSync(join(remotePath, 'HEAD'), 'utf8')).toContain(
      'refs/heads/main',
    );
  });

  it('with a remote, fetches while its own commits are pushed, never failing either', async () => {
    const remotePath = bareRemote();
    const replicas = await replicasOf(remotePath, ['a', 'b']);
    // Two replicas commit in turns to one remote (each push moves the branch and its
    // remote-tracking ref) while each also fetches the other's commits, as indexing does.
    let committed = 0;
    const writer = async (repo: GitStateRepo, name: string) => {
      for (let i = 0; committed < 20; i++) {
        await repo.refresh();
        const result = await repo.commit({
          parent: await repo.head(),
          changes: [{ path: `${name}-${i}.yaml`, content: `${i}` }],
          message: `${name} ${i}`,
          author,
        });
        if (result.status === 'committed') committed += 1;
      }
    };
    const fetcher = async (repo: GitStateRepo) => {
      while (committed < 20) await repo.refresh();
    };
    await Promise.all(
      replicas.flatMap((repo, i) => [
        writer(repo, `r${i}`),
        fetcher(repo),
        fetcher(repo),
      ]),
    );
    for (const repo of replicas) {
      await repo.refresh();
      expect(await repo.head()).toBe(gitIn(remotePath, 'rev-parse', 'main'));
    }
    expect(
      Number(gitIn(remotePath, 'rev-list', '--count', 'main')),
    ).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
