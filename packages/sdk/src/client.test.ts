import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createIdpClient } from './client';
import {
  IdpConflictError,
  IdpNetworkError,
  IdpServerError,
  IdpValidationError,
} from './errors';

type Answer = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
};

describe('createIdpClient', () => {
  let server: Server;
  let baseUrl: string;
  const seen: { req: IncomingMessage; body: string }[] = [];
  let answers: Answer[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        seen.push({ req, body });
        const answer = answers.length > 1 ? answers.shift()! : answers[0];
        res.writeHead(answer.status, {
          'content-type': 'application/json',
          ...answer.headers,
        });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(resolve => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
  });

  const healthy = {
    status: 'ok',
    database: { client: 'pg', migrations: { applied: ['a.js'], pending: [] } },
  };
  const fast = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };

  it('calls the control plane under /api/control-plane with the bearer token', async () => {
    answers = [{ status: 200, body: healthy }];
    const idp = createIdpClient({ baseUrl: `${baseUrl}/`, token: 'secret' });
    await expect(idp.health()).resolves.toEqual(healthy);
    expect(seen[0].req.url).toBe('/api/control-plane/health');
    expect(seen[0].req.headers.authorization).toBe('Bearer secret');
  });

  it('finds the API through a discovery API and asks for a fresh token per call', async () => {
    answers = [{ status: 200, body: healthy }];
    let n = 0;
    const idp = createIdpClient({
      discoveryApi: { getBaseUrl: async id => `${baseUrl}/proxied/${id}` },
      token: async () => `t${++n}`,
    });
    await idp.health();
    await idp.health();
    expect(seen.map(s => [s.req.url, s.req.headers.authorization])).toEqual([
      ['/proxied/control-plane/health', 'Bearer t1'],
      ['/proxied/control-plane/health', 'Bearer t2'],
    ]);
  });

  it('retries 503s with the same Idempotency-Key, honouring Retry-After', async () => {
    answers = [
      {
        status: 503,
        body: { error: { name: 'Error', message: 'busy' } },
        headers: { 'retry-after': '0' },
      },
      { status: 503, body: { error: { name: 'Error', message: 'busy' } } },
      { status: 201, body: { ref: 'resource:default/db' } },
    ];
    const idp = createIdpClient({ baseUrl, retry: fast });
    await idp.resources.create({
      name: 'db',
      product: 'mysql',
      owner: 'group:x',
      tier: 'low',
      cell: 'c',
    });
    expect(seen).toHaveLength(3);
    const keys = new Set(seen.map(s => s.req.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.every(s => JSON.parse(s.body).name === 'db')).toBe(true);
  });

  it('gives up after its retries with a typed server error', async () => {
    answers = [
      { status: 500, body: { error: { name: 'Error', message: 'boom' } } },
    ];
    const idp = createIdpClient({ baseUrl, retry: fast });
    const error = await idp.health().catch(e => e);
    expect(error).toBeInstanceOf(IdpServerError);
    expect(error.message).toBe('boom');
    expect(seen).toHaveLength(4);
  });

  it('throws typed errors carrying the field at fault, without retrying them', async () => {
    answers = [
      {
        status: 400,
        body: {
          error: {
            name: 'InputError',
            message: 'params.size: Invalid option',
            issues: [{ path: 'params.size', message: 'Invalid option' }],
          },
          response: { statusCode: 400 },
        },
      },
    ];
    const idp = createIdpClient({ baseUrl, retry: fast });
    const error = await idp.mysql
      .create({
        name: 'db',
        owner: 'group:x',
        tier: 'low',
        cell: 'c',
        size: 'large',
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(IdpValidationError);
    expect(error.field).toBe('params.size');
    expect(error.statusCode).toBe(400);
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0].body)).toMatchObject({
      product: 'mysql',
      params: { size: 'large' },
    });

    answers = [
      {
        status: 409,
        body: { error: { name: 'ConflictError', message: 'exists' } },
      },
    ];
    await expect(idp.resources.get('payments/db')).rejects.toBeInstanceOf(
      IdpConflictError,
    );
    expect(seen[1].req.url).toBe('/api/control-plane/resources/payments/db');
  });

  it('generates files for a component, and names the field of a bad request', async () => {
    const generated = {
      format: 'compose',
      resources: ['resource:default/checkout'],
      files: [{ path: 'docker-compose.yaml', content: 'services: {}\n' }],
      notes: [],
    };
    answers = [{ status: 200, body: generated }];
    const idp = createIdpClient({ baseUrl, retry: fast });
    await expect(
      idp.generate('compose', { component: 'component:default/checkout' }),
    ).resolves.toEqual(generated);
    expect(seen[0].req.url).toBe(
      '/api/control-plane/generate/compose?component=component%3Adefault%2Fcheckout',
    );

    answers = [
      {
        status: 400,
        body: {
          error: {
            name: 'InputError',
            message: 'provider: Invalid option',
            issues: [{ path: 'provider', message: 'Invalid option' }],
          },
        },
      },
    ];
    const error = await idp
      .generate('terraform', { project: 'payments', provider: 'aws' })
      .catch(e => e);
    expect(error).toBeInstanceOf(IdpValidationError);
    expect(error.field).toBe('provider');
  });

  it('reports an unreachable server as a network error after retrying', async () => {
    const idp = createIdpClient({ baseUrl: 'http://127.0.0.1:9', retry: fast });
    await expect(idp.health()).rejects.toBeInstanceOf(IdpNetworkError);
  });
});
