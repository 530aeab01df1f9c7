import { execFile } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

const idp = resolve(__dirname, '../bin/idp');

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>(done => {
    execFile(
      process.execPath,
      [idp, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('idp', () => {
  let server: Server;
  let url: string;
  let health: { status: number; body: unknown };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/api/control-plane/health') {
        res.writeHead(health.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(health.body));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(r => server.close(r)));

  const body = {
    status: 'ok',
    database: {
      client: 'better-sqlite3',
      migrations: { applied: ['a.js', 'b.js'], pending: [] },
    },
  };

  it('prints the health of the server named by --server', async () => {
    health = { status: 200, body };
    const { code, stdout } = await run(['--server', url, 'health']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/status\s+ok/);
    expect(stdout).toMatch(/database\s+better-sqlite3/);
    expect(stdout).toMatch(/2 applied, 0 pending/);
  }, 60_000);

  it('takes the server from IDP_SERVER and prints JSON with -o json', async () => {
    health = { status: 200, body };
    const { code, stdout } = await run(['-o', 'json', 'health'], {
      IDP_SERVER: url,
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(body);
  }, 60_000);

  it("exits 1 with the server's message when the call fails", async () => {
    health = {
      status: 503,
      body: {
        error: { name: 'ServiceUnavailableError', message: 'database is down' },
      },
    };
    const { code, stderr } = await run(['--server', url, 'health']);
    expect(code).toBe(1);
    expect(stderr).toContain('database is down');
  }, 60_000);

  it('exits 2 on a usage error', async () => {
    const { code, stderr } = await run(['--output', 'xml', 'health']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Allowed choices are table, json/);
  }, 60_000);
});
