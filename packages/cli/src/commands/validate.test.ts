import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { captureOutput } from '../__testUtils__/output';
import { main } from '../main';

/** A state repository as a fresh control plane seeds it: tiers, cells, providers, clusters. */
const seeded = join(__dirname, '__fixtures__', 'state-repo');

jest.setTimeout(60_000);

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'CI',
      GIT_AUTHOR_EMAIL: 'ci@example.com',
      GIT_COMMITTER_NAME: 'CI',
      GIT_COMMITTER_EMAIL: 'ci@example.com',
    },
  })
    .toString()
    .trim();

const redis = (name: string, extra: Record<string, string> = {}) =>
  `apiVersion: idp.multicloud/v1
kind: Resource
metadata:
  name: ${name}
  namespace: payments
spec:
  product: redis
  owner: group:default/payments
  tier: ${extra.tier ?? 'high'}
  cell: cell-eu
  params:
    size: ${extra.size ?? 'small'}
`;

describe('idp validate', () => {
  let dir: string;
  const out = captureOutput();
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-validate-'));
    cpSync(seeded, dir, { recursive: true });
    write('resources/payments/sessions.yaml', redis('sessions'));
    write('resources/payments/tokens.yaml', redis('tokens'));
    git(dir, 'init', '--quiet', '--initial-branch=main');
    git(dir, 'add', '.');
    git(dir, 'commit', '--quiet', '-m', 'base');
    git(dir, 'checkout', '--quiet', '-b', 'change');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const idp = async (...args: string[]) => {
    await main(['node', 'idp', ...args]);
    return process.exitCode ?? 0;
  };

  /** The change under review: one broken manifest and one breaking change, committed. */
  const brokenAndBreaking = () => {
    write(
      'resources/payments/broken.yaml',
      redis('broken').replace('product: redis', 'product: 12'),
    );
    write('resources/payments/tokens.yaml', redis('tokens', { tier: 'low' }));
    git(dir, 'add', '.');
    git(dir, 'commit', '--quiet', '-m', 'change');
  };

  it('passes a valid checkout (exit 0)', async () => {
    const code = await idp('validate', dir, '--base', 'main');
    expect([code, out.stderr]).toEqual([0, '']);
    expect(out.stdout).toContain('Valid.');
  });

  it('annotates a broken and a breaking change for GitHub Actions, and exits 1', async () => {
    brokenAndBreaking();
    expect(
      await idp('validate', dir, '--base', 'main', '--format', 'github'),
    ).toBe(1);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^::error file=resources\/payments\/broken\.yaml,title=idp validate%3A schema::resource:payments\/broken spec\.product: /,
      ),
    );
    expect(lines).toContainEqual(
      '::error file=resources/payments/tokens.yaml,title=idp validate%3A breaking tier.lowered::resource:payments/tokens moves from tier high to low: a weaker SLA and fewer required features',
    );
  });

  it('exits 3 on breaking changes alone, 0 with --allow-breaking (then a warning)', async () => {
    write('resources/payments/tokens.yaml', redis('tokens', { tier: 'low' }));
    expect(await idp('validate', dir, '--base', 'main')).toBe(3);
    expect(out.stdout).toContain('✗ Breaking changes');
    out.stdout = '';
    expect(
      await idp(
        'validate',
        dir,
        '--base',
        'main',
        '--format',
        'github',
        '--allow-breaking',
      ),
    ).toBe(0);
    expect(out.stdout).toMatch(
      /^::warning file=resources\/payments\/tokens\.yaml/m,
    );
  });

  it('writes JUnit XML and JSON a CI can read', async () => {
    brokenAndBreaking();
    expect(
      await idp('validate', dir, '--base', 'main', '--format', 'junit'),
    ).toBe(1);
    const junit = new XMLParser({ ignoreAttributes: false }).parse(out.stdout);
    const suites = junit.testsuites.testsuite;
    expect(junit.testsuites['@_failures']).toBe('2');
    const schema = suites.find(
      (s: any) => s['@_name'] === 'idp validate: schema',
    );
    expect(schema.testcase['@_name']).toBe('resources/payments/broken.yaml');
    expect(schema.testcase.failure['@_message']).toContain('spec.product');

    out.stdout = '';
    expect(
      await idp('validate', dir, '--base', 'main', '--format', 'json'),
    ).toBe(1);
    const report = JSON.parse(out.stdout);
    expect(report.exitCode).toBe(1);
    expect(report.base).toBe(git(dir, 'rev-parse', 'main'));
    expect(report.findings.map((f: any) => f.check).sort()).toEqual([
      'breaking',
      'schema',
    ]);
  });

  it('is a usage error (exit 2) for an unknown base or a missing directory', async () => {
    expect(await idp('validate', dir, '--base', 'no-such-branch')).toBe(2);
    expect(out.stderr).toContain('--base no-such-branch');
    expect(await idp('validate', join(dir, 'nothing'))).toBe(2);
  });
});
