import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { authorizeProviderManage } from '../api/router';
import { describeIssues } from '../config';
import { SimulatedClusterDriver } from './SimulatedClusterDriver';

const faultSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('node-failure'),
      pool: z.string().min(1),
      nodes: z.number().int().min(0),
    })
    .strict(),
  z
    .object({
      kind: z.literal('certificate-expiry'),
      expiresAt: z.string().datetime({ offset: true }),
    })
    .strict(),
  z
    .object({
      kind: z.literal('upgrade-failure'),
      version: z.string().regex(/^1\.\d+(\.\d+)?$/),
    })
    .strict(),
  z.object({ kind: z.literal('clear') }).strict(),
]);

/**
 * `POST /simulator/clusters/{name}/faults`: injects a fault into a simulated cluster (nodes
 * down in a pool, certificates expiring, upgrades to a version failing) or clears them. Needs
 * `control-plane.provider.manage`, like the rest of the simulator's admin API.
 */
export function createClusterFaultsRouter(options: {
  clusters: SimulatedClusterDriver;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}): express.Router {
  const router = Router();
  router.use(express.json());
  router.post('/simulator/clusters/:name/faults', async (req, res) => {
    await authorizeProviderManage(options, req);
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) throw new InputError(describeIssues(parsed.error));
    try {
      await options.clusters.injectFault(req.params.name, parsed.data);
    } catch (error) {
      if (error instanceof DriverError && error.code === 'NotFound') {
        throw new NotFoundError(error.message);
      }
      if (error instanceof Error && error.message.startsWith('no pool')) {
        throw new InputError(`pool: ${error.message}`);
      }
      throw error;
    }
    res.status(204).end();
  });
  return router;
}
