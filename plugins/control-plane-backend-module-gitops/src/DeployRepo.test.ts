import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployRepo } from './DeployRepo';
import { renderMessage } from './GitOpsDelivery';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  })
    .toString()
    .trim();

describe('the deploy repository', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-deploy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const repo = (extra: { pushUrl?: string; path?: string } = {}) =>
    new DeployRepo({
      path: extra.path ?? join(dir, 'deploy.git'),
      branch: 'main',
      authorName: 'IDP Multicloud control plane',
      authorEmail: 'control-plane@idp.multicloud',
      ...extra,
    });
  const state = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0';

  it('commits a render naming the state commit it came from, and nothing when nothing changed', async () => {
    const deploy = repo();
    const files = new Map([
      ['clusters/aws-us-east-1/shop/storefront.yaml', 'kind: WebApp\n'],
      ['bootstrap/argocd/applicationset.yaml', 'kind: ApplicationSet\n'],
    ]);
    const first = await deploy.commitTree(files, changed =>
      renderMessage(state, changed),
    );
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(first.changed).toEqual([
      'bootstrap/argocd/applicationset.yaml',
      'clusters/aws-us-east-1/shop/storefront.yaml',
    ]);
    const message = git(deploy.path, 'log', '-1', '--format=%B', 'main');
    expect(message).toContain(
      `Render state commit ${state.slice(0, 12)}: 2 files changed`,
    );
    expect(
      git(
        deploy.path,
        'log',
        '-1',
        '--format=%(trailers:key=Idp-State-Commit,valueonly)',
        'main',
      ),
    ).toBe(state);
    expect(
      git(
        deploy.path,
        'show',
        'main:clusters/aws-us-east-1/shop/storefront.yaml',
      ),
    ).toBe('kind: WebApp');

    // the same tree again: no commit
    const again = await deploy.commitTree(new Map(files), () => 'never');
    expect(again).toEqual({ changed: [] });
    expect(git(deploy.path, 'rev-list', '--count', 'main')).toBe('1');

    // a resource gone, another changed: one commit with exactly those
    const next = await deploy.commitTree(
      new Map([
        [
          'bootstrap/argocd/applicationset.yaml',
          'kind: ApplicationSet\nv: 2\n',
        ],
      ]),
      changed => renderMessage('f'.repeat(40), changed),
    );
    expect(next.changed).toEqual([
      'bootstrap/argocd/applicationset.yaml',
      'clusters/aws-us-east-1/shop/storefront.yaml',
    ]);
    expect(git(deploy.path, 'rev-list', '--count', 'main')).toBe('2');
    expect(git(deploy.path, 'ls-tree', '-r', '--name-only', 'main')).toBe(
      'bootstrap/argocd/applicationset.yaml',
    );
    expect(git(deploy.path, 'rev-parse', 'main~1')).toBe(first.commit);
  });

  it('pushes each render to a remote, taking up what the remote has first', async () => {
    const remote = join(dir, 'remote.git');
    git(dir, 'init', '--bare', '--quiet', '--initial-branch=main', remote);
    const deploy = repo({ pushUrl: remote });
    const a = await deploy.commitTree(
      new Map([['a.yaml', 'a: 1\n']]),
      () => 'first',
    );
    expect(git(remote, 'rev-parse', 'main')).toBe(a.commit);

    // another replica rendered (its own local copy) and pushed
    const other = repo({ pushUrl: remote, path: join(dir, 'other.git') });
    const b = await other.commitTree(
      new Map([
        ['a.yaml', 'a: 1\n'],
        ['b.yaml', 'b: 1\n'],
      ]),
      () => 'second',
    );
    expect(git(remote, 'rev-parse', 'main~1')).toBe(a.commit);

    // the first takes it up: nothing to do for the same tree
    expect(
      await deploy.commitTree(
        new Map([
          ['a.yaml', 'a: 1\n'],
          ['b.yaml', 'b: 1\n'],
        ]),
        () => 'x',
      ),
    ).toEqual({ changed: [] });
    expect(await deploy.head()).toBe(b.commit);
  });
});
