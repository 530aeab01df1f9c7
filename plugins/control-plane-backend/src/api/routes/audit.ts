import {
  auditPageSchema,
  auditReadPermission,
  auditVerificationSchema,
  listAuditQuerySchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'audit' | 'indexer'>;

const route = routes<Deps>();

export const auditRoutes = [
  route({
    method: 'get',
    path: '/audit',
    operationId: 'listAuditEvents',
    summary: 'The audit log, newest first',
    permission: auditReadPermission,
    request: { query: listAuditQuerySchema },
    response: { status: 200, schema: auditPageSchema, description: 'A page' },
    run: async ({ query }, { audit }) => ({ body: await audit.list(query) }),
  }),

  route({
    method: 'get',
    path: '/audit/verify',
    operationId: 'verifyAuditChain',
    summary:
      "Walk the keyed hash chain and every anchor of the control plane's commits; name the first event that does not fit",
    permission: auditReadPermission,
    response: {
      status: 200,
      schema: auditVerificationSchema,
      description: 'The verdict',
    },
    run: async (_input, { audit, indexer }) => ({
      body: await audit.verify(indexer.auditAnchors()),
    }),
  }),
];
