import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main';
import { writeFiles } from './generate';

/*
 * `idp generate` against a stand-in for the API: what it asks for, and what it writes.
 * (The API itself is tested with the backend plugin.)
 */
describe('idp generate', () => {
  let server: Server;
  let base: string;
  let dir: string;
  const seen: IncomingMessage[] = [];
  let answer: { status: number; body: unknown };
  let stdout: string;
  let stderr: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(resolve => server.close(resolve)));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-generate-'));
    seen.length = 0;
    stdout = '';
    stderr = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      stdout += String(chunk);
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      stderr += String(chunk);
      return true;
    });
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = undefined;
  });

  const run = (...args: string[]) =>
    main([
      'node',
      'idp',
      '--server',
      base,
      '--token',
      'token',
      'generate',
      ...args,
    ]);

  const compose = {
    format: 'compose',
    resources: ['resource:default/checkout-db', 'resource:default/checkout'],
    files: [
      { path: 'docker-compose.yaml', content: 'services: {}\n' },
      { path: '.env.example', content: 'CHECKOUT_DB_PASSWORD=\n' },
    ],
    notes: ['1 dependency left out: missing, or a resource you cannot read'],
  };

  it("writes a component's files into the directory given, and prints what it wrote", async () => {
    answer = { status: 200, body: compose };
    await run('compose', '--component', 'checkout', '-d', dir);
    expect(process.exitCode).toBeUndefined();
    expect(seen[0].url).toBe(
      '/api/control-plane/generate/compose?component=checkout',
    );
    expect(readFileSync(join(dir, 'docker-compose.yaml'), 'utf8')).toBe(
      'services: {}\n',
    );
    expect(readFileSync(join(dir, '.env.example'), 'utf8')).toBe(
      'CHECKOUT_DB_PASSWORD=\n',
    );
    expect(stdout).toContain(join(dir, 'docker-compose.yaml'));
    expect(stderr).toContain('note: 1 dependency left out');
  });

  it('asks for a project and a provider', async () => {
    answer = {
      status: 200,
      body: {
        ...compose,
        format: 'terraform',
        files: [{ path: 'terraform/gcp/main.tf', content: '' }],
      },
    };
    await run(
      'terraform',
      '--project',
      'payments',
      '--provider',
      'gcp',
      '-d',
      dir,
    );
    expect(seen[0].url).toBe(
      '/api/control-plane/generate/terraform?project=payments&provider=gcp',
    );
    expect(readFileSync(join(dir, 'terraform/gcp/main.tf'), 'utf8')).toBe('');
  });

  it('refuses to overwrite a file unless --force', async () => {
    answer = { status: 200, body: compose };
    writeFileSync(join(dir, 'docker-compose.yaml'), 'mine\n');
    await run('compose', '--component', 'checkout', '-d', dir);
    expect(process.exitCode).toBe(2);
    expect(stderr).toContain('already exists: pass --force');
    expect(readFileSync(join(dir, 'docker-compose.yaml'), 'utf8')).toBe(
      'mine\n',
    );
    await run('compose', '--component', 'checkout', '-d', dir, '--force');
    expect(readFileSync(join(dir, 'docker-compose.yaml'), 'utf8')).toBe(
      'services: {}\n',
    );
  });

  it.each([
    [['compose'], 'give exactly one of --component and --project'],
    [
      ['compose', '--component', 'a', '--project', 'b'],
      'give exactly one of --component and --project',
    ],
  ])('refuses %j without calling the server', async (args, message) => {
    await run(...args);
    expect(process.exitCode).toBe(2);
    expect(stderr).toContain(message);
    expect(seen).toHaveLength(0);
  });

  it("prints the server's field error and exits 1", async () => {
    answer = {
      status: 400,
      body: {
        error: {
          name: 'InputError',
          message: 'component: must be an entity ref',
          issues: [{ path: 'component', message: 'must be an entity ref' }],
        },
      },
    };
    await run('compose', '--component', 'not a ref', '-d', dir);
    expect(process.exitCode).toBe(1);
    expect(stderr).toContain('component: must be an entity ref');
  });

  it.each(['../outside', '/etc/passwd', 'a/../../outside'])(
    'never writes outside the directory: %s',
    async path => {
      await expect(writeFiles(dir, [{ path, content: 'x' }])).rejects.toThrow(
        /refusing to write/,
      );
    },
  );
});
