/**
 * @jest-environment node
 */
/*
 * The SDK against a real control plane (the backend plugin and the simulated clouds in a
 * test backend), behind a gateway that fails the way real ones do.
 */
// A real control plane in the test's Node process (this test runs in Node, not a browser).
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { createServer, IncomingMessage, Server } from 'node:http';
import { createIdpClient } from './client';
import { IdpValidationError, IdpWaitError } from './errors';

jest.setTimeout(60_000);

let cp: TestControlPlane;
let backendUrl: string;
let token: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  backendUrl = cp.baseUrl;
  token = cp.tokenFor('user:default/ana');
});

afterAll(() => cp?.stop());

/**
 * A gateway in front of the control plane. For the first `failures` POSTs it passes the
 * request on, lets the control plane do the work, and then answers 503 anyway: the answer
 * was lost on its way back, the worst case for a client that retries.
 */
async function flakyGateway(failures: number) {
  const posts: string[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([k]) => k !== 'host' && k !== 'content-length',
      ),
    ) as Record<string, string>;
    const upstream = await fetch(`${backendUrl}${req.url}`, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (req.method === 'POST') {
      posts.push(String(req.headers['idempotency-key']));
      if (posts.length <= failures) {
        res.writeHead(503, {
          'content-type': 'application/json',
          'retry-after': '0',
        });
        res.end(
          JSON.stringify({
            error: {
              name: 'ServiceUnavailableError',
              message: 'gateway timeout',
            },
          }),
        );
        return;
      }
    }
    res.writeHead(upstream.status, {
      'content-type':
        upstream.headers.get('content-type') ?? 'application/json',
    });
    res.end(body);
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    posts,
    close: () => new Promise(r => server.close(r)),
  };
}

