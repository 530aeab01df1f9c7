import {
  Attributes,
  context,
  Context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** The instrumentation scope of every span and metric of the control plane. */
export const INSTRUMENTATION_SCOPE =
  '@idp-multicloud/plugin-control-plane-backend';

/** The tracer (looked up each time, so a provider registered later is used). */
export const tracer = () => trace.getTracer(INSTRUMENTATION_SCOPE);

/** Span attributes of the control plane, all under `idp.`. */
export const attributes = {
  requestId: 'idp.request.id',
  resourceRef: 'idp.resource.ref',
  operationId: 'idp.operation.id',
  operationType: 'idp.operation.type',
  step: 'idp.saga.step',
  phase: 'idp.saga.phase',
  attempt: 'idp.saga.attempt',
  outcome: 'idp.outcome',
  retryable: 'idp.error.retryable',
  provider: 'idp.provider',
  cell: 'idp.cell',
  cluster: 'idp.cluster',
  tier: 'idp.tier',
  product: 'idp.product',
  stage: 'idp.scheduling.stage',
  candidates: 'idp.scheduling.candidates',
  qualified: 'idp.scheduling.qualified',
} as const;

function fail(span: Span, error: unknown) {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: (error as Error)?.message ?? String(error),
  });
}

/**
 * Runs `fn` in a new active span (a child of `parent`, default the active context) and ends
 * it when `fn` returns or its promise settles; a throw or rejection marks it as an error.
 */
export function inSpan<T>(
  name: string,
  attrs: Attributes,
  fn: (span: Span) => T,
  parent: Context = context.active(),
  kind: SpanKind = SpanKind.INTERNAL,
): T {
  return tracer().startActiveSpan(
    name,
    { attributes: attrs, kind },
    parent,
    span => {
      let result: T;
      try {
        result = fn(span);
      } catch (error) {
        fail(span, error);
        span.end();
        throw error;
      }
      if (result instanceof Promise) {
        return result.then(
          value => {
            span.end();
            return value;
          },
          error => {
            fail(span, error);
            span.end();
            throw error;
          },
        ) as T;
      }
      span.end();
      return result;
    },
  );
}

/** The trace id of the active span, when there is a valid one (for logs). */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext)
    ? spanContext.traceId
    : undefined;
}

/**
 * The trace of a new operation: a span, ended at once, that records its acceptance — a child
 * of the active span (the API request, a reconciler pass) or the root of a new trace. Its
 * trace id becomes the operation's, and its span id (when sampled) the parent of every step
 * span, so `GET /operations/{id}`'s `traceId` finds the request and each step. Without a
 * tracer provider it is still the caller's trace (a propagated `traceparent`), if any;
 * without either the caller falls back to a random one.
 */
export function traceNewOperation(op: {
  id: string;
  resourceRef: string;
  type: string;
  actor: string;
}): { traceId?: string; spanId?: string } {
  const span = tracer().startSpan(`control-plane operation ${op.type}`, {
    attributes: {
      [attributes.operationId]: op.id,
      [attributes.resourceRef]: op.resourceRef,
      [attributes.operationType]: op.type,
      'enduser.id': op.actor,
    },
  });
  span.end();
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0;
  return {
    traceId: spanContext.traceId,
    ...(sampled ? { spanId: spanContext.spanId } : {}),
  };
}

/**
 * The context the spans of an operation's steps start in: a child of the span that accepted
 * it (`spanId`), in the operation's trace. An operation without one (tracing was off or did
 * not sample it, or it is older than this) gets a stand-in parent id derived from its id,
 * not sampled: its steps are traced only where a sampler decides on its own.
 */
export function operationContext(op: {
  id: string;
  traceId?: string;
  spanId?: string;
}): Context {
  if (!op.traceId) return ROOT_CONTEXT;
  const spanId =
    op.spanId ?? createHash('sha256').update(op.id).digest('hex').slice(0, 16);
  const spanContext = {
    traceId: op.traceId,
    spanId,
    traceFlags: op.spanId ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
  return isSpanContextValid(spanContext)
    ? trace.setSpanContext(ROOT_CONTEXT, spanContext)
    : ROOT_CONTEXT;
}

/**
 * Express middleware: one span per API request, named after its route
 * (`control-plane POST /resources`). Under HTTP auto-instrumentation it is a child of the
 * server span; without it, it continues the caller's `traceparent` as the server span. The
 * router adds the request id and the caller ({@link annotateRequest}).
 */
export function traceRequests() {
  return (req: Request, res: Response, next: NextFunction) => {
    const active = context.active();
    const outer = trace.getSpan(active);
    const parent = outer ? active : propagation.extract(active, req.headers);
    const span = tracer().startSpan(
      `control-plane ${req.method}`,
      {
        kind: outer ? SpanKind.INTERNAL : SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': req.originalUrl.split('?')[0],
        },
      },
      parent,
    );
    res.once('close', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      if (typeof route === 'string') {
        span.updateName(`control-plane ${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Adds a request's id and caller to its span (the active one). */
export function annotateRequest(info: { requestId: string; actor: string }) {
  trace.getActiveSpan()?.setAttributes({
    [attributes.requestId]: info.requestId,
    'enduser.id': info.actor,
  });
}

/** A W3C trace id: 16 random bytes as 32 hex digits (never all zeros). */
export function newTraceId(): string {
  for (;;) {
    const id = randomBytes(16).toString('hex');
    if (!/^0+$/.test(id)) return id;
  }
}
