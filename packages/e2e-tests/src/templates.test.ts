/*
 * The golden-path templates, run by the example backend's scaffolder as a guest would run
 * them from the app (the same API the "Create" page calls), with embedded defaults in a fresh
 * temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  exampleConfig,
  guestToken,
  RunningBackend,
  startBackend,
} from './__testUtils__/backend';

const workDir = mkdtempSync(join(tmpdir(), 'idp-templates-'));
let backend: RunningBackend;
let token: string;

beforeAll(async () => {
  backend = await startBackend({
    workDir,
    name: 'templates',
    config: exampleConfig(workDir),
  });
  // Sign in once the catalog knows the guest's groups: a token issued before carries none.
  token = await guestToken(backend.baseUrl);
  await entity('group:default/payments');
  token = await guestToken(backend.baseUrl);
}, 180_000);

afterAll(async () => {
  await backend?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function api(path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${backend.baseUrl}/api/${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
  }
  return text ? JSON.parse(text) : undefined;
}

/** Waits until the catalog has the entity (templates are read from file locations). */
async function entity(ref: string, timeoutMs = 60_000): Promise<any> {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(
      `${backend.baseUrl}/api/catalog/entities/by-name/${kind}/${namespace}/${name}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    if (res.ok) return res.json();
    if (Date.now() > deadline) {
      throw new Error(`${ref} is not in the catalog:\n${backend.logTail()}`);
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

/** Runs a template to its end and returns the task with its steps' outcome. */
async function runTemplate(
  template: string,
  values: Record<string, unknown>,
): Promise<{ status: string; output: any; log: string }> {
  await entity(`template:default/${template}`);
  const { id } = await api('scaffolder/v2/tasks', {
    method: 'POST',
    body: JSON.stringify({
      templateRef: `template:default/${template}`,
      values,
    }),
  });
  const deadline = Date.now() + 180_000;
  for (;;) {
    const task = await api(`scaffolder/v2/tasks/${id}`);
    if (['completed', 'failed', 'cancelled'].includes(task.status)) {
      const events = await api(`scaffolder/v2/tasks/${id}/events`);
      const log = events
        .filter((e: any) => e.type === 'log')
        .map((e: any) => e.body.message)
        .join('\n');
      const completion = events.find((e: any) => e.type === 'completion');
      return { status: task.status, output: completion?.body.output, log };
    }
    if (Date.now() > deadline)
      throw new Error(`task ${id} is still ${task.status}`);
    await new Promise(r => setTimeout(r, 500));
  }
}

/** Fails with the task's log unless it completed. */
function expectCompleted(run: { status: string; log: string }) {
  if (run.status !== 'completed') {
    throw new Error(`The task ${run.status}. Its log:\n${run.log}`);
  }
}

describe('New web service with MySQL and Redis', () => {
  const values = {
    name: 'orders',
    description: 'Takes orders',
    owner: 'group:default/payments',
    tier: 'medium',
    cell: 'cell-eu',
    image: 'ghcr.io/acme/orders',
    version: '1.0.0',
  };
  const refs = [
    'resource:default/orders',
    'resource:default/orders-cache',
    'resource:default/orders-db',
  ];

  it('ends with three READY resources owned by the new component, registered in the catalog', async () => {
    const run = await runTemplate('new-web-service', values);
    expectCompleted(run);

    const { items } = await api('control-plane/resources?namespace=default');
    const made = items.filter((r: any) => refs.includes(r.ref));
    expect(
      made.map((r: any) => [r.ref, r.spec.product, r.status.state]),
    ).toEqual([
      ['resource:default/orders', 'webapp', 'READY'],
      ['resource:default/orders-cache', 'redis', 'READY'],
      ['resource:default/orders-db', 'mysql', 'READY'],
    ]);
    for (const r of made) {
      expect([r.ref, r.spec.component, r.spec.owner, r.spec.cell]).toEqual([
        r.ref,
        'component:default/orders',
        'group:default/payments',
        'cell-eu',
      ]);
    }
    expect(made[0].spec.dependsOn).toEqual([
      'resource:default/orders-db',
      'resource:default/orders-cache',
    ]);
    // The webapp was provisioned after both of its dependencies were READY.
    const history = async (ref: string) =>
      (
        await api(
          `control-plane/resources/default/${ref.split('/')[1]}/history`,
        )
      ).transitions;
    const readyAt = async (ref: string) =>
      (await history(ref)).find((t: any) => t.to === 'READY').at;
    const provisioningAt = (await history(refs[0])).find(
      (t: any) => t.to === 'PROVISIONING',
    ).at;
    expect(provisioningAt >= (await readyAt(refs[1]))).toBe(true);
    expect(provisioningAt >= (await readyAt(refs[2]))).toBe(true);

    // The component is in the catalog with its resources, from its published repository.
    const component = await entity('component:default/orders');
    expect(component.spec).toMatchObject({
      type: 'service',
      owner: 'group:default/payments',
    });
    expect([...component.spec.dependsOn].sort()).toEqual(refs);
    const repo = join(workDir, 'repositories', 'orders');
    expect(
      execFileSync('git', ['log', '--format=%an'], {
        cwd: repo,
        encoding: 'utf8',
      }).trim(),
    ).toBe('user:default/guest');
    expect(run.output.links[0].entityRef).toBe('component:default/orders');
  }, 300_000);

  it('creates nothing new when run again with the same inputs', async () => {
    const before = await api('control-plane/gitops/status');
    const repo = join(workDir, 'repositories', 'orders');
    const commits = () =>
      execFileSync('git', ['rev-list', '--count', 'HEAD'], {
        cwd: repo,
        encoding: 'utf8',
      }).trim();
    const commitsBefore = commits();

    const run = await runTemplate('new-web-service', values);
    expectCompleted(run);
    expect(run.log).toMatch(
      /resource:default\/orders-db already exists .*: reusing it/,
    );

    expect((await api('control-plane/gitops/status')).head).toBe(before.head);
    const { items } = await api('control-plane/resources?namespace=default');
    expect(items.filter((r: any) => refs.includes(r.ref))).toHaveLength(3);
    expect(commits()).toBe(commitsBefore);
  }, 300_000);
});
