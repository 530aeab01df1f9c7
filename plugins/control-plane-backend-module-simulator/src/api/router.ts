import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { providerManagePermission } from '@idp-multicloud/plugin-control-plane-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { describeIssues } from '../config';
import { SimulatedDriver } from '../SimulatedDriver';

const refSchema = z
  .string()
  .regex(
    /^resource:[^/\s]+\/[^/\s]+$/,
    'must be a resource ref, e.g. resource:default/orders-db',
  );

/** A resource given by `ref`, or by `namespace` and `name`. */
const selectorShape = {
  ref: refSchema.optional(),
  namespace: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  cluster: z.string().min(1).optional(),
};

const namesAResource = (b: {
  ref?: string;
  namespace?: string;
  name?: string;
}) =>
  !!b.ref !== !!(b.namespace && b.name) && !(b.ref && (b.namespace || b.name));

const namesAResourceIssue = {
  message: 'give either ref, or namespace and name',
  path: ['ref'],
};

const driftBodySchema = z
  .object({
    ...selectorShape,
    params: z
      .record(z.string().min(1), z.unknown())
      .refine(p => Object.keys(p).length > 0, 'name at least one parameter'),
  })
  .strict()
  .refine(namesAResource, namesAResourceIssue);

const healthBodySchema = z
  .object({
    ...selectorShape,
    phase: z.enum(['ready', 'degraded', 'failed']),
    message: z.string().min(1).max(1000).optional(),
  })
  .strict()
  .refine(namesAResource, namesAResourceIssue);

const stateQuerySchema = z.object({ ref: refSchema.optional() }).strict();

const sideEffectsQuerySchema = z
  .object({
    ref: refSchema.optional(),
    operationId: z.string().min(1).optional(),
  })
  .strict();

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(describeIssues(parsed.error));
  return parsed.data;
}

const selectorOf = (body: {
  ref?: string;
  namespace?: string;
  name?: string;
  cluster?: string;
}) => ({
  ref: body.ref ?? `resource:${body.namespace}/${body.name}`,
  ...(body.cluster ? { cluster: body.cluster } : {}),
});

/** Throws `NotAllowedError` unless the caller may manage providers. */
export async function authorizeProviderManage(
  services: { httpAuth: HttpAuthService; permissions: PermissionsService },
  req: Request,
): Promise<void> {
  const credentials = await services.httpAuth.credentials(req);
  const [decision] = await services.permissions.authorize(
    [{ permission: providerManagePermission }],
    { credentials },
  );
  if (decision.result !== AuthorizeResult.ALLOW) {
    throw new NotAllowedError(
      `the simulator's admin API needs ${providerManagePermission.name}`,
    );
  }
}

/**
 * The simulator's admin API, under the control plane's router at `/simulator`. Every route
 * needs `control-plane.provider.manage`.
 */
export async function createSimulatorRouter(options: {
  driver: SimulatedDriver;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
}): Promise<express.Router> {
  const { driver } = options;
  const authorize = (req: Request) => authorizeProviderManage(options, req);

  const simulator = Router();
  simulator.use(express.json());

  simulator.get('/state', async (req, res) => {
    await authorize(req);
    const query = parse(stateQuerySchema, req.query);
    const state = await driver.state({ ref: query.ref });
    res.json(state);
  });

  simulator.get('/side-effects', async (req, res) => {
    await authorize(req);
    const query = parse(sideEffectsQuerySchema, req.query);
    res.json(
      await driver.sideEffects({
        ref: query.ref,
        tokenPrefix: query.operationId ? `${query.operationId}:` : undefined,
      }),
    );
  });

  simulator.get('/faults', async (req, res) => {
    await authorize(req);
    res.json({ items: await driver.listFaults() });
  });

  // Replaces every fault with the body (the shape of controlPlane.simulator.faults).
  simulator.put('/faults', async (req, res) => {
    await authorize(req);
    res.json({ items: await driver.setFaults(req.body) });
  });

  // Adds one fault ({ kind, ... }).
  simulator.post('/faults', async (req, res) => {
    await authorize(req);
    res.status(201).json(await driver.addFault(req.body));
  });

  simulator.delete('/faults', async (req, res) => {
    await authorize(req);
    res.json({ lifted: await driver.liftAllFaults() });
  });

  simulator.delete('/faults/:id', async (req, res) => {
    await authorize(req);
    await driver.liftFault(req.params.id);
    res.status(204).end();
  });

  simulator.post('/drift', async (req, res) => {
    await authorize(req);
    const body = parse(driftBodySchema, req.body);
    res.json({ items: await driver.drift(selectorOf(body), body.params) });
  });

  simulator.post('/health', async (req, res) => {
    await authorize(req);
    const body = parse(healthBodySchema, req.body);
    res.json({
      items: await driver.setHealth(selectorOf(body), body.phase, body.message),
    });
  });

  const router = Router();
  router.use('/simulator', simulator);
  return router;
}