describe('the SDK against a running control plane', () => {
  it('creates exactly one resource when the gateway answers 503 twice, then 201', async () => {
    const gateway = await flakyGateway(2);
    try {
      const idp = createIdpClient({
        baseUrl: gateway.url,
        token,
        retry: { retries: 4, minDelayMs: 10, maxDelayMs: 50 },
      });
      const created = await idp.mysql.create({
        name: 'orders-db',
        owner: 'group:default/payments',
        tier: 'medium',
        cell: 'cell-us',
        size: 'large',
      });
      expect(created).toMatchObject({
        ref: 'resource:default/orders-db',
        spec: { params: { size: 'large' } },
      });
      // Three attempts, one key: the control plane did the work once and replayed it.
      expect(gateway.posts).toHaveLength(3);
      expect(new Set(gateway.posts).size).toBe(1);

      const direct = createIdpClient({ baseUrl: backendUrl, token });
      const { items } = await direct.resources.list({ product: 'mysql' });
      expect(items.map(r => r.ref)).toEqual(['resource:default/orders-db']);
      // One create was accepted and committed; the retries were answered by replaying it.
      const creates = (
        await direct.audit.list({ action: 'resource.create' })
      ).items.filter(e => e.target === 'resource:default/orders-db');
      expect(creates.filter(e => e.commit)).toHaveLength(1);
      expect(creates.filter(e => !e.commit).map(e => e.reason)).toEqual([
        expect.stringMatching(/^replayed the first response \(201\)/),
        expect.stringMatching(/^replayed the first response \(201\)/),
      ]);
    } finally {
      await gateway.close();
    }
  });

  it('waits for READY over the event stream, reporting each event', async () => {
    const idp = createIdpClient({ baseUrl: backendUrl, token });
    const events: string[] = [];
    const ready = await idp.resources.waitFor('orders-db', 'READY', {
      timeoutMs: 30_000,
      onEvent: e => events.push(e.type),
    });
    expect(ready.status.state).toBe('READY');
    const log = await idp.resources.eventLog('orders-db');
    expect(log.map(e => e.type)).toEqual(
      expect.arrayContaining(['state.changed', 'step.succeeded']),
    );
  });

  it('types the errors: a bad parameter is a validation error naming the field; a FAILED wait says why', async () => {
    const idp = createIdpClient({ baseUrl: backendUrl, token });
    const error = await idp.resources
      .create({
        name: 'x',
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
        params: { size: 'huge' },
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(IdpValidationError);
    expect(error.field).toBe('params.size');
    await expect(
      idp.resources.waitFor('orders-db', 'DELETED', { timeoutMs: 200 }),
    ).rejects.toBeInstanceOf(IdpWaitError);
  });

  it('manages experiments and feature flags, and reads the arm a placement took', async () => {
    const idp = createIdpClient({ baseUrl: backendUrl, token });
    const created = await idp.experiments.create({
      name: 'everything-cheap',
      arms: [
        { name: 'cost-only', percent: 100, weights: { cost: 1, health: 0 } },
      ],
      scope: { tiers: ['low'] },
    });
    expect(created).toMatchObject({
      status: 'running',
      createdBy: 'user:default/ana',
    });
    expect((await idp.experiments.list()).map(e => e.name)).toEqual([
      'everything-cheap',
    ]);
    await idp.redis.create({
      name: 'cheap-cache',
      owner: 'group:default/payments',
      tier: 'low',
      cell: 'cell-us',
    });
    await idp.resources.waitFor('cheap-cache', 'READY', { timeoutMs: 30_000 });
    expect((await idp.resources.placement('cheap-cache')).experiment).toEqual({
      id: 'everything-cheap',
      arm: 'cost-only',
    });
    const outcomes = (await idp.experiments.get('everything-cheap')).outcomes;
    expect(outcomes.find(o => o.arm === 'cost-only')).toMatchObject({
      placements: 1,
      ready: 1,
    });
    expect((await idp.experiments.stop('everything-cheap')).status).toBe(
      'stopped',
    );

    const set = await idp.flags.set('drift.autoCorrect', {
      value: false,
      scope: { cell: 'cell-eu' },
    });
    expect(set.values).toEqual([
      expect.objectContaining({ scope: { cell: 'cell-eu' }, value: false }),
    ]);
    expect((await idp.flags.get('drift.autoCorrect')).values).toHaveLength(1);
    const unset = await idp.flags.unset('drift.autoCorrect', {
      cell: 'cell-eu',
    });
    expect(unset.values).toEqual([]);
    expect((await idp.flags.list()).map(f => f.name)).toEqual([
      'drift.autoCorrect',
      'placement.experiments',
    ]);
  });
  it("generates a component's files from what was asked for, and names a bad field", async () => {
    const idp = createIdpClient({ baseUrl: backendUrl, token });
    const common = {
      owner: 'group:default/payments',
      component: 'component:default/billing',
      tier: 'low' as const,
      cell: 'cell-us',
    };
    await idp.postgres.create({ ...common, name: 'billing-db' });
    await idp.webapp.create({
      ...common,
      name: 'billing',
      dependsOn: ['billing-db'],
      image: 'ghcr.io/acme/billing',
      version: '2.0.0',
    });
    const generated = await idp.generate('kubernetes', {
      component: 'billing',
    });
    expect(generated.resources).toEqual([
      'resource:default/billing-db',
      'resource:default/billing',
    ]);
    expect(generated.files.map(f => f.path)).toEqual([
      'kubernetes/billing-db.yaml',
      'kubernetes/billing.yaml',
      'kubernetes/kustomization.yaml',
    ]);
    const error = await idp
      .generate('terraform', { component: 'billing', provider: 'ibm' as any })
      .catch(e => e);
    expect(error).toBeInstanceOf(IdpValidationError);
    expect(error.field).toBe('provider');
  });

  it("reads a project's effective definition and its compliance, and refuses what the project rules out", async () => {
    const idp = createIdpClient({ baseUrl: backendUrl, token });
    await idp.manifests.apply(
      `apiVersion: idp.multicloud/v1
kind: ProjectProduct
metadata: { name: mysql, namespace: ledger }
spec:
  extends: mysql
  parameters:
    size: { default: small }
---
apiVersion: idp.multicloud/v1
kind: Project
metadata: { name: ledger }
spec:
  compliance: [pci-dss]
  audit: { retentionDays: 365 }
`,
      // A project definition changes what the project sees: the plan calls it breaking.
      { acknowledgeBreaking: true },
    );
    const definition = await idp.projects.product('ledger', 'mysql');
    expect(
      definition.fields.find(f => f.path === 'parameters.size.default'),
    ).toMatchObject({ value: 'small', origin: { from: 'project' } });
    const error = await idp.mysql
      .create({
        namespace: 'ledger',
        name: 'ledger-db',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
        encryption: false,
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(IdpValidationError);
    expect(error.message).toContain(
      'compliance.pci-dss.encryption-at-rest: resource:ledger/ledger-db has encryption: false',
    );
    const report = await idp.projects.compliance('ledger');
    expect(report).toMatchObject({
      declared: true,
      regimes: ['pci-dss'],
      summary: { pass: 1, fail: 0 },
    });
  });
});
