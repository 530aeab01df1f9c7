import {
  fleetReadPermission,
  gitopsStatusSchema,
  gitopsSyncResponseSchema,
  policyManagePermission,
} from '@idp-multicloud/plugin-control-plane-common';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'indexer'>;

const route = routes<Deps>();

export const gitopsRoutes = [
  route({
    method: 'get',
    path: '/gitops/status',
    operationId: 'getGitopsStatus',
    summary: 'The state repository head, the indexed commit, and refused heads',
    permission: fleetReadPermission,
    response: {
      status: 200,
      schema: gitopsStatusSchema,
      description: 'Status',
    },
    run: async (_input, { indexer }) => ({ body: await indexer.status() }),
  }),

  route({
    method: 'post',
    path: '/gitops/sync',
    operationId: 'syncGitops',
    summary: 'Index the state repository head now',
    permission: policyManagePermission,
    response: {
      status: 200,
      schema: gitopsSyncResponseSchema,
      description: 'The sync',
    },
    command: {
      action: 'state-repo.sync',
      target: () => 'state-repo',
      idempotency: 'optional',
    },
    run: async (_input, { indexer }) => {
      const result = await indexer.sync();
      return {
        body: { result, status: await indexer.status() },
        accepted: {
          reason: `${result.status}${
            result.commit ? ` at ${result.commit.slice(0, 12)}` : ''
          }`,
        },
      };
    },
  }),
];
