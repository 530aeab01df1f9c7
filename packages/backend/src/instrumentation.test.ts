import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import controlPlane from '@idp-multicloud/plugin-control-plane-backend';
import simulator from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(60_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

/** The value of the first series of `name` whose labels include `labels`. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (
      Object.entries(labels).every(([k, v]) => match[2].includes(`${k}="${v}"`))
    )
      return Number(match[3]);
  }
  return undefined;
}

/**
 * The example backend's instrumentation file, loaded as `--require` loads it, with the
 * control plane and the simulator: after a provisioning run its Prometheus endpoint serves
 * the control plane's series under the names the plugin's README documents.
 */
describe('instrumentation.js', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-backend-otel-'));
  let sdk: { shutdown(): Promise<void> } | undefined;
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;

  afterAll(async () => {
    await backend?.stop();
    await sdk?.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the idp_* metrics of a provisioning run at /metrics', async () => {
    const metricsPort = await freePort();
    process.env.OTEL_EXPORTER_PROMETHEUS_PORT = String(metricsPort);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sdk = require('./instrumentation').sdk;

    backend = await startTestBackend({
      features: [
        controlPlane,
        simulator,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: {
            controlPlane: {
              dataDir,
              stateRepo: { pollInterval: { hours: 1 } },
              orchestration: {
                pollInterval: { milliseconds: 20 },
                readyPollInterval: { milliseconds: 10 },
              },
              reconciler: {
                interval: { hours: 1 },
                driftInterval: { hours: 1 },
              },
              simulator: {
                provisioningTime: { milliseconds: 30 },
                latency: { default: 0 },
              },
            },
          },
        }),
      ],
    });
    const { port } = backend.server.address() as AddressInfo;
    const api = (path: string, init?: RequestInit) =>
      fetch(`http://127.0.0.1:${port}/api/control-plane${path}`, {
        ...init,
        headers: {
          authorization: mockCredentials.user.header('user:default/ana'),
          'content-type': 'application/json',
        },
      });

    const created = await api('/resources', {
      method: 'POST',
      body: JSON.stringify({
        name: 'orders-db',
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'medium',
        cell: 'cell-us',
      }),
    });
    expect(created.status).toBe(201);
    const resource = await until(async () => {
      const r = await (await api('/resources/default/orders-db')).json();
      return r.status?.state === 'READY' && r;
    }, 'orders-db READY');
    const { provider } = resource.status.placement;

    const text = await (
      await fetch(`http://localhost:${metricsPort}/metrics`)
    ).text();
    expect(
      sample(text, 'idp_placements_total', {
        provider,
        cell: 'cell-us',
        tier: 'medium',
      }),
    ).toBe(1);
    expect(text).toMatch(
      /^idp_gate_rejections_total\{[^}]*gate="cell"[^}]*\} [1-9]/m,
    );
    expect(text).toMatch(/^# TYPE idp_scheduling_duration_seconds histogram$/m);
    expect(
      sample(text, 'idp_scheduling_duration_seconds_count', {
        tier: 'medium',
        outcome: 'placed',
      }),
    ).toBe(1);
    expect(
      sample(text, 'idp_saga_step_duration_seconds_count', {
        step: 'wait_ready',
        operation_type: 'create',
        outcome: 'succeeded',
      }),
    ).toBe(1);
    expect(
      sample(text, 'idp_operations_total', {
        type: 'create',
        outcome: 'succeeded',
      }),
    ).toBe(1);
    expect(sample(text, 'idp_circuit_breaker_state', { provider })).toBe(0);
    expect(text).not.toMatch(/_total_total/);
  });
});
