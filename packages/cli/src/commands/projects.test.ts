import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { main } from '../main';

/*
 * `idp products show` and `idp projects compliance` against a stand-in for the API: what they
 * ask for and what they print. (The API itself is tested with the backend plugin.)
 */
describe('idp products and idp projects', () => {
  let server: Server;
  let base: string;
  const seen: IncomingMessage[] = [];
  let answer: { status: number; body: unknown };
  let stdout: string;

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
    seen.length = 0;
    stdout = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      stdout += String(chunk);
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });

  const run = (...args: string[]) =>
    main(['node', 'idp', '--server', base, '--token', 'token', ...args]);

  const project = {
    from: 'project',
    project: 'payments',
    definition: 'mysql',
    path: 'projects/payments/products/mysql.yaml',
  };
  const global = { from: 'global', source: 'builtin', product: 'mysql' };

  it('idp products show mysql --project payments prints each field with its origin', async () => {
    answer = {
      status: 200,
      body: {
        project: 'payments',
        id: 'mysql',
        source: 'builtin',
        publish: false,
        chain: [global, project],
        spec: {},
        fields: [
          { path: 'parameters.size.default', value: 'small', origin: project },
          { path: 'parameters.storageGi.default', value: 20, origin: global },
        ],
      },
    };
    await run('products', 'show', 'mysql', '--project', 'payments');
    expect(seen[0].url).toBe(
      '/api/control-plane/projects/payments/products/mysql',
    );
    expect(stdout).toContain(
      'chain: global mysql (builtin) → project payments: projects/payments/products/mysql.yaml',
    );
    expect(stdout).toMatch(
      /parameters\.size\.default\s+small\s+project payments: projects\/payments\/products\/mysql\.yaml/,
    );
    expect(stdout).toMatch(
      /parameters\.storageGi\.default\s+20\s+global mysql \(builtin\)/,
    );
  });

  it('idp projects compliance payments prints each rule and exits 1 when one fails', async () => {
    answer = {
      status: 200,
      body: {
        project: 'payments',
        declared: true,
        regimes: ['pci-dss'],
        approvals: { breaking: [], versionBump: [], config: [] },
        sla: {},
        resources: ['resource:payments/orders-db'],
        checks: [
          {
            rule: 'compliance.pci-dss.encryption-at-rest',
            subject: 'resource:payments/orders-db',
            status: 'fail',
            reason: 'resource:payments/orders-db has encryption: false',
          },
        ],
        summary: { pass: 0, fail: 1, unverified: 0 },
      },
    };
    await run('projects', 'compliance', 'payments');
    expect(seen[0].url).toBe('/api/control-plane/projects/payments/compliance');
    expect(stdout).toContain('0 pass, 1 fail, 0 unverified');
    expect(stdout).toMatch(
      /compliance\.pci-dss\.encryption-at-rest\s+resource:payments\/orders-db\s+fail\s+resource:payments\/orders-db has encryption: false/,
    );
    expect(process.exitCode).toBe(1);
  });

  it('names the refusal of the API', async () => {
    answer = {
      status: 404,
      body: {
        error: {
          name: 'NotFoundError',
          message:
            'No product nosuch in project payments nor in the global registry',
        },
        request: { method: 'GET', url: '/projects/payments/products/nosuch' },
        response: { statusCode: 404 },
      },
    };
    let err = '';
    (process.stderr.write as jest.Mock).mockImplementation(chunk => {
      err += String(chunk);
      return true;
    });
    await run('products', 'show', 'nosuch', '--project', 'payments').catch(
      () => undefined,
    );
    expect(err).toContain('No product nosuch in project payments');
    expect(process.exitCode).not.toBe(0);
  });
});
