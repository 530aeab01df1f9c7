import {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { isResourcePermission } from '@backstage/plugin-permission-common';
import express, { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuditLog } from '../audit/AuditLog';
import { DeferredAudit } from '../audit/DeferredAudit';
import {
  databaseUnavailable,
  isDatabaseUnavailable,
  RETRY_AFTER_SECONDS,
} from '../database/availability';
import { canonicalJson, sha256 } from '../database/util';
import { parseInput, validationError } from '../errors';
import { ReviewRequiredError } from '../gitops/ChangeService';
import { CommandService } from '../idempotency/CommandService';
import { activeTraceId, annotateRequest } from '../observability/tracing';
import { ResourceAuthorizer } from '../permissions/ResourceAuthorizer';
import { AnyRoute, RequestContext, RouteGroup, RouteInput } from './route';

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

// As stored with commits and audit events (64 characters).
export const requestIdSchema = z
  .string()
  .regex(
    /^[\x21-\x7e]{1,64}$/,
    'must be 1 to 64 printable ASCII characters without spaces',
  );

/** The HTTP status an error answers with (Backstage's error handler decides the same way). */
export function statusOf(error: unknown): number {
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
    case 'NotImplementedError':
      return 501;
    case 'ServiceUnavailableError':
      return 503;
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
  if (principal.type === 'user') return principal.userEntityRef!;
  if (principal.type === 'service') {
    return `service:${principal.subject ?? 'unknown'}`;
  }
  return 'anonymous';
}

/** `/resources/{namespace}/{name}` → `/resources/:namespace/:name`. */
export const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

export interface PipelineOptions {
  httpAuth: HttpAuthService;
  authorizer: ResourceAuthorizer;
  commands: CommandService;
  audit: AuditLog;
  /** Where the audit of a refused request goes: written later when the database is away. */
  deferredAudit: DeferredAudit;
  logger: LoggerService;
  /**
   * Proposes a change that needs review as a pull request (reviewable commands); resolves
   * undefined when no pull request module can take it (the change is refused, 409).
   */
  propose?: (
    error: ReviewRequiredError,
    ctx: RequestContext,
  ) => Promise<
    { id: string; pullRequest?: { number: number; url: string } } | undefined
  >;
}

/**
 * Mounts each route behind the one request pipeline: identity (credentials, request id,
 * source, trace), authorization of the route's basic permission, parsing against its schemas,
 * the idempotency of commands, the audit of accepted and refused commands. Errors go on to
 * Backstage's error handler, which maps them to their status.
 */
export function mountRoutes(
  router: express.Router,
  groups: RouteGroup[],
  options: PipelineOptions,
) {
  for (const { routes, deps } of groups) {
    for (const route of routes) {
      router[route.method](expressPath(route.path), (req, res) =>
        handle(route, deps, req, res, options),
      );
    }
  }
}

async function context(
  req: Request,
  res: Response,
  httpAuth: HttpAuthService,
  route: AnyRoute,
): Promise<{ ctx: RequestContext; badRequestId?: string }> {
  const credentials = await httpAuth.credentials(req, {
    allow: route.public ? ['user', 'service', 'none'] : ['user', 'service'],
  });
  const header = req.header('x-request-id');
  const checked =
    header === undefined ? undefined : requestIdSchema.safeParse(header);
  const requestId = checked?.success ? checked.data : randomUUID();
  res.setHeader('x-request-id', requestId);
  const ctx: RequestContext = {
    credentials,
    actor: actorOf(credentials),
    requestId,
    source: { ip: req.ip, userAgent: req.header('user-agent') },
  };
  annotateRequest(ctx);
  return {
    ctx,
    badRequestId:
      checked && !checked.success
        ? checked.error.issues[0]?.message ?? 'invalid'
        : undefined,
  };
}

function parseRequest(route: AnyRoute, req: Request) {
  const { params, query, body, bodyOptional } = route.request ?? {};
  const rawBody =
    bodyOptional &&
    (req.body === undefined ||
      (typeof req.body === 'object' &&
        req.body !== null &&
        !Array.isArray(req.body) &&
        Object.keys(req.body).length === 0))
      ? {}
      : req.body;
  const withNul = [
    ...nulFields('', req.params),
    ...nulFields('', req.query),
    ...nulFields('', rawBody),
  ];
  if (withNul.length) {
    throw validationError(
      withNul.map(path => ({
        path,
        message: 'must not contain a NUL character',
      })),
    );
  }
  return {
    params: params ? parseInput(params, req.params) : undefined,
    query: query ? parseInput(query, req.query) : undefined,
    body: body ? parseInput(body, rawBody) : undefined,
  };
}

/**
 * The fields of a request holding a NUL character, in keys or values (at most five). No
 * store keeps one (PostgreSQL's text refuses it), so it is refused up front, naming the
 * field, instead of failing deep in a query.
 */
function nulFields(prefix: string, value: unknown): string[] {
  const found: string[] = [];
  const stack: Array<[string, unknown]> = [[prefix, value]];
  while (stack.length && found.length < 5) {
    const [path, v] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) found.push(path || '(root)');
    } else if (v && typeof v === 'object') {
      for (const [key, child] of Object.entries(v)) {
        const at = path ? `${path}.${key}` : key;
        if (key.includes('\u0000')) found.push(at);
        else stack.push([at, child]);
      }
    }
  }
  return found;
}

