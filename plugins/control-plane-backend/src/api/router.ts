import {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import {
  auditReadPermission,
  clusterManagePermission,
  createOperationRequestSchema,
  HealthResponse,
  listAuditQuerySchema,
  listResourcesQuerySchema,
  manifestKey,
  namespaceSchema,
  nameSchema,
  normalizeEntityRef,
  policyManagePermission,
  providerManagePermission,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceOperatePermission,
  resourceReadPermission,
  resourceUpdatePermission,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import express, { NextFunction, Request, Response } from 'express';
import Router from 'express-promise-router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ControlPlane } from '../controlPlane';
import { createOpenApiDocument } from './openapi';
import { databaseClient, migrationStatus } from '../database/migrations';
import { canonicalJson, sha256 } from '../database/util';
import { parseInput } from '../errors';
import { streamResourceEvents } from '../events/sse';
import { ParsedManifests } from '../gitops/ManifestService';
import { factsOf, ResourceAuthorizer } from '../permissions/ResourceAuthorizer';
import { CallContext } from '../resources/ResourceService';

export interface RouterOptions {
  controlPlane: ControlPlane;
  httpAuth: HttpAuthService;
  authorizer: ResourceAuthorizer;
  logger: LoggerService;
  /** SSE polling, shortened in tests. */
  eventStream?: { pollMs?: number; heartbeatMs?: number };
}

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** What the audit log records of a request when it is refused. */
interface AuditTarget {
  action: string;
  target: string;
}

function statusOf(error: unknown): number {
  const e = error as { statusCode?: number; status?: number; name?: string };
  const code = e?.statusCode ?? e?.status;
  if (typeof code === 'number') return code;
  switch (e?.name) {
    case 'InputError':
      return 400;
    case 'AuthenticationError':
      return 401;
    case 'NotAllowedError':
      return 403;
    case 'NotFoundError':
      return 404;
    case 'ConflictError':
      return 409;
    default:
      return 500;
  }
}

function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  return principal.type === 'user'
    ? principal.userEntityRef!
    : `service:${principal.subject ?? 'unknown'}`;
}

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { controlPlane, httpAuth, authorizer, logger } = options;
  const {
    resourceService,
    resources,
    operations,
    audit,
    indexer,
    idempotency,
    manifests,
  } = controlPlane;
  const router = Router();
  router.use(express.json({ limit: '2mb' }));

  // ── helpers ──────────────────────────────────────────────────────────────────────────

  const refFrom = (req: Request) =>
    stringifyResourceRef({
      namespace: parseInput(namespaceSchema, req.params.namespace, 'namespace'),
      name: parseInput(nameSchema, req.params.name, 'name'),
    });

  async function context(req: Request, res: Response, audited?: AuditTarget) {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const requestId = req.header('x-request-id') ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    const ctx: CallContext & { credentials: BackstageCredentials } = {
      credentials,
      actor: actorOf(credentials),
      requestId,
      source: { ip: req.ip, userAgent: req.header('user-agent') },
    };
    if (audited) {
      res.locals.audit = { ...audited, ctx };
    }
    return ctx;
  }

  /**
   * Runs a mutating handler under the request's Idempotency-Key (generated for creates):
   * the first response is stored and replayed for the same request; see IdempotencyStore.
   */
  async function idempotent(
    req: Request,
    res: Response,
    ctx: CallContext,
    generateKey: boolean,
    handler: () => Promise<{ status: number; body: unknown }>,
  ) {
    let key = req.header('idempotency-key');
    if (key !== undefined) {
      key = parseInput(idempotencyKeySchema, key, 'Idempotency-Key');
    } else if (generateKey) {
      key = randomUUID();
    }
    if (!key) {
      const result = await handler();
      res.status(result.status).json(result.body);
      return;
    }
    res.setHeader('Idempotency-Key', key);
    ctx.idempotencyKey = key;
    const fingerprint = sha256(
      `${req.method} ${req.baseUrl}${req.path}?${canonicalJson(
        req.query,
      )}\n${canonicalJson(req.body ?? null)}`,
    );
    const decision = await idempotency.begin(ctx.actor, key, fingerprint);
    if (decision.kind === 'replay') {
      res.setHeader('Idempotent-Replayed', 'true');
      res.status(decision.status).json(decision.body);
      return;
    }
    let result;
    try {
      result = await handler();
    } catch (error) {
      await idempotency.release(ctx.actor, key);
      throw error;
    }
    await idempotency.complete(ctx.actor, key, result.status, result.body);
    res.status(result.status).json(result.body);
  }

  const publicResource = <T extends { uid: string }>(r: T) => {
    const { uid: _uid, ...rest } = r;
    return rest;
  };

  // ── health ───────────────────────────────────────────────────────────────────────────

  router.get('/health', async (_req, res) => {
    const migrations = await migrationStatus(controlPlane.db);
    const body: HealthResponse = {
      status: migrations.pending.length === 0 ? 'ok' : 'degraded',
      database: { client: databaseClient(controlPlane.db), migrations },
    };
    res.json(body);
  });

  let openApiDocument: Record<string, unknown> | undefined;
  router.get('/openapi.json', (_req, res) => {
    openApiDocument ??= createOpenApiDocument();
    res.json(openApiDocument);
  });

  // ── the fleet and the catalog of products (any signed-in caller) ─────────────────────

  const listed =
    (kind: 'Tier' | 'Cell' | 'Cluster' | 'Quota' | 'Policy') =>
    async (req: Request, res: Response) => {
      await context(req, res);
      const state = await resourceService.current();
      res.json({
        items: state
          .ofKind(kind)
          .map(m => ({ id: m.metadata.name, ...m.spec })),
      });
    };
  router.get('/tiers', listed('Tier'));
  router.get('/cells', listed('Cell'));
  router.get('/clusters', listed('Cluster'));
  router.get('/quotas', listed('Quota'));
  router.get('/policies', listed('Policy'));

  router.get('/providers', async (req, res) => {
    await context(req, res);
    const state = await resourceService.current();
    const reports = new Map(
      (await controlPlane.health.report()).map(r => [r.provider, r]),
    );
    res.json({
      items: state.ofKind('Provider').map(m => {
        const r = reports.get(m.metadata.name);
        return {
          id: m.metadata.name,
          ...m.spec,
          health: {
            score: r?.health ?? 1,
            breaker: r?.breaker ?? 'closed',
            calls: r?.calls ?? 0,
            failures: r?.failures ?? 0,
            errorRate: r && r.calls > 0 ? r.failures / r.calls : 0,
            latencyMs: r?.latencyMs ?? 0,
            ...(r?.openedAt ? { openedAt: r.openedAt } : {}),
            ...(r?.reason ? { reason: r.reason } : {}),
          },
        };
      }),
    });
  });

  // ── cost and quotas ──────────────────────────────────────────────────────────────────

  router.get('/quotas/usage', async (req, res) => {
    await context(req, res);
    const state = await resourceService.current();
    res.json({ items: await controlPlane.cost.quotaUsage(state) });
  });

  router.post('/cost/estimate', async (req, res) => {
    await context(req, res);
    res.json(
      controlPlane.cost.estimate(await resourceService.current(), req.body),
    );
  });

  router.get('/cost/chargeback', async (req, res) => {
    await context(req, res);
    res.json(
      await controlPlane.cost.chargeback(
        await resourceService.current(),
        req.query,
      ),
    );
  });

  router.get('/products', async (req, res) => {
    await context(req, res);
    const state = await resourceService.current();
    res.json({
      items: state
        .products()
        .map(p => ({ id: p.id, source: p.source, ...p.spec })),
    });
  });

  router.get('/products/:id', async (req, res) => {
    await context(req, res);
    const product = (await resourceService.current()).product(req.params.id);
    if (!product) throw new NotFoundError(`No product ${req.params.id}`);
    res.json({ id: product.id, source: product.source, ...product.spec });
  });

  // ── resources ────────────────────────────────────────────────────────────────────────

  router.get('/resources', async (req, res) => {
    const ctx = await context(req, res);
    const query = parseInput(listResourcesQuerySchema, req.query);
    const restrict = await authorizer.listRestriction(
      ctx.credentials,
      resourceReadPermission,
    );
    const page = await resources.list(
      {
        ...query,
        ...(query.owner ? { owner: normalizeEntityRef(query.owner) } : {}),
        ...(query.component
          ? { component: normalizeEntityRef(query.component) }
          : {}),
        restrict,
      },
      { limit: query.limit, cursor: query.cursor },
    );
    res.json({ ...page, items: page.items.map(publicResource) });
  });

  router.post('/resources', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'resource.create',
      target: 'resource',
    });
    const manifest = resourceService.manifestForCreate(req.body);
    const ref = stringifyResourceRef(manifest.metadata);
    res.locals.audit.target = ref;
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceCreatePermission,
      [factsOf({ ref, spec: manifest.spec })],
    );
    await idempotent(req, res, ctx, true, async () => ({
      status: 201,
      body: publicResource(await resourceService.create(manifest, ctx)),
    }));
  });

  async function readable(req: Request, res: Response) {
    const ctx = await context(req, res);
    const resource = await resourceService.getLive(refFrom(req));
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceReadPermission,
      [factsOf(resource)],
    );
    return resource;
  }

  router.get('/resources/:namespace/:name', async (req, res) => {
    res.json(publicResource(await readable(req, res)));
  });

  router.get('/resources/:namespace/:name/status', async (req, res) => {
    const resource = await readable(req, res);
    res.json({ ref: resource.ref, ...resource.status });
  });

  router.get('/resources/:namespace/:name/history', async (req, res) => {
    const resource = await readable(req, res);
    res.json({
      ref: resource.ref,
      transitions: await resources.history(resource.uid),
    });
  });

  router.get('/resources/:namespace/:name/placement', async (req, res) => {
    const resource = await readable(req, res);
    res.json(await controlPlane.cost.placement(resource));
  });

  router.get('/resources/:namespace/:name/cost', async (req, res) => {
    const resource = await readable(req, res);
    res.json(
      await controlPlane.cost.resourceCost(
        await resourceService.current(),
        resource,
      ),
    );
  });

  router.get('/resources/:namespace/:name/blockers', async (req, res) => {
    const resource = await readable(req, res);
    res.json(await resourceService.blockers(resource.ref));
  });

  router.get('/resources/:namespace/:name/operations', async (req, res) => {
    const resource = await readable(req, res);
    res.json({ items: await operations.listForResource(resource.uid) });
  });

  router.get('/resources/:namespace/:name/events', async (req, res) => {
    const resource = await readable(req, res);
    await streamResourceEvents(
      req,
      res,
      controlPlane.events,
      resource.ref,
      options.eventStream,
    );
  });

  router.patch('/resources/:namespace/:name', async (req, res) => {
    const ref = refFrom(req);
    const ctx = await context(req, res, {
      action: 'resource.update',
      target: ref,
    });
    const current = await resourceService.getLive(ref);
    const next = await resourceService.manifestForUpdate(ref, req.body);
    // Allowed on the resource as it is, and as it would become (e.g. a new owner).
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceUpdatePermission,
      [factsOf(current), factsOf({ ref, spec: next.spec })],
    );
    await idempotent(req, res, ctx, false, async () => ({
      status: 200,
      body: publicResource(await resourceService.update(ref, req.body, ctx)),
    }));
  });

  router.delete('/resources/:namespace/:name', async (req, res) => {
    const ref = refFrom(req);
    const ctx = await context(req, res, {
      action: 'resource.delete',
      target: ref,
    });
    const cascade =
      parseInput(
        z.enum(['true', 'false']).optional(),
        req.query.cascade,
        'cascade',
      ) === 'true';
    const plan = await resourceService.deletionPlan(ref, cascade);
    const state = await resourceService.current();
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceDeletePermission,
      plan.map(r => factsOf({ ref: r, spec: state.resource(r)!.spec })),
    );
    await idempotent(req, res, ctx, false, async () => ({
      status: 202,
      body: await resourceService.delete(ref, cascade, ctx),
    }));
  });

  router.post('/resources/:namespace/:name/operations', async (req, res) => {
    const ref = refFrom(req);
    const body = parseInput(createOperationRequestSchema, req.body);
    const ctx = await context(req, res, {
      action: `resource.${body.type}`,
      target: ref,
    });
    const resource = await resourceService.getLive(ref);
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceOperatePermission,
      [factsOf(resource)],
    );
    await idempotent(req, res, ctx, true, async () => {
      const id = await resourceService.operate(ref, body, ctx);
      await audit.append({
        actor: ctx.actor,
        action: `resource.${body.type}`,
        target: ref,
        outcome: 'accepted',
        reason: `operation ${id}`,
        source: ctx.source,
        requestId: ctx.requestId,
      });
      return { status: 202, body: await operations.get(id) };
    });
  });

  router.get('/operations/:id', async (req, res) => {
    const ctx = await context(req, res);
    const operation = await operations.get(
      parseInput(z.string().uuid(), req.params.id, 'id'),
    );
    const resource = await resources.getLatest(
      ...(operation.resourceRef.replace(/^resource:/, '').split('/') as [
        string,
        string,
      ]),
    );
    if (resource) {
      await authorizer.authorizeResources(
        ctx.credentials,
        resourceReadPermission,
        [factsOf(resource)],
      );
    }
    res.json(operation);
  });

  async function operationWithResource(
    req: Request,
    res: Response,
    audited?: string,
  ) {
    const id = parseInput(z.string().uuid(), req.params.id, 'id');
    const ctx = await context(
      req,
      res,
      audited ? { action: audited, target: id } : undefined,
    );
    const operation = await operations.get(id);
    const resource = await resources.getLatest(
      ...(operation.resourceRef.replace(/^resource:/, '').split('/') as [
        string,
        string,
      ]),
    );
    return { ctx, operation, resource };
  }

  router.post('/operations/:id/cancel', async (req, res) => {
    const { ctx, operation, resource } = await operationWithResource(
      req,
      res,
      'operation.cancel',
    );
    if (resource) {
      await authorizer.authorizeResources(
        ctx.credentials,
        resourceOperatePermission,
        [factsOf(resource)],
      );
    }
    await operations.requestCancel(operation.id, ctx.actor);
    await audit.append({
      actor: ctx.actor,
      action: 'operation.cancel',
      target: operation.resourceRef,
      outcome: 'accepted',
      reason: `operation ${operation.id}`,
      source: ctx.source,
      requestId: ctx.requestId,
    });
    controlPlane.engine.wake();
    res.status(202).json(await operations.get(operation.id));
  });

  router.post('/operations/:id/retry', async (req, res) => {
    const { ctx, operation, resource } = await operationWithResource(
      req,
      res,
      'operation.retry',
    );
    if (resource) {
      await authorizer.authorizeResources(
        ctx.credentials,
        resourceOperatePermission,
        [factsOf(resource)],
      );
    }
    await operations.retryParked(operation.id, ctx.actor);
    await audit.append({
      actor: ctx.actor,
      action: 'operation.retry',
      target: operation.resourceRef,
      outcome: 'accepted',
      reason: `operation ${operation.id}`,
      source: ctx.source,
      requestId: ctx.requestId,
    });
    controlPlane.engine.wake();
    res.status(202).json(await operations.get(operation.id));
  });

  router.post('/resources/:namespace/:name/retry', async (req, res) => {
    const ref = refFrom(req);
    const ctx = await context(req, res, {
      action: 'resource.retry',
      target: ref,
    });
    const resource = await resourceService.getLive(ref);
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceOperatePermission,
      [factsOf(resource)],
    );
    await resourceService.retry(resource, ctx);
    controlPlane.reconciler
      .pass()
      .catch(error => logger.warn(`reconciler pass failed: ${error}`));
    res.status(202).json(publicResource(await resourceService.getLive(ref)));
  });

  router.post('/reconciler/run', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'reconciler.run',
      target: 'control-plane',
    });
    await authorizer.authorize(ctx.credentials, clusterManagePermission);
    const { drift } = parseInput(
      z.object({ drift: z.boolean().default(false) }).strict(),
      req.body ?? {},
    );
    const pass = await controlPlane.reconciler.pass();
    res.json({
      ...pass,
      ...(drift ? { drift: await controlPlane.reconciler.detectDrift() } : {}),
    });
  });

  // ── declarative manifests ────────────────────────────────────────────────────────────

  async function authorizeManifests(
    credentials: BackstageCredentials,
    parsed: ParsedManifests,
  ) {
    const { plan, state, changes } = await manifests.plan(parsed);
    const kinds = new Set(parsed.manifests.map(m => m.kind));
    if (kinds.has('Product') || kinds.has('Tier') || kinds.has('Quota')) {
      await authorizer.authorize(credentials, policyManagePermission);
    }
    if (kinds.has('Cell') || kinds.has('Cluster')) {
      await authorizer.authorize(credentials, clusterManagePermission);
    }
    if (kinds.has('Provider')) {
      await authorizer.authorize(credentials, providerManagePermission);
    }
    const resourceChanges = changes.put.filter(m => m.kind === 'Resource');
    const created = resourceChanges.filter(m => !state.has(manifestKey(m)));
    const updated = resourceChanges.filter(m => state.has(manifestKey(m)));
    const facts = (ms: typeof resourceChanges) =>
      ms.map(m =>
        factsOf({
          ref: stringifyResourceRef(manifestKey(m)),
          spec: m.spec as any,
        }),
      );
    if (created.length) {
      await authorizer.authorizeResources(
        credentials,
        resourceCreatePermission,
        facts(created),
      );
    }
    if (updated.length) {
      const before = updated.map(
        m => state.get('Resource', m.metadata.name, manifestKey(m).namespace)!,
      );
      await authorizer.authorizeResources(
        credentials,
        resourceUpdatePermission,
        [...facts(before), ...facts(updated)],
      );
    }
    if (changes.remove.length) {
      await authorizer.authorizeResources(
        credentials,
        resourceDeletePermission,
        changes.remove.map(k =>
          factsOf({
            ref: stringifyResourceRef(k),
            spec: state.get('Resource', k.name, k.namespace)!.spec,
          }),
        ),
      );
    }
    return plan;
  }

  router.post('/manifests/plan', async (req, res) => {
    const ctx = await context(req, res);
    const parsed = manifests.parse(req.body);
    res.json(await authorizeManifests(ctx.credentials, parsed));
  });

  router.post('/manifests/apply', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'manifests.apply',
      target: 'state-repo',
    });
    const parsed = manifests.parse(req.body);
    await authorizeManifests(ctx.credentials, parsed);
    await idempotent(req, res, ctx, false, async () => ({
      status: 200,
      body: await manifests.apply(parsed, ctx),
    }));
  });

  // ── audit and the state repository ───────────────────────────────────────────────────

  router.get('/audit', async (req, res) => {
    const ctx = await context(req, res);
    await authorizer.authorize(ctx.credentials, auditReadPermission);
    res.json(await audit.list(parseInput(listAuditQuerySchema, req.query)));
  });

  router.get('/audit/verify', async (req, res) => {
    const ctx = await context(req, res);
    await authorizer.authorize(ctx.credentials, auditReadPermission);
    res.json(await audit.verify());
  });

  router.get('/gitops/status', async (req, res) => {
    await context(req, res);
    res.json(await indexer.status());
  });

  router.post('/gitops/sync', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'state-repo.sync',
      target: 'state-repo',
    });
    await authorizer.authorize(ctx.credentials, policyManagePermission);
    const result = await indexer.sync();
    res.json({ result, status: await indexer.status() });
  });

  // ── refused mutating requests are audited too ────────────────────────────────────────

  router.use(
    async (
      error: unknown,
      _req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      const audited = res.locals.audit as
        | (AuditTarget & { ctx: CallContext })
        | undefined;
      if (audited) {
        const status = statusOf(error);
        try {
          await audit.append({
            actor: audited.ctx.actor,
            action: audited.action,
            target: audited.target,
            outcome: status >= 500 ? 'failed' : 'rejected',
            reason: `${status}: ${
              (error as Error)?.message ?? String(error)
            }`.slice(0, 2000),
            source: audited.ctx.source,
            requestId: audited.ctx.requestId,
          });
        } catch (auditError) {
          logger.error(
            'could not audit a refused request',
            auditError as Error,
          );
        }
      }
      next(error);
    },
  );

  return router;
}
