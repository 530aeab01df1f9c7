import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { SimulatedWorkloads } from '../workloads/SimulatedWorkloads';
import { authorizeProviderManage } from './router';

const pathSchema = z
  .object({
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  })
  .strict();

const serveQuerySchema = z
  .object({ cell: z.string().min(1).max(255).optional() })
  .strict();

/**
 * The simulated workloads' routes, under the control plane's router:
 *
 * - `GET /simulator/metrics`: every workload's request, error and latency series in the
 *   Prometheus text format, for a Prometheus to scrape (no credentials: the series are
 *   simulated);
 * - `GET /simulator/workloads/{namespace}/{name}`: one request to a routed resource, as a
 *   client would send it (its headers, `?cell=`), answering the version that served it;
 *   needs `control-plane.provider.manage` like the rest of the simulator's admin API.
 */
export async function createWorkloadsRouter(options: {
  workloads: SimulatedWorkloads;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}): Promise<express.Router> {
  const { workloads } = options;
  const router = Router();

  router.get('/simulator/metrics', async (_req, res) => {
    const { contentType, body } = await workloads.series.exposition();
    res.setHeader('Content-Type', contentType);
    res.send(body);
  });

  router.get('/simulator/workloads/:namespace/:name', async (req, res) => {
    await authorizeProviderManage(options, req);
    const path = pathSchema.safeParse(req.params);
    const query = serveQuerySchema.safeParse(req.query);
    if (!path.success || !query.success) {
      throw new InputError(
        'give a resource as /simulator/workloads/{namespace}/{name}, and at most ?cell=',
      );
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v[0] : v,
      ]),
    );
    res.json(
      await workloads.serve(
        `resource:${path.data.namespace}/${path.data.name}`,
        { headers, cell: query.data.cell },
      ),
    );
  });
  return router;
}
