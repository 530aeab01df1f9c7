import {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { BasicPermission } from '@backstage/plugin-permission-common';
import {
  auditReadPermission,
  catalogReadPermission,
  clusterManagePermission,
  costReadPermission,
  createOperationRequestSchema,
  experimentManagePermission,
  fleetReadPermission,
  HealthResponse,
  listAuditQuerySchema,
  listResourcesQuerySchema,
  ManifestKind,
  resourceEventsQuerySchema,
  manifestKey,
  namespaceSchema,
  nameSchema,
  normalizeEntityRef,
  policyManagePermission,
  providerManagePermission,
  reconcilerRunRequestSchema,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceOperatePermission,
  resourceReadPermission,
  resourceUpdatePermission,
  stringifyResourceRef,
  updateResourceRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import express, { NextFunction, Request, Response } from 'express';
import Router from 'express-promise-router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ControlPlane } from '../controlPlane';
import { createOpenApiDocument } from './openapi';
import { databaseClient, migrationStatus } from '../database/migrations';
import { canonicalJson, sha256 } from '../database/util';
import { parseInput, validationError } from '../errors';
import { streamResourceEvents } from '../events/sse';
import { ParsedManifests } from '../gitops/ManifestService';
import { factsOf, ResourceAuthorizer } from '../permissions/ResourceAuthorizer';
import {
  activeTraceId,
  annotateRequest,
  traceRequests,
} from '../observability/tracing';
import { CallContext } from '../context';
import { scopeKey } from '../governance/FeatureFlags';
import { utilizationOf } from '../scheduling/pipeline';
import { noUsage } from '../scheduling/Scheduler';

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

// As stored with commits and audit events (64 characters).
const requestIdSchema = z
  .string()
  .regex(
    /^[\x21-\x7e]{1,64}$/,
    'must be 1 to 64 printable ASCII characters without spaces',
  );

/** Who may write each kind of manifest (resources: the resource permissions). */
const manifestPermissions: Record<
  Exclude<ManifestKind, 'Resource'>,
  BasicPermission
> = {
  Product: policyManagePermission,
  Tier: policyManagePermission,
  Quota: policyManagePermission,
  Policy: policyManagePermission,
  Cell: clusterManagePermission,
  Cluster: clusterManagePermission,
  Provider: providerManagePermission,
};

/** What a request names in the URL, before it is validated: for the audit of a refusal. */
function rawTarget(kind: string, ...parts: (string | undefined)[]) {
  return `${kind}:${parts.map(p => p ?? '').join('/')}`.slice(0, 255);
}

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
  router.use(traceRequests());

  // ── helpers ──────────────────────────────────────────────────────────────────────────

  const refFrom = (req: Request) =>
    stringifyResourceRef({
      namespace: parseInput(namespaceSchema, req.params.namespace, 'namespace'),
      name: parseInput(nameSchema, req.params.name, 'name'),
    });

  /**
   * Authenticates the request and gives it its identity. With `audited`, the request is a
   * mutating one: from here on, a refusal of it is audited (see the error handler below), so
   * everything that can refuse it must come after this call.
   */
  async function context(req: Request, res: Response, audited?: AuditTarget) {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const header = req.header('x-request-id');
    const checked =
      header === undefined ? undefined : requestIdSchema.safeParse(header);
    const requestId = checked?.success ? checked.data : randomUUID();
    res.setHeader('x-request-id', requestId);
    const ctx: CallContext & { credentials: BackstageCredentials } = {
      credentials,
      actor: actorOf(credentials),
      requestId,
      source: { ip: req.ip, userAgent: req.header('user-agent') },
    };
    annotateRequest(ctx);
    if (audited) {
      res.locals.audit = { ...audited, ctx };
    }
    if (checked && !checked.success) {
      throw validationError([
        {
          path: 'x-request-id',
          message: checked.error.issues[0]?.message ?? 'invalid',
        },
      ]);
    }
    return ctx;
  }

  const auditedOf = (res: Response) =>
    res.locals.audit as (AuditTarget & { ctx: CallContext }) | undefined;

  /**
   * Runs a mutating request under its Idempotency-Key (generated for creates) with the
   * semantics of the IETF draft: the same key and request replay the first response, with
   * no new side effect; another request with the key is a 422; while the first is in
   * flight, a 409.
   *
   * `prepare` holds the checks that depend on the current state (authorization, validation
   * against the desired state); they run after a completed key is replayed (a retried
   * delete must get its 202, not a 404) and before the key is claimed (a bad request writes
   * nothing, not even its key). `run` makes the change.
   */
  async function mutate<T>(
    req: Request,
    res: Response,
    ctx: CallContext,
    steps: {
      generateKey?: boolean;
      prepare?: () => Promise<T>;
      run: (prepared: T) => Promise<{ status: number; body: unknown }>;
    },
  ) {
    let key = req.header('idempotency-key');
    if (key !== undefined) {
      key = parseInput(idempotencyKeySchema, key, 'Idempotency-Key');
    } else if (steps.generateKey) {
      key = randomUUID();
    }
    /** Answers, with a log line correlating the request, its trace and what it did. */
    const answer = (
      result: { status: number; body: unknown },
      replayed = false,
    ) => {
      const target = auditedOf(res);
      logger.info(
        `${target?.action ?? `${req.method} ${req.path}`} answered ${
          result.status
        }${replayed ? ' (replayed)' : ''}`,
        {
          requestId: ctx.requestId,
          traceId: activeTraceId(),
          actor: ctx.actor,
          action: target?.action,
          target: target?.target,
          status: result.status,
          idempotencyKey: key,
          replayed,
        },
      );
      res.status(result.status).json(result.body);
    };
    if (!key) {
      const prepared = (await steps.prepare?.()) as T;
      answer(await steps.run(prepared));
      return;
    }
    res.setHeader('Idempotency-Key', key);
    ctx.idempotencyKey = key;
    const fingerprint = sha256(
      `${req.method} ${req.baseUrl}${req.path}?${canonicalJson(
        req.query,
      )}\n${canonicalJson(req.body ?? null)}`,
    );
    const replay = async (first: { status: number; body: unknown }) => {
      const target = auditedOf(res);
      if (target) {
        await audit.append({
          actor: ctx.actor,
          action: target.action,
          target: target.target,
          outcome: first.status < 400 ? 'accepted' : 'rejected',
          reason: `replayed the first response (${first.status}) to Idempotency-Key ${key}`,
          source: ctx.source,
          requestId: ctx.requestId,
        });
      }
      res.setHeader('Idempotent-Replayed', 'true');
      answer(first, true);
    };
    const earlier = await idempotency.peek(ctx.actor, key, fingerprint);
    if (earlier) {
      await replay(earlier);
      return;
    }
    const prepared = (await steps.prepare?.()) as T;
    const decision = await idempotency.begin(ctx.actor, key, fingerprint);
    if (decision.kind === 'replay') {
      await replay(decision);
      return;
    }
    let result;
    try {
      result = await steps.run(prepared);
    } catch (error) {
      await idempotency.release(ctx.actor, key, decision.lease);
      throw error;
    }
    if (
      !(await idempotency.complete(
        ctx.actor,
        key,
        decision.lease,
        result.status,
        result.body,
      ))
    ) {
      logger.warn(
        'the lease of an Idempotency-Key lapsed before the request answered; its retry holds the key',
        {
          idempotencyKey: key,
          actor: ctx.actor,
          requestId: ctx.requestId,
          traceId: activeTraceId(),
        },
      );
    }
    answer(result);
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

  /** The audit event of an accepted request. */
  const accepted = (
    ctx: CallContext,
    action: string,
    target: string,
    reason: string,
  ) =>
    audit.append({
      actor: ctx.actor,
      action,
      target,
      outcome: 'accepted',
      reason: reason.slice(0, 2000),
      source: ctx.source,
      requestId: ctx.requestId,
    });

  // ── the catalog of what may be requested, and the fleet ─────────────────────────────

  /** A signed-in caller holding a basic permission. */
  async function allowed(
    req: Request,
    res: Response,
    permission: BasicPermission,
  ) {
    const ctx = await context(req, res);
    await authorizer.authorize(ctx.credentials, permission);
    return ctx;
  }

  /** The objects of a kind in the desired state, for any caller who may read the catalog. */
  const listed =
    (kind: 'Tier' | 'Cell' | 'Quota' | 'Policy') =>
    async (req: Request, res: Response) => {
      await allowed(req, res, catalogReadPermission);
      const state = await resourceService.current();
      res.json({
        items: state
          .ofKind(kind)
          .map(m => ({ id: m.metadata.name, ...m.spec })),
      });
    };
  router.get('/tiers', listed('Tier'));
  router.get('/cells', listed('Cell'));
  router.get('/quotas', listed('Quota'));
  router.get('/policies', listed('Policy'));

  router.get('/clusters', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    const state = await resourceService.current();
    const usage = await controlPlane.scheduler.clusterUsage(state);
    res.json({
      items: state.ofKind('Cluster').map(m => {
        const used = usage.get(m.metadata.name) ?? noUsage;
        return {
          id: m.metadata.name,
          ...m.spec,
          usage: {
            ...used,
            utilization:
              Math.round(utilizationOf(m.spec.capacity, used) * 10000) / 10000,
          },
        };
      }),
    });
  });

  router.get('/providers', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
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
            latencyByCell: r?.latencyByCell ?? {},
            ...(r?.openedAt ? { openedAt: r.openedAt } : {}),
            ...(r?.reason ? { reason: r.reason } : {}),
          },
        };
      }),
    });
  });

  // ── cost and quotas ──────────────────────────────────────────────────────────────────

  router.get('/quotas/usage', async (req, res) => {
    const ctx = await allowed(req, res, catalogReadPermission);
    const costs = await authorizer.predicate(
      ctx.credentials,
      costReadPermission,
    );
    const state = await resourceService.current();
    // A team quota's usage is that team's cost: shown to those who may see its resources'
    // costs. Cell and namespace quotas are shared limits every requester runs into.
    const items = (await controlPlane.cost.quotaUsage(state)).filter(
      q =>
        costs.all ||
        q.scope.kind !== 'team' ||
        costs.allows({
          ref: `team:${q.scope.name}`,
          owner: normalizeEntityRef(q.scope.name),
          cell: '',
          tier: '',
        }),
    );
    res.json({ items });
  });

  router.post('/cost/estimate', async (req, res) => {
    await allowed(req, res, catalogReadPermission);
    res.json(
      controlPlane.cost.estimate(await resourceService.current(), req.body),
    );
  });

  router.get('/cost/chargeback', async (req, res) => {
    const ctx = await context(req, res);
    // Everyone's costs to those allowed all; the rest see their resources' share only.
    const restrict = await authorizer.listRestriction(
      ctx.credentials,
      costReadPermission,
    );
    res.json(
      await controlPlane.cost.chargeback(
        await resourceService.current(),
        req.query,
        restrict,
      ),
    );
  });

  router.get('/products', async (req, res) => {
    await allowed(req, res, catalogReadPermission);
    const state = await resourceService.current();
    res.json({
      items: state
        .products()
        .map(p => ({ id: p.id, source: p.source, ...p.spec })),
    });
  });

  router.get('/products/:id', async (req, res) => {
    await allowed(req, res, catalogReadPermission);
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
      target: rawTarget(
        'resource',
        req.body?.namespace ?? 'default',
        String(req.body?.name ?? ''),
      ),
    });
    const manifest = resourceService.manifestForCreate(req.body);
    const ref = stringifyResourceRef(manifest.metadata);
    res.locals.audit.target = ref;
    await authorizer.authorizeResources(
      ctx.credentials,
      resourceCreatePermission,
      [factsOf({ ref, spec: manifest.spec })],
    );
    await mutate(req, res, ctx, {
      generateKey: true,
      prepare: () => resourceService.check(ref, [manifest]),
      run: async () => ({
        status: 201,
        body: publicResource(await resourceService.create(manifest, ctx)),
      }),
    });
  });

  /** The live resource `ref`, when the caller holds `permission` on it. */
  async function authorizedResource(
    credentials: BackstageCredentials,
    ref: string,
    permission: typeof resourceReadPermission,
  ) {
    const resource = await resourceService.getLive(ref);
    await authorizer.authorizeResources(credentials, permission, [
      factsOf(resource),
    ]);
    return resource;
  }

  async function readable(req: Request, res: Response) {
    const ctx = await context(req, res);
    return authorizedResource(
      ctx.credentials,
      refFrom(req),
      resourceReadPermission,
    );
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
    const ctx = await context(req, res);
    const resource = await authorizedResource(
      ctx.credentials,
      refFrom(req),
      costReadPermission,
    );
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
    if (
      req.accepts(['text/event-stream', 'application/json']) ===
      'application/json'
    ) {
      const { after, limit } = parseInput(resourceEventsQuerySchema, req.query);
      const items = await controlPlane.events.since(resource.ref, after, limit);
      res.json({
        items,
        lastId: items.length ? items[items.length - 1].id : after,
      });
      return;
    }
    await streamResourceEvents(
      req,
      res,
      controlPlane.events,
      resource.ref,
      options.eventStream,
    );
  });

  /** The audit target of a request on a resource, before its name is validated. */
  const resourceTarget = (req: Request) =>
    rawTarget('resource', req.params.namespace, req.params.name);

  router.patch('/resources/:namespace/:name', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'resource.update',
      target: resourceTarget(req),
    });
    const ref = refFrom(req);
    res.locals.audit.target = ref;
    const patch = parseInput(updateResourceRequestSchema, req.body);
    await mutate(req, res, ctx, {
      prepare: async () => {
        const current = await resourceService.getLive(ref);
        const { next, basis } = await resourceService.planUpdate(ref, patch);
        // Allowed on the resource as it is, and as it would become (e.g. a new owner).
        await authorizer.authorizeResources(
          ctx.credentials,
          resourceUpdatePermission,
          [factsOf(current), factsOf({ ref, spec: next.spec })],
        );
        await resourceService.check(ref, [next]);
        return basis;
      },
      run: async basis => ({
        status: 200,
        body: publicResource(
          await resourceService.update(ref, patch, ctx, basis),
        ),
      }),
    });
  });

  router.delete('/resources/:namespace/:name', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'resource.delete',
      target: resourceTarget(req),
    });
    const ref = refFrom(req);
    res.locals.audit.target = ref;
    const cascade =
      parseInput(
        z.enum(['true', 'false']).optional(),
        req.query.cascade,
        'cascade',
      ) === 'true';
    await mutate(req, res, ctx, {
      prepare: async () => {
        const plan = await resourceService.deletionPlan(ref, cascade);
        await authorizer.authorizeResources(
          ctx.credentials,
          resourceDeletePermission,
          plan.map(factsOf),
        );
        return plan.map(p => p.ref);
      },
      run: async planned => ({
        status: 202,
        body: await resourceService.delete(ref, cascade, ctx, planned),
      }),
    });
  });

  router.post('/resources/:namespace/:name/operations', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'resource.operation',
      target: resourceTarget(req),
    });
    const ref = refFrom(req);
    res.locals.audit.target = ref;
    const body = parseInput(createOperationRequestSchema, req.body);
    res.locals.audit.action = `resource.${body.type}`;
    await mutate(req, res, ctx, {
      generateKey: true,
      prepare: async () => {
        await authorizedResource(
          ctx.credentials,
          ref,
          resourceOperatePermission,
        );
        await resourceService.checkOperation(ref, body);
      },
      run: async () => {
        const started = await resourceService.operate(ref, body, ctx);
        await audit.append({
          actor: ctx.actor,
          action: `resource.${body.type}`,
          target: ref,
          outcome: 'accepted',
          reason: `operation ${started.operationId}`,
          source: ctx.source,
          requestId: ctx.requestId,
          beforeDigest: started.beforeDigest,
          afterDigest: started.afterDigest,
        });
        return {
          status: 202,
          body: await operations.get(started.operationId),
        };
      },
    });
  });

  /**
   * Authorizes `permission` on the resource an operation acts on; when its row is gone, only
   * an unconditional decision allows it.
   */
  async function authorizeOperation(
    credentials: BackstageCredentials,
    permission: typeof resourceReadPermission,
    id: string,
  ) {
    const operation = await operations.get(id);
    const resource = await resourceService.resourceOfOperation(id);
    if (resource) {
      await authorizer.authorizeResources(credentials, permission, [
        factsOf(resource),
      ]);
    } else {
      await authorizer.authorizeWithoutFacts(
        credentials,
        permission,
        operation.resourceRef,
      );
    }
    return operation;
  }

  router.get('/operations/:id', async (req, res) => {
    const ctx = await context(req, res);
    const id = parseInput(z.string().uuid(), req.params.id, 'id');
    res.json(
      await authorizeOperation(ctx.credentials, resourceReadPermission, id),
    );
  });

  for (const verb of ['cancel', 'retry'] as const) {
    router.post(`/operations/:id/${verb}`, async (req, res) => {
      const action = `operation.${verb}`;
      const ctx = await context(req, res, {
        action,
        target: rawTarget('operation', req.params.id),
      });
      const id = parseInput(z.string().uuid(), req.params.id, 'id');
      await mutate(req, res, ctx, {
        prepare: async () => {
          const operation = await authorizeOperation(
            ctx.credentials,
            resourceOperatePermission,
            id,
          );
          res.locals.audit.target = operation.resourceRef;
          return operation;
        },
        run: async operation => {
          if (verb === 'cancel') {
            await operations.requestCancel(id, ctx.actor);
          } else {
            await operations.retryParked(id, ctx.actor);
          }
          await accepted(ctx, action, operation.resourceRef, `operation ${id}`);
          controlPlane.engine.wake();
          return { status: 202, body: await operations.get(id) };
        },
      });
    });
  }

  router.post('/resources/:namespace/:name/retry', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'resource.retry',
      target: resourceTarget(req),
    });
    const ref = refFrom(req);
    res.locals.audit.target = ref;
    await mutate(req, res, ctx, {
      prepare: () =>
        authorizedResource(ctx.credentials, ref, resourceOperatePermission),
      run: async resource => {
        await resourceService.retry(resource, ctx);
        controlPlane.reconciler
          .pass()
          .catch(error => logger.warn(`reconciler pass failed: ${error}`));
        return {
          status: 202,
          body: publicResource(await resourceService.getLive(ref)),
        };
      },
    });
  });

  router.post('/reconciler/run', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'reconciler.run',
      target: 'control-plane',
    });
    await authorizer.authorize(ctx.credentials, clusterManagePermission);
    const { drift } = parseInput(reconcilerRunRequestSchema, req.body ?? {});
    await mutate(req, res, ctx, {
      run: async () => {
        const pass = await controlPlane.reconciler.pass();
        const body = {
          ...pass,
          ...(drift
            ? { drift: await controlPlane.reconciler.detectDrift() }
            : {}),
        };
        await accepted(
          ctx,
          'reconciler.run',
          'control-plane',
          `started ${pass.started.length} operation${
            pass.started.length === 1 ? '' : 's'
          }${drift ? `; ${body.drift!.drifted.length} drifted` : ''}`,
        );
        return { status: 200, body };
      },
    });
  });

  // ── declarative manifests ────────────────────────────────────────────────────────────

  /**
   * Authorizes what the manifests would change, before they are validated against the
   * desired state (whose issues would tell an unauthorized caller about it). Returns the
   * signature of the authorized change (see ManifestService.diff).
   */
  async function authorizeManifests(
    credentials: BackstageCredentials,
    parsed: ParsedManifests,
  ): Promise<string> {
    const { state, changes, signature } = await manifests.diff(parsed);
    const basics = new Set(
      parsed.manifests
        .filter(m => m.kind !== 'Resource')
        .map(
          m => manifestPermissions[m.kind as keyof typeof manifestPermissions],
        ),
    );
    for (const permission of basics) {
      await authorizer.authorize(credentials, permission);
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
    return signature;
  }

  router.post('/manifests/plan', async (req, res) => {
    const ctx = await context(req, res);
    const parsed = manifests.parse(req.body);
    await authorizeManifests(ctx.credentials, parsed);
    const plan = await manifests.plan(parsed, ctx);
    res.json(
      await controlPlane.cost.priced(
        await resourceService.current(),
        parsed.manifests,
        plan,
      ),
    );
  });

  router.post('/manifests/apply', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'manifests.apply',
      target: 'state-repo',
    });
    const parsed = manifests.parse(req.body);
    await mutate(req, res, ctx, {
      prepare: async () => {
        const signature = await authorizeManifests(ctx.credentials, parsed);
        // Validated before the key is claimed; apply validates again on the head it commits
        // on, and runs admission then (auditing its decisions).
        await manifests.validate(parsed);
        return { signature };
      },
      run: async ({ signature }) => ({
        status: 200,
        body: await manifests.apply(parsed, ctx, signature),
      }),
    });
  });

  // ── experiments and feature flags (platform engineers) ───────────────────────────────

  router.get('/experiments', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    res.json({ items: await controlPlane.experiments.list() });
  });

  router.get('/experiments/:name', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    res.json(
      await controlPlane.experiments.get(
        parseInput(nameSchema, req.params.name, 'name'),
      ),
    );
  });

  router.post('/experiments', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'experiment.create',
      target: rawTarget('experiment', String(req.body?.name ?? '')),
    });
    await authorizer.authorize(ctx.credentials, experimentManagePermission);
    const request = controlPlane.experiments.parseCreate(req.body);
    await mutate(req, res, ctx, {
      run: async () => {
        const experiment = await controlPlane.experiments.create(
          request,
          ctx.actor,
        );
        await accepted(
          ctx,
          'experiment.create',
          `experiment:${experiment.name}`,
          `arms ${experiment.arms
            .map(a => `${a.name} ${a.percent}% ${JSON.stringify(a.weights)}`)
            .join(', ')}; scope ${JSON.stringify(experiment.scope)}`,
        );
        return { status: 201, body: experiment };
      },
    });
  });

  router.post('/experiments/:name/stop', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'experiment.stop',
      target: rawTarget('experiment', req.params.name),
    });
    await authorizer.authorize(ctx.credentials, experimentManagePermission);
    const name = parseInput(nameSchema, req.params.name, 'name');
    await mutate(req, res, ctx, {
      run: async () => {
        const experiment = await controlPlane.experiments.stop(name);
        await accepted(
          ctx,
          'experiment.stop',
          `experiment:${name}`,
          `stopped after ${experiment.outcomes
            .map(o => `${o.arm}: ${o.placements} placements`)
            .join(', ')}`,
        );
        return { status: 200, body: experiment };
      },
    });
  });

  router.get('/flags', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    res.json({ items: await controlPlane.flags.list() });
  });

  router.get('/flags/:name', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    res.json(await controlPlane.flags.get(req.params.name));
  });

  router.put('/flags/:name', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'flag.set',
      target: rawTarget('flag', req.params.name),
    });
    await authorizer.authorize(ctx.credentials, experimentManagePermission);
    const request = controlPlane.flags.parseSet(req.params.name, req.body);
    await mutate(req, res, ctx, {
      run: async () => {
        const flag = await controlPlane.flags.set(request, ctx.actor);
        await accepted(
          ctx,
          'flag.set',
          `flag:${request.name}`,
          `${JSON.stringify(request.value)} in ${scopeKey(request.scope)}`,
        );
        return { status: 200, body: flag };
      },
    });
  });

  router.delete('/flags/:name', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'flag.unset',
      target: rawTarget('flag', req.params.name),
    });
    await authorizer.authorize(ctx.credentials, experimentManagePermission);
    const request = controlPlane.flags.parseUnset(req.params.name, req.query);
    await mutate(req, res, ctx, {
      run: async () => {
        const { flag, removed } = await controlPlane.flags.unset(request);
        await accepted(
          ctx,
          'flag.unset',
          `flag:${request.name}`,
          `${scopeKey(request.scope)}: ${
            removed ? 'value removed' : 'had no value'
          }`,
        );
        return { status: 200, body: flag };
      },
    });
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
    res.json(await audit.verify(await indexer.auditAnchor()));
  });

  router.get('/gitops/status', async (req, res) => {
    await allowed(req, res, fleetReadPermission);
    res.json(await indexer.status());
  });

  router.post('/gitops/sync', async (req, res) => {
    const ctx = await context(req, res, {
      action: 'state-repo.sync',
      target: 'state-repo',
    });
    await authorizer.authorize(ctx.credentials, policyManagePermission);
    await mutate(req, res, ctx, {
      run: async () => {
        const result = await indexer.sync();
        await accepted(
          ctx,
          'state-repo.sync',
          'state-repo',
          `${result.status}${
            result.commit ? ` at ${result.commit.slice(0, 12)}` : ''
          }`,
        );
        return {
          status: 200,
          body: { result, status: await indexer.status() },
        };
      },
    });
  });

  // ── refused mutating requests are audited too ────────────────────────────────────────

  router.use(
    async (
      error: unknown,
      _req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      const audited = auditedOf(res);
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
          logger
            .child({
              requestId: audited.ctx.requestId,
              traceId: activeTraceId(),
            })
            .error('could not audit a refused request', auditError as Error);
        }
      }
      next(error);
    },
  );

  return router;
}
