import {
  HttpAuthService,
  LoggerService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import express from 'express';
import Router from 'express-promise-router';
import { ControlPlane } from '../controlPlane';
import { CommandService } from '../idempotency/CommandService';
import { traceRequests } from '../observability/tracing';
import { ResourceAuthorizer } from '../permissions/ResourceAuthorizer';
import { createOpenApiDocument } from './openapi';
import { mountRoutes } from './pipeline';
import { AnyRoute } from './route';
import { auditRoutes } from './routes/audit';
import { clusterRoutes } from './routes/clusters';
import { changeRoutes } from './routes/changes';
import { fleetRoutes } from './routes/fleet';
import { generateRoutes } from './routes/generate';
import { definitionRoutes } from './routes/definitions';
import { deploymentRoutes } from './routes/deployments';
import { gitopsRoutes } from './routes/gitops';
import { governanceRoutes } from './routes/governance';
import { manifestRoutes } from './routes/manifests';
import { operationRoutes } from './routes/operations';
import { projectRoutes } from './routes/projects';
import { resourceRoutes } from './routes/resources';
import { ApiServices } from './routes/shared';
import { systemRoutes } from './routes/system';

/** The areas of the API that run on the control plane's services. */
const serviceRoutes: AnyRoute[] = [
  ...resourceRoutes,
  ...operationRoutes,
  ...manifestRoutes,
  ...fleetRoutes,
  ...definitionRoutes,
  ...clusterRoutes,
  ...governanceRoutes,
  ...auditRoutes,
  ...gitopsRoutes,
  ...changeRoutes,
  ...generateRoutes,
  ...projectRoutes,
  ...deploymentRoutes,
];

/** Every route of the API: what the router serves and the OpenAPI document describes. */
export const routeTable: AnyRoute[] = [...systemRoutes, ...serviceRoutes];

export interface RouterOptions {
  controlPlane: ControlPlane;
  httpAuth: HttpAuthService;
  authorizer: ResourceAuthorizer;
  logger: LoggerService;
  /** SSE polling, shortened in tests. */
  eventStream?: { pollMs?: number; heartbeatMs?: number };
  /** Who the caller is: the groups that may approve deployment steps. */
  userInfo?: UserInfoService;
}

/** The API's express router, built from the route table. */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { controlPlane, httpAuth, authorizer, logger, eventStream } = options;
  const router = Router();
  router.use(express.json({ limit: '2mb' }));
  router.use(traceRequests());
  let document: Record<string, unknown> | undefined;
  const { userInfo } = options;
  const services: ApiServices = {
    ...controlPlane,
    authorizer,
    eventStream,
    groupsOf: async credentials =>
      userInfo &&
      (credentials.principal as { type?: string } | undefined)?.type === 'user'
        ? (await userInfo.getUserInfo(credentials)).ownershipEntityRefs.map(
            ref => ref.toLocaleLowerCase('en-US'),
          )
        : [],
  };
  mountRoutes(
    router,
    [
      {
        routes: systemRoutes,
        deps: {
          db: controlPlane.db,
          openApiDocument: () =>
            (document ??= createOpenApiDocument(routeTable)),
        },
      },
      { routes: serviceRoutes, deps: services },
    ],
    {
      httpAuth,
      authorizer,
      commands: new CommandService({
        store: controlPlane.idempotency,
        audit: controlPlane.audit,
      }),
      audit: controlPlane.audit,
      deferredAudit: controlPlane.deferredAudit,
      logger,
      propose: async (error, ctx) =>
        controlPlane.proposals.canPropose
          ? controlPlane.proposals.proposeRequest(error, ctx)
          : undefined,
    },
  );
  return router;
}
