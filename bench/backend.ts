/**
 * A control plane served over HTTP for benchmarks: the plugin in a Backstage backend on a
 * benchmark database, with a fresh state repository, its orchestration off (what is timed is
 * the API's write path, not provisioning) unless asked for.
 */
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { LoggerService } from '@backstage/backend-plugin-api';
import { MANIFEST_API_VERSION } from '@idp-multicloud/plugin-control-plane-common';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlanePlugin } from '../plugins/control-plane-backend/src/plugin';
import { GitStateRepo } from '../plugins/control-plane-backend/src/gitops/GitStateRepo';
import { BenchDatabase } from './databases';

export const silentLogger: LoggerService = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return silentLogger;
  },
};

/** A redis resource's manifest, as a file of the state repository. */
export function redisYaml(namespace: string, name: string): string {
  return `apiVersion: ${MANIFEST_API_VERSION}
kind: Resource
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  product: redis
  owner: group:default/team-${namespace}
  tier: low
  cell: cell-us
`;
}

export interface BenchBackend {
  baseUrl: string;
  /** The Authorization header of a platform engineer's requests. */
  authorization: string;
  dataDir: string;
  /** Calls the API as a platform engineer; answers status and parsed body. */
  call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
  /**
   * Adds `count` redis resources to the state repository in one commit (as a platform team
   * importing an estate would push them), spread over namespaces of 500, and indexes them.
   */
  seed(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchBackend(
  db: BenchDatabase,
  controlPlane: Record<string, unknown> = {},
): Promise<BenchBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-cp-'));
  const backend = await startTestBackend({
    features: [
      controlPlanePlugin,
      mockServices.database.factory({ knex: db.knex }),
      mockServices.rootLogger.factory({ level: 'error' }),
      mockServices.rootConfig.factory({
        data: {
          controlPlane: {
            dataDir,
            stateRepo: { pollInterval: { hours: 1 } },
            orchestration: { enabled: false },
            reconciler: { interval: { hours: 1 }, driftInterval: { hours: 1 } },
            ...controlPlane,
          },
        },
      }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/api/control-plane`;
  const authorization = mockCredentials.user.header('user:default/platform');
  // a keep-alive connection pool of this backend's own, like a client's
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const call: BenchBackend['call'] = (method, path, body, headers) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${baseUrl}${path}`,
        {
          method,
          agent,
          headers: {
            authorization,
            ...(payload === undefined
              ? {}
              : {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }),
            ...headers,
          },
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', chunk => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode!,
              body: text ? JSON.parse(text) : {},
            });
          });
        },
      );
      req.on('error', error => {
        // The server closed an idle connection as it was reused: send again, as node's docs
        // advise (the request never reached the server).
        if (
          req.reusedSocket &&
          (error as NodeJS.ErrnoException).code === 'ECONNRESET'
        ) {
          call(method, path, body, headers).then(resolve, reject);
        } else {
          reject(error);
        }
      });
      req.end(payload);
    });
  return {
    baseUrl,
    authorization,
    dataDir,
    call,
    async seed(count) {
      if (count === 0) return;
      // the first call indexes the bootstrap commit
      await call('GET', '/gitops/status');
      const repo = await GitStateRepo.open({
        path: join(dataDir, 'state.git'),
      });
      const changes = Array.from({ length: count }, (_, i) => {
        const namespace = `team-${String(Math.floor(i / 500)).padStart(
          2,
          '0',
        )}`;
        const name = `seed-${i}`;
        return {
          path: `resources/${namespace}/${name}.yaml`,
          content: redisYaml(namespace, name),
        };
      });
      const result = await repo.commit({
        parent: await repo.head(),
        changes,
        message: `import ${count} resources`,
        author: { name: 'platform', email: 'platform@idp.invalid' },
      });
      if (result.status !== 'committed') {
        throw new Error(`seeding failed: ${result.status}`);
      }
      const sync = await call('POST', '/gitops/sync');
      if (sync.status >= 300 || sync.body.status === 'rejected') {
        throw new Error(`seed not indexed: ${JSON.stringify(sync.body)}`);
      }
    },
    async close() {
      agent.destroy();
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
