import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { BackendFeature } from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlanePlugin from '@idp-multicloud/plugin-control-plane-backend';
import { controlPlaneModuleSimulator } from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { controlPlaneModuleGitOps } from '../module';

/** Runs git in `cwd`, without the user's configuration; its output, trimmed. */
export const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  })
    .toString()
    .trim();

/** The documents of a YAML file. */
export const docs = (text: string) =>
  parseAllDocuments(text).map(d => d.toJS());

/** Polls `check` until it returns something truthy, and returns that. */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

/**
 * The control plane with the simulator as its driver and the GitOps module configured with
 * `delivery` (its repository made under the test's data directory), on a test database.
 */
export async function startWithDelivery(
  databases: TestDatabases,
  databaseId: Parameters<TestDatabases['init']>[0],
  delivery: Record<string, unknown>,
  extra: { features?: BackendFeature[]; controlPlane?: object } = {},
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-gitops-cp-'));
  const deployRepo = join(dataDir, 'deploy.git');
  const backend = await startTestBackend({
    features: [
      controlPlanePlugin,
      controlPlaneModuleSimulator,
      controlPlaneModuleGitOps,
      ...(extra.features ?? []),
      mockServices.database.factory({
        knex: await databases.init(databaseId),
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
              delivery: {
                pollInterval: { milliseconds: 50 },
                timeout: { seconds: 60 },
              },
            },
            reconciler: {
              interval: { hours: 1 },
              driftInterval: { hours: 1 },
            },
            simulator: {
              provisioningTime: { milliseconds: 30 },
              deprovisioningTime: { milliseconds: 10 },
              latency: { default: 0 },
            },
            ...extra.controlPlane,
            delivery: {
              repository: {
                path: deployRepo,
                url: 'https://git.example.com/platform/deploy.git',
              },
              parentRefs: [{ name: 'edge', namespace: 'gateway-system' }],
              ...delivery,
            },
          },
        },
      }),
    ],
  });
  const as = mockCredentials.user.header('user:default/ana');
  const api = {
    get: (path: string) =>
      request(backend.server)
        .get(`/api/control-plane${path}`)
        .set('authorization', as),
    post: (path: string, body?: object) =>
      request(backend.server)
        .post(`/api/control-plane${path}`)
        .set('authorization', as)
        .send(body),
    patch: (path: string, body?: object) =>
      request(backend.server)
        .patch(`/api/control-plane${path}`)
        .set('authorization', as)
        .send(body),
    delete: (path: string) =>
      request(backend.server)
        .delete(`/api/control-plane${path}`)
        .set('authorization', as),
  };
  return {
    backend,
    api,
    deployRepo,
    /** A file of the deploy repository's head, as YAML documents. */
    rendered: (path: string) => docs(git(deployRepo, 'show', `main:${path}`)),
    /** The files of the deploy repository's head (none before its first commit). */
    files: () => {
      try {
        return git(deployRepo, 'ls-tree', '-r', '--name-only', 'main').split(
          '\n',
        );
      } catch {
        return [];
      }
    },
    /**
     * Waits until `ref` is placed and its objects rendered (by its create or update saga,
     * which then waits for the tool's verdict): its cluster and the rendered file's path.
     */
    async placedAndRendered(ref = 'shop/storefront') {
      const cluster: string = await until(
        async () =>
          (
            await api.get(`/resources/${ref}`)
          ).body.status?.placement?.cluster,
        `${ref} placed`,
      );
      const file = `clusters/${cluster}/${ref}.yaml`;
      await until(async () => this.files().includes(file), `${file} rendered`);
      return { cluster, file };
    },
    /**
     * Waits until `ref` shows the tool's verdict with `fields`, then lets the waiting step
     * poll the tool a few times more; `ref` as it is then.
     */
    async shownVerdict(
      fields: Record<string, unknown>,
      ref = 'shop/storefront',
    ) {
      const get = async () => (await api.get(`/resources/${ref}`)).body;
      await until(async () => {
        const shown = (await get()).status?.delivery ?? {};
        return Object.entries(fields).every(([k, v]) => shown[k] === v);
      }, `${ref} showing ${JSON.stringify(fields)}`);
      await new Promise(r => setTimeout(r, 300));
      return get();
    },
    /** Commits in the deploy repository. */
    commits: () =>
      Number(git(deployRepo, 'rev-list', '--count', '--all') || '0'),
    /** A reconciler pass with a drift check: where the render and the verdicts happen. */
    reconcile: async () =>
      (await api.post('/reconciler/run', { drift: true })).body,
    state: async (ref = 'shop/storefront') =>
      (await api.get(`/resources/${ref}`)).body.status?.state,
    async cleanup() {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A webapp in namespace shop. */
export const storefront = (extra: object = {}) => ({
  name: 'storefront',
  namespace: 'shop',
  product: 'webapp',
  owner: 'group:default/shop',
  tier: 'medium',
  cell: 'cell-us',
  params: { image: 'ghcr.io/acme/storefront', version: '1.4.2' },
  ...extra,
});