/** The audit target of a command as sent; a body built to break `String()` gets none. */
function rawTargetOf(route: AnyRoute, req: Request): string {
  try {
    return route.command!.target({ params: req.params, body: req.body });
  } catch {
    return `${route.command!.action}:?`;
  }
}

/**
 * Runs a command's handler; a reviewable command whose change needs review is proposed as a
 * pull request instead, answered 202 with the proposal and audited as accepted for review.
 */
async function runOrPropose(
  route: AnyRoute,
  input: RouteInput<any, any, any>,
  deps: unknown,
  checked: unknown,
  { propose }: PipelineOptions,
) {
  try {
    return await route.run(input, deps, checked);
  } catch (error) {
    if (
      !(error instanceof ReviewRequiredError) ||
      !route.command?.reviewable ||
      !propose
    ) {
      throw error;
    }
    const proposal = await propose(error, input.ctx);
    if (!proposal) throw error;
    input.res.setHeader('Location', `changes/proposals/${proposal.id}`);
    return {
      status: 202,
      body: { proposal },
      accepted: {
        reason: `needs review: proposed as pull request #${proposal.pullRequest?.number} (${proposal.pullRequest?.url}), change ${proposal.id}`,
      },
    };
  }
}

async function handle(
  route: AnyRoute,
  deps: unknown,
  req: Request,
  res: Response,
  options: PipelineOptions,
) {
  const { httpAuth, authorizer, commands, audit, deferredAudit, logger } =
    options;
  const audited = route.command
    ? { action: route.command.action, target: rawTargetOf(route, req) }
    : undefined;
  const { ctx, badRequestId } = await context(req, res, httpAuth, route);
  // From here on, a refusal of a command is audited: everything that can refuse it follows.
  try {
    if (badRequestId) {
      throw validationError([{ path: 'x-request-id', message: badRequestId }]);
    }
    if (route.permission && !isResourcePermission(route.permission)) {
      await authorizer.authorize(ctx.credentials, route.permission);
    }
    const parsed = parseRequest(route, req);
    const input: RouteInput<any, any, any> = {
      ...parsed,
      ctx,
      audit: audited ?? { action: '', target: '' },
      req,
      res,
    };
    Object.assign(input.audit, route.command?.parsed?.(parsed));
    if (!route.command) {
      const checked = await route.check?.(input, deps);
      const result = await route.run(input, deps, checked);
      if (result) {
        res.status(result.status ?? route.response.status).json(result.body);
      }
      return;
    }
    // Refusals that waited for the database are written before this command's events.
    await deferredAudit.flush();
    let key = req.header('idempotency-key');
    if (key !== undefined) {
      key = parseInput(idempotencyKeySchema, key, 'Idempotency-Key');
    } else if (route.command.idempotency === 'generated') {
      key = randomUUID();
    }
    if (key) {
      res.setHeader('Idempotency-Key', key);
      ctx.idempotencyKey = key;
    }
    const answer = await commands.execute({
      ctx,
      action: input.audit.action,
      target: () => input.audit.target,
      key,
      fingerprint: sha256(
        `${req.method} ${req.baseUrl}${req.path}?${canonicalJson(
          req.query,
        )}\n${canonicalJson(req.body ?? null)}`,
      ),
      check: async () => route.check?.(input, deps),
      run: async checked => {
        const result = await runOrPropose(route, input, deps, checked, options);
        if (result?.accepted) {
          await audit.append({
            actor: ctx.actor,
            action: input.audit.action,
            target: result.accepted.target ?? input.audit.target,
            outcome: 'accepted',
            reason: result.accepted.reason,
            source: ctx.source,
            requestId: ctx.requestId,
            beforeDigest: result.accepted.beforeDigest,
            afterDigest: result.accepted.afterDigest,
          });
        }
        return {
          status: result?.status ?? route.response.status,
          body: result?.body,
        };
      },
    });
    const fields = {
      requestId: ctx.requestId,
      traceId: activeTraceId(),
      actor: ctx.actor,
      action: input.audit.action,
      target: input.audit.target,
      status: answer.status,
      idempotencyKey: key,
      replayed: answer.replayed,
    };
    if (answer.lapsed) {
      logger.warn(
        'the lease of an Idempotency-Key lapsed before the request answered; its retry holds the key',
        fields,
      );
    }
    logger.info(
      `${input.audit.action} answered ${answer.status}${
        answer.replayed ? ' (replayed)' : ''
      }`,
      fields,
    );
    if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  } catch (thrown) {
    // An unavailable database is a 503 the client may retry, never a 500.
    const error = isDatabaseUnavailable(thrown)
      ? databaseUnavailable(thrown)
      : thrown;
    if (error !== thrown) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    if (audited) {
      const status = statusOf(error);
      try {
        await deferredAudit.append({
          actor: ctx.actor,
          action: audited.action,
          target: audited.target,
          outcome: status >= 500 ? 'failed' : 'rejected',
          reason: `${status}: ${(error as Error)?.message ?? String(error)}`,
          source: ctx.source,
          requestId: ctx.requestId,
        });
      } catch (auditError) {
        logger
          .child({ requestId: ctx.requestId, traceId: activeTraceId() })
          .error('could not audit a refused request', auditError as Error);
      }
    }
    throw error;
  }
}
