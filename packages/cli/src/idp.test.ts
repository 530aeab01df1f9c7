/*
 * The built `idp` (packages/cli/dist, through bin/idp) run as a child process against a real
 * control plane: the backend plugin and the simulated clouds in a test backend.
 */
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

jest.setTimeout(120_000);

const ana = 'user:default/ana';
const eve = 'user:default/eve';
const cliDir = resolve(__dirname, '..');
const transform = require.resolve('@backstage/cli/config/nodeTransform.cjs');

let cp: TestControlPlane;
let server: string;
const work = mkdtempSync(join(tmpdir(), 'idp-cli-test-'));
const configHome = join(work, 'config');

beforeAll(async () => {
  // The built CLI: what `yarn build` makes and a published package runs.
  execFileSync('yarn', ['build'], { cwd: cliDir, stdio: 'pipe' });
  cp = await startTestControlPlane({ deny: [eve], provisioningMs: 300 });
  server = cp.baseUrl;
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `idp` as ana (unless `env` says otherwise); not a terminal, so progress is plain lines. */
function start(
  args: string[],
  env: Record<string, string | undefined> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    ['--require', transform, join(cliDir, 'bin/idp'), ...args],
    {
      env: {
        ...process.env,
        CI: undefined,
        IDP_CLI_USE_DIST: '1',
        IDP_SERVER: server,
        IDP_TOKEN: cp.tokenFor(ana),
        XDG_CONFIG_HOME: configHome,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

function idp(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): Promise<Run> {
  return new Promise(done => {
    const child = start(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', c => (stdout += c));
    child.stderr!.on('data', c => (stderr += c));
    child.on('close', code => done({ code, stdout, stderr }));
    child.stdin!.end(input ?? '');
  });
}

const owner = ['--owner', 'group:default/payments'];

/** Fails with what the command printed unless it exited with `code`. */
function expectExit(run: Run, code: number) {
  if (run.code !== code) {
    throw new Error(
      `expected exit code ${code}, got ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
}

describe('idp against a running control plane', () => {
  it('creates a MySQL and waits for it, printing the saga as it runs', async () => {
    const run = await idp([
      'create',
      'mysql',
      'orders-db',
      '--cell',
      'cell-us',
      '--tier',
      'medium',
      '--size',
      'large',
      '--wait',
      ...owner,
    ]);
    expectExit(run, 0);
    // Progress on stderr: a line per step as it completes.
    for (const step of [
      'validate',
      'schedule',
      'apply_claim',
      'wait_ready',
      'register_dns',
    ]) {
      expect(run.stderr).toMatch(
        new RegExp(`resource:default/orders-db: create · ${step}: done`),
      );
    }
    expect(run.stdout).toMatch(/^state\s+READY$/m);
    expect(run.stdout).toMatch(/^placement\s+[a-z]+\/[a-z0-9-]+$/m);
    expect(run.stdout).toMatch(
      /^connection secret\s+default\/orders-db-connection on [a-z0-9-]+$/m,
    );

    const json = await idp(['get', 'orders-db', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ref: 'resource:default/orders-db',
      spec: {
        product: 'mysql',
        tier: 'medium',
        cell: 'cell-us',
        params: { size: 'large' },
      },
      status: { state: 'READY' },
    });
  });

  it("prints the server's field error and exits 1 for a size the product does not offer", async () => {
    const run = await idp([
      'create',
      'mysql',
      'huge-db',
      '--size',
      'huge',
      '--cell',
      'cell-us',
      ...owner,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(/params\.size: .*(small|medium|large|xlarge)/);
    const get = await idp(['get', 'huge-db']);
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/not found|does not exist|No resource/i);
  });

  it.each([
    [
      'a missing required option',
      ['create', 'mysql', ...owner],
      /required option '--cell <cell>' not specified/,
    ],
    [
      'an unknown output format',
      ['-o', 'xml', 'list'],
      /Allowed choices are table, json, yaml/,
    ],
    ['a ref that is not one', ['get', 'Not_A/Ref!'], /is not a resource ref/],
    [
      'a parameter without a value',
      ['create', 'redis', '--cell', 'cell-us', '-p', 'persistence', ...owner],
      /expected key=value/,
    ],
    [
      'an unknown operation',
      ['ops', 'reboot', 'orders-db'],
      /unknown command 'reboot'/,
    ],
    [
      'an unknown command, naming the closest one',
      ['creat', 'mysql', 'orders-db'],
      /^error: unknown command 'creat' for 'idp'\nDid you mean 'idp create'\?$/m,
    ],
    [
      'an unknown subcommand of a group',
      ['ops', 'frobnicate', 'orders-db'],
      /^error: unknown command 'frobnicate' for 'idp ops'\nDid you mean 'idp ops [a-z]+'\?$/m,
    ],
    [
      'a mistyped subcommand of a group that is a command too',
      ['audit', 'verfy'],
      /^error: unknown command 'verfy' for 'idp audit'\nDid you mean 'idp audit verify'\?$/m,
    ],
    [
      'no owner and a token that does not name the user',
      ['create', 'redis', '--cell', 'cell-us'],
      /--owner is needed/,
    ],
  ])('exits 2 on %s', async (_what, args, message) => {
    const run = await idp(args);
    expectExit(run, 2);
    expect(run.stderr).toMatch(message);
  });

  it('lists, with filters, as a table, JSON or YAML', async () => {
    await idp([
      'create',
      'redis',
      'orders-cache',
      '--cell',
      'cell-eu',
      '--tier',
      'low',
      ...owner,
    ]);
    const table = await idp(['list', '--product', 'redis']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^REF\s+PRODUCT\s+STATE\s+TIER\s+CELL\s+PLACEMENT\s+OWNER$/,
    );
    expect(lines.slice(1).map(l => l.split(/\s+/)[0])).toEqual([
      'resource:default/orders-cache',
    ]);

    const yaml = parse(
      (await idp(['list', '--cell', 'cell-us', '-o', 'yaml'])).stdout,
    );
    expect(yaml.items.map((r: any) => r.ref)).toEqual([
      'resource:default/orders-db',
    ]);
  });

  it('shows the status, and runs an operation to its end with --wait', async () => {
    const status = await idp(['status', 'orders-db']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^last operation\s+create succeeded/m);

    const scale = await idp([
      'ops',
      'scale',
      'orders-db',
      '--replicas',
      '2',
      '--wait',
      '-o',
      'json',
    ]);
    expectExit(scale, 0);
    const op = JSON.parse(scale.stdout);
    expect(op).toMatchObject({
      type: 'scale',
      state: 'succeeded',
      params: { replicas: 2 },
      actor: ana,
    });
    expect(scale.stderr).toMatch(/scale · /);

    const shown = await idp(['ops', 'show', op.id]);
    expect(shown.stdout).toMatch(new RegExp(`^id\\s+${op.id}$`, 'm'));
    expect(shown.stdout).toMatch(/^STEP\s+STATE/m);
  });

  it("lists a resource's events, and follows new ones", async () => {
    const past = await idp(['events', 'orders-db', '-o', 'json']);
    const events = past.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l));
    expect(events.map(e => e.type)).toEqual(
      expect.arrayContaining(['state.changed', 'step.succeeded']),
    );
    expect(events.map(e => e.id)).toEqual(
      [...events.map(e => e.id)].sort((a, b) => a - b),
    );

    const follow = start(['events', 'orders-db', '--follow']);
    let out = '';
    const seen = new Promise<void>(resolveSeen =>
      follow.stdout!.on('data', chunk => {
        out += chunk;
        if (/backup · /.test(out)) resolveSeen();
      }),
    );
    await new Promise(r => setTimeout(r, 1000));
    expect(
      (await idp(['ops', 'backup', 'orders-db', '--label', 'nightly'])).code,
    ).toBe(0);
    await seen;
    const exited = new Promise(r => follow.on('close', r));
    follow.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('applies manifests: a dry run shows the plan and writes nothing, then one commit', async () => {
    const file = join(work, 'team.yaml');
    writeFileSync(
      file,
      `apiVersion: idp.multicloud/v1
kind: Resource
metadata: { name: reports, namespace: analytics }
spec:
  product: object-bucket
  owner: group:default/payments
  tier: low
  cell: cell-eu
`,
    );
    const dry = await idp(['apply', '-f', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^\+ Resource resource:analytics\/reports \(create\)$/m,
    );
    expect(dry.stdout).toMatch(/Dry run: nothing was written\./);
    expect((await idp(['get', 'analytics/reports'])).code).toBe(1);

    const applied = await idp(
      ['apply', '-f', '-'],
      {},
      readFileSync(file, 'utf8'),
    );
    expect(applied.stdout).toMatch(/Applied as commit [0-9a-f]{40}\./);
    expect((await idp(['get', 'analytics/reports'])).code).toBe(0);
    const again = await idp(['apply', '-f', file]);
    expectExit(again, 0);
    expect(again.stdout).toMatch(
      /^= Resource resource:analytics\/reports \(unchanged\)$/m,
    );
    expect(again.stdout).toMatch(/Nothing to change: no commit\./);
  });

  it('reads the audit log and verifies its chain', async () => {
    const log = await idp([
      'audit',
      '--action',
      'resource.create',
      '-o',
      'json',
    ]);
    expect(JSON.parse(log.stdout).items.map((e: any) => e.target)).toEqual(
      expect.arrayContaining([
        'resource:default/orders-db',
        'resource:default/huge-db',
      ]),
    );
    const verify = await idp(['audit', 'verify']);
    expectExit(verify, 0);
    expect(verify.stdout).toMatch(
      /^The chain is intact: \d+ events checked\.$/m,
    );
  });

  it('deletes, waiting until the resource is gone', async () => {
    const run = await idp(['delete', 'orders-cache', '--wait']);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/^deleted resource:default\/orders-cache/);
    expect((await idp(['get', 'orders-cache'])).code).toBe(1);
  });

  it('exits 1 with the reason when the policy refuses the user', async () => {
    const run = await idp(
      ['create', 'redis', 'eves-cache', '--cell', 'cell-us', ...owner],
      {
        IDP_TOKEN: cp.tokenFor(eve),
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not allowed/);
  });

  it('keeps the token `idp login` was given in a file only the user can read', async () => {
    const token = cp.tokenFor(ana);
    const login = await idp(
      ['login', '--server', server],
      { IDP_TOKEN: undefined, IDP_SERVER: undefined },
      `${token}\n`,
    );
    expectExit(login, 0);
    const file = join(configHome, 'idp', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ server, token });

    // Later commands need neither --server nor a token.
    const list = await idp(['list'], {
      IDP_TOKEN: undefined,
      IDP_SERVER: undefined,
    });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('resource:default/orders-db');

    // A bad token is checked, and not saved.
    const bad = await idp(['login', '--token', 'not-a-token'], {
      IDP_TOKEN: undefined,
    });
    expect(bad.code).toBe(1);
    expect(JSON.parse(readFileSync(file, 'utf8')).token).toBe(token);

    expect((await idp(['logout'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ server });
  });

  it('completes commands in bash', async () => {
    const script = (await idp(['completion', 'bash'])).stdout;
    const complete = (line: string) =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _idp; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      ).trim();
    expect(complete('idp cr')).toBe('create');
    expect(complete('idp create my').split(' ')).toEqual(['mysql']);
    expect(complete('idp create mysql --st').split(' ')).toEqual([
      '--storage-gi',
    ]);
    expect(complete('idp ops f').split(' ')).toEqual(['failover']);
  });

  it('runs a reconciler pass, which has nothing to do once everything converged', async () => {
    const run = await idp(['reconcile', '-o', 'json']);
    expectExit(run, 0);
    expect(JSON.parse(run.stdout).started).toEqual([]);
  });

  it('shows the health of the control plane', async () => {
    const run = await idp(['health']);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/^status\s+ok$/m);
    expect(run.stdout).toMatch(/^migrations\s+\d+ applied, 0 pending$/m);
  });

  it('has --help on every command', async () => {
    for (const args of [
      [],
      ['create', 'redis'],
      ['ops', 'migrate'],
      ['apply'],
      ['audit', 'verify'],
      ['login'],
    ]) {
      const run = await idp([...args, '--help']);
      expect([args, run.code]).toEqual([args, 0]);
      expect(run.stdout).toMatch(/^Usage: idp/);
    }
  });

  it.each([
    [['frobnicate'], []],
    [['frobnicate', 'list', '-o', 'json'], []],
    [['ops', 'frobnicate'], ['ops']],
  ])(
    'answers `idp %j --help` with the help of the command it is under, exit 0',
    async (args, known) => {
      const help = await idp([...known, '--help']);
      const run = await idp([...args, '--help']);
      expectExit(run, 0);
      expect(run.stdout).toBe(help.stdout);
      expect(run.stdout).toMatch(/^Usage: idp /);
      expect(run.stderr).toBe('');
    },
  );
});
