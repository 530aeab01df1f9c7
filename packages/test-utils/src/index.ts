/**
 * A real control plane on simulated clouds, for the tests of the packages that talk to it
 * over HTTP (the SDK, the CLI, the scaffolder actions): never a stand-in for it.
 *
 * @packageDocumentation
 */
import {
  coreServices,
  createBackendModule,
  createServiceFactory,
  DiscoveryService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
// The point of this package: the real plugin, in a test backend.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import controlPlane from '@idp-multicloud/plugin-control-plane-backend';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import simulator, {
  controlPlaneModuleSimulatorWorkloads,
} from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  ChangeProposer,
  controlPlaneChangeProposalsExtensionPoint,
  ProposedChange,
} from '@idp-multicloud/plugin-control-plane-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A running control plane: the backend plugin and the simulated clouds and workloads (fast)
 * in a test backend, on an in-memory SQLite and a fresh state repository.
 * @public
 */
export interface TestControlPlane {
  /** The backend's base URL; the API is under `/api/control-plane`. */
  baseUrl: string;
  /** A discovery service pointing at it. */
  discovery: DiscoveryService;
  /** A token of a user (any user ref); the test backend accepts it. */
  tokenFor(userEntityRef: string): string;
  /** The pull requests of changes that needed review (with `reviewTiers`). */
  pullRequests: TestPullRequests;
  stop(): Promise<void>;
}

/**
 * A pull request host in memory over a real bare remote (with `reviewTiers`): the control
 * plane pushes each proposed change as a branch, and a merge moves the remote's main branch
 * to it, as a fast-forward merge on GitHub does.
 * @public
 */
export interface TestPullRequests {
  /** The pull requests opened, by number (1, 2, ...). */
  list(): { number: number; change: ProposedChange; state: string }[];
  approve(number: number, login: string): void;
  merge(number: number): void;
  close(number: number): void;
}

/** Options of {@link startTestControlPlane}. @public */
export interface TestControlPlaneOptions {
  /** Users the permission policy denies everything; everyone else may do anything. */
  deny?: string[];
  /** How long the simulated clouds take to provision. @defaultValue 200 ms */
  provisioningMs?: number;
  /**
   * Changes of resources of these tiers need review: the state repository gets a bare remote
   * and a pull request host in memory ({@link TestControlPlane.pullRequests}).
   */
  reviewTiers?: string[];
}

function pullRequestHost(remote: string, tiers: string[]) {
  const pulls: {
    number: number;
    change: ProposedChange;
    state: 'awaiting-approval' | 'merged' | 'closed';
    approvers: string[];
    mergeCommit?: string;
  }[] = [];
  let notify = () => {};
  const find = (n: number) => {
    const pr = pulls[n - 1];
    if (!pr) throw new Error(`no pull request #${n}`);
    return pr;
  };
  const proposer: ChangeProposer = {
    requiresReview: ({ objects }) =>
      objects.some(o => o.tier !== undefined && tiers.includes(o.tier)),
    propose: async change => {
      const number = pulls.length + 1;
      pulls.push({ number, change, state: 'awaiting-approval', approvers: [] });
      return { number, url: `https://pulls.test/state/pull/${number}` };
    },
    status: async (_change, number) => {
      const { state, approvers, mergeCommit } = find(number);
      return { state, approvers, ...(mergeCommit ? { mergeCommit } : {}) };
    },
    watch: onChange => {
      notify = onChange;
    },
  };
  const pullRequests: TestPullRequests = {
    list: () =>
      pulls.map(({ number, change, state }) => ({ number, change, state })),
    approve: (number, login) => {
      find(number).approvers.push(login);
      notify();
    },
    merge: number => {
      const pr = find(number);
      // a fast-forward: the change's commit was made on main's head
      execFileSync('git', ['update-ref', 'refs/heads/main', pr.change.commit], {
        cwd: remote,
      });
      pr.state = 'merged';
      pr.mergeCommit = pr.change.commit;
      notify();
    },
    close: number => {
      find(number).state = 'closed';
      notify();
    },
  };
  const module = createBackendModule({
    pluginId: 'control-plane',
    moduleId: 'test-pull-requests',
    register(env) {
      env.registerInit({
        deps: { proposals: controlPlaneChangeProposalsExtensionPoint },
        async init({ proposals }) {
          proposals.setChangeProposer(proposer);
        },
      });
    },
  });
  return { module, pullRequests };
}

/**
 * Starts a control plane for a test.
 * @public
 */
export async function startTestControlPlane(
  options: TestControlPlaneOptions = {},
): Promise<TestControlPlane> {
  const denied = new Set(options.deny ?? []);
  const decide = (credentials: { principal: unknown }) =>
    denied.has(
      (credentials.principal as { userEntityRef?: string }).userEntityRef ?? '',
    )
      ? AuthorizeResult.DENY
      : AuthorizeResult.ALLOW;
  const permissions = createServiceFactory({
    service: coreServices.permissions,
    deps: {},
    factory: (): PermissionsService => ({
      authorize: async (requests, { credentials }) =>
        requests.map(() => ({ result: decide(credentials) })) as any,
      authorizeConditional: async (requests, { credentials }) =>
        requests.map(() => ({ result: decide(credentials) })) as any,
    }),
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-test-control-plane-'));
  const remote = join(dataDir, 'remote.git');
  const review = options.reviewTiers
    ? pullRequestHost(remote, options.reviewTiers)
    : undefined;
  if (review) {
    execFileSync('git', ['init', '--bare', '--quiet', '-b', 'main', remote]);
  }
  const backend = await startTestBackend({
    features: [
      controlPlane,
      simulator,
      // routed versions serve simulated traffic (deployments, their analyses)
      controlPlaneModuleSimulatorWorkloads,
      ...(review ? [review.module] : []),
      permissions,
      mockServices.rootConfig.factory({
        data: {
          controlPlane: {
            dataDir,
            stateRepo: {
              pollInterval: { hours: 1 },
              ...(review ? { remote: { url: remote } } : {}),
            },
            orchestration: {
              pollInterval: { milliseconds: 20 },
              readyPollInterval: { milliseconds: 10 },
              lease: { seconds: 3 },
            },
            reconciler: { interval: { hours: 1 }, driftInterval: { hours: 1 } },
            simulator: {
              provisioningTime: { milliseconds: options.provisioningMs ?? 200 },
              deprovisioningTime: { milliseconds: 20 },
              latency: { default: 0 },
              traffic: {
                interval: { milliseconds: 100 },
                requestsPerSecond: 200,
              },
            },
            deployments: { pollInterval: { milliseconds: 100 } },
          },
        },
      }),
    ],
  });
  const port = (backend.server.address() as { port: number }).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    discovery: {
      getBaseUrl: async id => `${baseUrl}/api/${id}`,
      getExternalBaseUrl: async id => `${baseUrl}/api/${id}`,
    },
    tokenFor: user => mockCredentials.user.token(user),
    pullRequests: review?.pullRequests ?? {
      list: () => [],
      approve: () => {
        throw new Error('start the control plane with reviewTiers');
      },
      merge: () => {
        throw new Error('start the control plane with reviewTiers');
      },
      close: () => {
        throw new Error('start the control plane with reviewTiers');
      },
    },
    async stop() {
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
