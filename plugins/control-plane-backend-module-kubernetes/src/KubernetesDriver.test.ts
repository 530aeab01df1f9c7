import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import {
  DriverCallContext,
  DriverError,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import { KubernetesDriver } from './KubernetesDriver';

const TOKEN = 'sa-token';
const MYSQL = ['database.idp.multicloud/v1alpha1', 'MySQLInstance'] as const;

const target: DriverTarget = {
  cell: 'cell-us',
  provider: 'aws',
  cluster: 'aws-us-east-1',
  region: 'us-east-1',
  zones: ['us-east-1a'],
};

function resource(overrides: Partial<DriverResource> = {}): DriverResource {
  return {
    ref: 'resource:team-a/orders-db',
    uid: '6f1c2a8e-0b7d-4a43-9d36-2f0f5c1e9a10',
    namespace: 'team-a',
    name: 'orders-db',
    product: 'mysql',
    tier: 'critical',
    owner: 'group:default/team-a',
    generation: 3,
    params: { size: 'medium', storageGi: 100 },
    labels: { 'app.kubernetes.io/part-of': 'checkout' },
    ...overrides,
  };
}

function context(
  token = 'op-1:apply_claim',
  signal = new AbortController().signal,
): DriverCallContext {
  return {
    idempotencyToken: token,
    operationId: 'op-1',
    traceId: 'trace-42',
    signal,
    logger: mockServices.logger.mock(),
  };
}

async function rejection(promise: Promise<unknown>): Promise<DriverError> {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(DriverError);
  return error;
}

describe('KubernetesDriver', () => {
  let fake: FakeKubernetes;
  let driver: KubernetesDriver;

  beforeEach(async () => {
    fake = await FakeKubernetes.start({ token: TOKEN });
    driver = new KubernetesDriver({
      clusters: [
        {
          name: 'aws-us-east-1',
          url: fake.url,
          token: TOKEN,
          skipTLSVerify: true,
        },
      ],
    });
  });

  afterEach(() => fake.stop());

  const patches = () => fake.requests.filter(r => r.method === 'PATCH');

  describe('apply', () => {
    it('creates the claim with server-side apply', async () => {
      const observed = await driver.apply(resource(), target, context());

      expect(observed).toEqual({
        phase: 'provisioning',
        conditions: [],
        params: { size: 'medium', storageGi: 100 },
        connectionSecretRef: 'orders-db-connection',
      });
      const [patch] = patches();
      expect(patch).toMatchObject({
        path: '/apis/database.idp.multicloud/v1alpha1/namespaces/team-a/mysqlinstances/orders-db',
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'control-plane', force: 'true' },
        authorization: `Bearer ${TOKEN}`,
      });
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toMatchObject({
        metadata: {
          name: 'orders-db',
          namespace: 'team-a',
          labels: {
            'app.kubernetes.io/part-of': 'checkout',
            'idp.multicloud/resource-uid': resource().uid,
            'idp.multicloud/tier': 'critical',
            'app.kubernetes.io/managed-by': 'control-plane',
          },
          annotations: {
            'idp.multicloud/trace-id': 'trace-42',
            'idp.multicloud/idempotency-token': 'op-1:apply_claim',
            'idp.multicloud/generation': '3',
          },
        },
        spec: {
          parameters: { size: 'medium', storageGi: 100 },
          compositionSelector: {
            matchLabels: { provider: 'aws', region: 'us-east-1' },
          },
          writeConnectionSecretToRef: { name: 'orders-db-connection' },
        },
      });
    });

    it('is idempotent, and updates what changed without touching the status', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
        ],
      });
      const first = fake.get(...MYSQL, 'team-a', 'orders-db')!;

      await driver.apply(resource(), target, context());
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toEqual(first);

      const observed = await driver.apply(
        resource({ generation: 4, params: { size: 'large', storageGi: 100 } }),
        target,
        context('op-2:apply_claim'),
      );
      const updated = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(updated.spec.parameters).toEqual({
        size: 'large',
        storageGi: 100,
      });
      expect(updated.metadata.generation).toBe(first.metadata.generation + 1);
      expect(updated.metadata.annotations['idp.multicloud/generation']).toBe(
        '4',
      );
      expect(observed.conditions).toEqual([
        {
          type: 'Synced',
          status: 'True',
          lastTransitionTime: '2026-11-23T10:00:00Z',
        },
      ]);
    });

    it('maps each product to its claim kind', async () => {
      await driver.apply(
        resource({ name: 'cache', product: 'redis', params: {} }),
        target,
        context(),
      );
      expect(patches()[0].path).toBe(
        '/apis/cache.idp.multicloud/v1alpha1/namespaces/team-a/rediscaches/cache',
      );
    });
  });

  describe('observe', () => {
    it('reports a missing claim as absent', async () => {
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toEqual({
        phase: 'absent',
      });
    });

    it('reads readiness from the conditions a controller sets', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            reason: 'ReconcileSuccess',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'ready',
        params: { size: 'medium', storageGi: 100 },
        conditions: [
          {
            type: 'Synced',
            status: 'True',
            reason: 'ReconcileSuccess',
            lastTransitionTime: '2026-11-23T10:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });

      fake.setStatus(...MYSQL, 'team-a', 'orders-db', {
        conditions: [
          {
            type: 'Synced',
            status: 'False',
            reason: 'ReconcileError',
            message: 'quota exceeded',
            lastTransitionTime: '2026-11-23T11:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Available',
            lastTransitionTime: '2026-11-23T10:05:00Z',
          },
        ],
      });
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'degraded',
        message: 'quota exceeded',
      });
    });
  });

  describe('awaitPhase (list, then watch)', () => {
    const readyStatus = {
      conditions: [
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
        { type: 'Ready', status: 'True', reason: 'Available' },
      ],
    };
    const watches = () => fake.requests.filter(r => r.query.watch === 'true');
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise(r => setTimeout(r, 5));
    };

    it('lists the claim, then resolves on the watched change that makes it ready', async () => {
      await driver.apply(resource(), target, context());
      const ready = driver.awaitPhase(
        resource(),
        target,
        ['ready', 'failed'],
        context('op-1:wait_ready'),
      );
      await until(() => fake.watches === 1);
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(ready).resolves.toMatchObject({ phase: 'ready' });

      const [list] = fake.requests.filter(
        r =>
          r.method === 'GET' &&
          r.path.endsWith('/mysqlinstances') &&
          r.query.watch === undefined,
      );
      expect(list.query.fieldSelector).toBe('metadata.name=orders-db');
      const [watch] = watches();
      expect(watch).toMatchObject({
        path: '/apis/database.idp.multicloud/v1alpha1/namespaces/team-a/mysqlinstances',
        query: {
          fieldSelector: 'metadata.name=orders-db',
          resourceVersion: expect.stringMatching(/^\d+$/),
        },
        authorization: `Bearer ${TOKEN}`,
      });
      // nothing polled the claim; the watch was closed once the phase was reached
      expect(
        fake.requests.filter(r => r.path.endsWith('/orders-db')),
      ).toHaveLength(1); // the apply
      await until(() => fake.watches === 0);
    });

    it('resolves at once when the claim already is in a wanted phase', async () => {
      await driver.apply(resource(), target, context());
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(
        driver.awaitPhase(resource(), target, ['ready'], context()),
      ).resolves.toMatchObject({ phase: 'ready' });
      expect(watches()).toEqual([]);
    });

    it('reads a watched deletion as absent', async () => {
      await driver.apply(resource(), target, context());
      await driver.delete(resource(), target, context('op-9:delete_claim'));
      const gone = driver.awaitPhase(
        resource(),
        target,
        ['absent'],
        context('op-9:wait_absent'),
      );
      await until(() => fake.watches === 1);
      fake.finishDeletion(...MYSQL, 'team-a', 'orders-db');
      await expect(gone).resolves.toEqual({ phase: 'absent' });
    });

    it('lists again when the watch expired (410 Gone), and still sees the change', async () => {
      await driver.apply(resource(), target, context());
      const ready = driver.awaitPhase(resource(), target, ['ready'], context());
      await until(() => fake.watches === 1);
      fake.expireWatches();
      await until(() => watches().length === 2 && fake.watches === 1);
      fake.setStatus(...MYSQL, 'team-a', 'orders-db', readyStatus);
      await expect(ready).resolves.toMatchObject({ phase: 'ready' });
      const [first, second] = watches();
      expect(Number(second.query.resourceVersion)).toBeGreaterThanOrEqual(
        Number(first.query.resourceVersion),
      );
    });

    it('stops watching when the call is aborted', async () => {
      await driver.apply(resource(), target, context());
      const controller = new AbortController();
      const waiting = driver.awaitPhase(
        resource(),
        target,
        ['ready'],
        context('op-1:wait_ready', controller.signal),
      );
      await until(() => fake.watches === 1);
      controller.abort(new Error('cancelled'));
      await expect(waiting).rejects.toThrow('cancelled');
      await until(() => fake.watches === 0);
    });

    it('gives a throttled watch as a retryable error', async () => {
      await driver.apply(resource(), target, context());
      fake.fail({ method: 'GET', path: '/mysqlinstances', code: 429 });
      // the list is throttled first
      const error = await rejection(
        driver.awaitPhase(resource(), target, ['ready'], context()),
      );
      expect(error.retryable).toBe(true);
    });
  });

  describe('delete', () => {
    it('deletes in the foreground, and deleting what is gone succeeds', async () => {
      await driver.apply(resource(), target, context());

      await driver.delete(resource(), target, context('op-9:delete'));
      const request = fake.requests.find(r => r.method === 'DELETE')!;
      expect(request.query.propagationPolicy).toBe('Foreground');
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toMatchObject({
        phase: 'deleting',
      });

      fake.finishDeletion(...MYSQL, 'team-a', 'orders-db');
      await expect(
        driver.observe(resource(), target, context()),
      ).resolves.toEqual({
        phase: 'absent',
      });
      await expect(
        driver.delete(resource(), target, context('op-9:delete')),
      ).resolves.toBeUndefined();
    });
  });

  describe('errors', () => {
    it.each([429, 500, 502, 503, 504])('retries on %s', async code => {
      fake.fail({
        method: 'PATCH',
        code,
        message: 'etcdserver: request timed out',
      });
      const error = await rejection(
        driver.apply(resource(), target, context()),
      );
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('etcdserver: request timed out');
    });

    it.each([
      [400, 'BadRequest'],
      [403, 'Forbidden'],
      [409, 'Conflict'],
      [422, 'Invalid'],
    ])(
      'does not retry on %s, and carries the API message',
      async (code, reason) => {
        const message = `MySQLInstance.database.idp.multicloud "orders-db" is invalid: spec.parameters.storageGi: Invalid value: 0`;
        fake.fail({ method: 'PATCH', code, message });
        const error = await rejection(
          driver.apply(resource(), target, context()),
        );
        expect(error.retryable).toBe(false);
        expect(error.code).toBe(reason);
        expect(error.message).toContain(message);
        expect(error.message).toContain('aws-us-east-1');
      },
    );

    it('does not retry a 404 where the object must exist', async () => {
      const error = await rejection(
        driver.runOperation(
          { type: 'backup', step: 'snapshot', params: {} },
          resource(),
          target,
          context(),
        ),
      );
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('does not exist');
    });

    it('retries when the API server cannot be reached', async () => {
      const url = fake.url;
      await fake.stop();
      const unreachable = new KubernetesDriver({
        clusters: [
          { name: 'aws-us-east-1', url, token: TOKEN, skipTLSVerify: true },
        ],
      });
      const error = await rejection(
        unreachable.observe(resource(), target, context()),
      );
      expect(error.retryable).toBe(true);
      fake = await FakeKubernetes.start();
    });

    it('gives up a request when the call is aborted', async () => {
      await driver.observe(resource(), target, context()); // discovery cached
      fake.fail({ method: 'GET', path: '/mysqlinstances/', code: 'hang' });
      const controller = new AbortController();
      const pending = driver.observe(
        resource(),
        target,
        context('t', controller.signal),
      );
      setTimeout(() => controller.abort(), 20);
      const error = await rejection(pending);
      expect(error).toMatchObject({ retryable: true, code: 'Aborted' });
    });

    it('refuses a cluster that is not configured, naming it', async () => {
      const elsewhere = { ...target, cluster: 'gcp-europe-west1' };
      for (const call of [
        driver.plan(resource(), elsewhere, context()),
        driver.apply(resource(), elsewhere, context()),
      ]) {
        const error = await rejection(call);
        expect(error.retryable).toBe(false);
        expect(error.message).toContain("'gcp-europe-west1'");
      }
      expect(fake.requests).toEqual([]);
    });

    it('plans only products that have a claim mapping', async () => {
      await expect(
        driver.plan(resource(), target, context()),
      ).resolves.toBeUndefined();
      const error = await rejection(
        driver.plan(resource({ product: 'mongodb' }), target, context()),
      );
      expect(error.retryable).toBe(false);
      expect(error.message).toContain("'mongodb'");
      expect(fake.requests).toEqual([]);
    });
  });

  describe('networking and DNS', () => {
    it('opens the resource to its namespace with a network policy, and removes it', async () => {
      await expect(
        driver.configureNetworking(resource(), target, context()),
      ).resolves.toEqual({
        host: 'orders-db.team-a.svc.cluster.local',
        port: 3306,
      });
      expect(
        fake.get(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          'team-a',
          'orders-db-ingress',
        ),
      ).toMatchObject({
        spec: {
          podSelector: {
            matchLabels: { 'idp.multicloud/resource-uid': resource().uid },
          },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ podSelector: {} }],
              ports: [{ protocol: 'TCP', port: 3306 }],
            },
          ],
        },
      });
      expect(patches()[0].query.fieldManager).toBe('control-plane');

      await driver.removeNetworking(resource(), target, context());
      expect(
        fake.get(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          'team-a',
          'orders-db-ingress',
        ),
      ).toBeUndefined();
      await expect(
        driver.removeNetworking(resource(), target, context()),
      ).resolves.toBeUndefined();
    });

    it('uses the port a web app asks for', async () => {
      const webapp = resource({
        name: 'shop',
        product: 'webapp',
        params: { port: 3000 },
      });
      await expect(
        driver.configureNetworking(webapp, target, context()),
      ).resolves.toEqual({
        host: 'shop.team-a.svc.cluster.local',
        port: 3000,
      });
      const defaults = resource({
        name: 'shop',
        product: 'webapp',
        params: {},
      });
      await expect(
        driver.configureNetworking(defaults, target, context()),
      ).resolves.toMatchObject({ port: 8080 });
    });

    it('publishes a DNS endpoint for external-dns, and removes it', async () => {
      await expect(
        driver.registerDns(resource(), target, context()),
      ).resolves.toEqual({
        hostname: 'orders-db.team-a.cell-us.idp.internal',
      });
      expect(
        fake.get(
          'externaldns.k8s.io/v1alpha1',
          'DNSEndpoint',
          'team-a',
          'orders-db-dns',
        ),
      ).toMatchObject({
        spec: {
          endpoints: [
            {
              dnsName: 'orders-db.team-a.cell-us.idp.internal',
              recordType: 'CNAME',
              targets: ['orders-db.team-a.svc.cluster.local'],
            },
          ],
        },
      });

      await driver.deregisterDns(resource(), target, context());
      expect(
        fake.get(
          'externaldns.k8s.io/v1alpha1',
          'DNSEndpoint',
          'team-a',
          'orders-db-dns',
        ),
      ).toBeUndefined();
      await expect(
        driver.deregisterDns(resource(), target, context()),
      ).resolves.toBeUndefined();
    });
  });

  describe('runOperation', () => {
    const backup = {
      type: 'backup' as const,
      step: 'snapshot',
      params: { label: 'nightly' },
    };

    it('requests the operation with an annotation that survives the next apply', async () => {
      await driver.apply(resource(), target, context());
      const applied = fake.get(...MYSQL, 'team-a', 'orders-db')!;

      await expect(
        driver.runOperation(
          backup,
          resource(),
          target,
          context('op-2:snapshot'),
        ),
      ).resolves.toEqual({
        requested: true,
        annotation: 'idp.multicloud/operation-backup',
      });
      const annotated = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(annotated.spec).toEqual(applied.spec);
      expect(annotated.metadata.labels).toEqual(applied.metadata.labels);
      const request = JSON.parse(
        annotated.metadata.annotations['idp.multicloud/operation-backup'],
      );
      expect(request).toEqual({
        step: 'snapshot',
        params: { label: 'nightly' },
        token: 'op-2:snapshot',
      });

      await driver.apply(resource(), target, context('op-3:apply_claim'));
      const claim = fake.get(...MYSQL, 'team-a', 'orders-db')!;
      expect(
        claim.metadata.annotations['idp.multicloud/operation-backup'],
      ).toBeDefined();
      expect(claim.spec.parameters).toEqual({ size: 'medium', storageGi: 100 });
    });

    it('does not repeat a step already requested under the same token', async () => {
      await driver.apply(resource(), target, context());
      await driver.runOperation(
        backup,
        resource(),
        target,
        context('op-2:snapshot'),
      );
      const before = patches().length;
      await driver.runOperation(
        backup,
        resource(),
        target,
        context('op-2:snapshot'),
      );
      expect(patches()).toHaveLength(before);
    });

    it('deletes the connection secret to rotate credentials, once', async () => {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'orders-db-connection', namespace: 'team-a' },
        data: { password: 'c2VjcmV0' },
      };
      await driver.apply(resource(), target, context());
      fake.put(secret);
      await driver.runOperation(
        { type: 'rotate-credentials', step: 'rotate', params: {} },
        resource(),
        target,
        context('op-4:rotate'),
      );
      expect(
        fake.get('v1', 'Secret', 'team-a', 'orders-db-connection'),
      ).toBeUndefined();

      // the provider issues it anew; the next step must leave that one alone
      fake.put(secret);
      await driver.runOperation(
        { type: 'rotate-credentials', step: 'restart_consumers', params: {} },
        resource(),
        target,
        context('op-4:restart_consumers'),
      );
      expect(
        fake.get('v1', 'Secret', 'team-a', 'orders-db-connection'),
      ).toBeDefined();
      expect(
        fake.get(...MYSQL, 'team-a', 'orders-db')!.metadata.annotations,
      ).toHaveProperty(['idp.multicloud/operation-rotate-credentials']);
    });

    it('refuses an operation the product does not offer', async () => {
      const webapp = resource({ product: 'webapp' });
      const error = await rejection(
        driver.runOperation(
          { type: 'failover', step: 'promote', params: {} },
          webapp,
          target,
          context(),
        ),
      );
      expect(error.retryable).toBe(false);
    });
  });

  describe('configuration', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function writeKubeconfig() {
      const path = join(dir, 'config');
      writeFileSync(
        path,
        `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster: { server: "${fake.url}", insecure-skip-tls-verify: true }
  - name: nowhere
    cluster: { server: "https://127.0.0.1:1" }
users:
  - name: robot
    user: { token: ${TOKEN} }
contexts:
  - name: fake-ctx
    context: { cluster: fake, user: robot }
  - name: nowhere-ctx
    context: { cluster: nowhere, user: robot }
current-context: nowhere-ctx
`,
      );
      return path;
    }

    it('reads a cluster from a kubeconfig file and context', async () => {
      const fromFile = new KubernetesDriver({
        clusters: [
          {
            name: 'aws-us-east-1',
            kubeconfigPath: writeKubeconfig(),
            context: 'fake-ctx',
          },
        ],
      });
      await fromFile.apply(resource(), target, context());
      expect(patches()[0].authorization).toBe(`Bearer ${TOKEN}`);
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toBeDefined();
    });

    it('refuses a context the kubeconfig does not have', () => {
      expect(
        () =>
          new KubernetesDriver({
            clusters: [
              {
                name: 'x',
                kubeconfigPath: writeKubeconfig(),
                context: 'missing',
              },
            ],
          }),
      ).toThrow("context 'missing'");
    });

    it('refuses a cluster with neither or a mix of url and kubeconfig settings', () => {
      expect(() => new KubernetesDriver({ clusters: [{ name: 'x' }] })).toThrow(
        /url/,
      );
      expect(
        () =>
          new KubernetesDriver({
            clusters: [
              { name: 'x', url: fake.url, kubeconfigPath: writeKubeconfig() },
            ],
          }),
      ).toThrow(/do not go with kubeconfigPath/);
      expect(
        () =>
          new KubernetesDriver({
            clusters: [{ name: 'x', url: fake.url, context: 'fake-ctx' }],
          }),
      ).toThrow(/context goes with kubeconfigPath/);
    });

    it('offers the products it has claims for, with their operations', () => {
      const custom = new KubernetesDriver({
        clusters: [],
        claims: {
          mongodb: {
            apiVersion: 'database.example.com/v1',
            kind: 'MongoDB',
            operations: ['backup'],
          },
        },
      });
      const { products, operations } = custom.capabilities();
      expect(products.sort()).toEqual([
        'kafka',
        'mongodb',
        'mysql',
        'object-bucket',
        'postgres',
        'redis',
        'webapp',
      ]);
      expect(operations.mysql.sort()).toEqual([
        'backup',
        'failover',
        'migrate',
        'restore',
        'rotate-credentials',
        'scale',
        'upgrade-version',
      ]);
      expect(operations.webapp.sort()).toEqual([
        'migrate',
        'rotate-credentials',
        'scale',
        'upgrade-version',
      ]);
      expect(operations.mongodb).toEqual(['backup']);
    });
  });
});
