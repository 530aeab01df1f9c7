import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import { controlPlaneModuleKubernetes } from './module';

jest.setTimeout(60_000);

const MYSQL = ['database.idp.multicloud/v1alpha1', 'MySQLInstance'] as const;

async function until<T>(check: () => Promise<T | undefined>, what: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

/**
 * The control plane with the kubernetes driver against the fake API server: a resource is
 * provisioned as a claim carrying its operation's trace id, and becomes READY when the claim's
 * controller says so, which the saga learns through a watch.
 */
describe('the control plane on Kubernetes', () => {
  let fake: FakeKubernetes;
  let dataDir: string;
  beforeEach(async () => {
    fake = await FakeKubernetes.start({ token: 'cp-token' });
    dataDir = mkdtempSync(join(tmpdir(), 'idp-k8s-cp-'));
  });
  afterEach(async () => {
    await fake.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("provisions a claim annotated with the operation's trace id, and waits for it by watch", async () => {
    const cluster = (name: string) => ({
      name,
      url: fake.url,
      token: 'cp-token',
      skipTLSVerify: true,
    });
    const backend = await startTestBackend({
      features: [
        controlPlanePlugin,
        controlPlaneModuleKubernetes,
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              dataDir,
              stateRepo: {
                bootstrapDriver: 'kubernetes',
                pollInterval: { hours: 1 },
              },
              orchestration: {
                pollInterval: { milliseconds: 20 },
                readyPollInterval: { hours: 1 }, // a poll would never come: only a watch helps
              },
              reconciler: { interval: { hours: 1 } },
              kubernetes: {
                clusters: [
                  'aws-us-east-1',
                  'gcp-us-central1',
                  'azure-eastus',
                  'oci-us-ashburn-1',
                ].map(cluster),
              },
            },
          },
        }),
      ],
    });
    const { port } = backend.server.address() as AddressInfo;
    const api = async (path: string, body?: object) => {
      const res = await fetch(
        `http://127.0.0.1:${port}/api/control-plane${path}`,
        {
          method: body ? 'POST' : 'GET',
          headers: {
            authorization: mockCredentials.user.header('user:default/ana'),
            'content-type': 'application/json',
          },
          body: body && JSON.stringify(body),
        },
      );
      return { status: res.status, body: await res.json() };
    };
    try {
      const created = await api('/resources', {
        name: 'orders-db',
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'medium',
        cell: 'cell-us',
      });
      expect(created.status).toBe(201);

      const claim = await until(
        async () => fake.get(...MYSQL, 'default', 'orders-db'),
        'the claim',
      );
      const [summary] = (await api('/resources/default/orders-db/operations'))
        .body.items;
      const operation = (await api(`/operations/${summary.id}`)).body;
      expect(operation.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(claim.metadata.annotations).toMatchObject({
        'idp.multicloud/trace-id': operation.traceId,
        'idp.multicloud/idempotency-token': `${operation.id}:apply_claim`,
      });

      // the controller reports the claim ready; the saga hears it through its watch
      await until(async () => fake.watches > 0 || undefined, 'a watch');
      fake.setStatus(...MYSQL, 'default', 'orders-db', {
        conditions: [
          { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
          { type: 'Ready', status: 'True', reason: 'Available' },
        ],
      });
      await until(async () => {
        const res = await api('/resources/default/orders-db');
        return res.body.status?.state === 'READY' || undefined;
      }, 'READY');
      expect(
        fake.requests.filter(
          r => r.query.watch === 'true' && r.path.endsWith('/mysqlinstances'),
        ),
      ).not.toHaveLength(0);
      expect(
        fake.get(
          'externaldns.k8s.io/v1alpha1',
          'DNSEndpoint',
          'default',
          'orders-db-dns',
        ),
      ).toBeDefined();
    } finally {
      await backend.stop();
    }
  });
});
