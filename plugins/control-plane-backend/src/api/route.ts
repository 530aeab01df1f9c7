import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { Permission } from '@backstage/plugin-permission-common';
import { Request, Response } from 'express';
import { z } from 'zod';
import { CallContext } from '../context';

/** A request's identity, as the pipeline establishes it before any handler runs. */
export interface RequestContext extends CallContext {
  credentials: BackstageCredentials;
}

/** What a handler is given: the request, parsed against the route's schemas. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  ctx: RequestContext;
  /** What the audit log records of this request; a handler may narrow the target once known. */
  audit: { action: string; target: string };
  /** For the few routes that negotiate content or stream (server-sent events). */
  req: Request;
  res: Response;
}

/** A handler's answer. `undefined`: the handler wrote the response itself (a stream). */
export type RouteResult =
  | {
      /** Defaults to the route's declared response status. */
      status?: number;
      body: unknown;
      /**
       * The audit event of the accepted request, written by the pipeline. Leave it out when
       * the service already audited the change with its commit (resources, manifests).
       */
      accepted?: {
        reason: string;
        target?: string;
        beforeDigest?: string;
        afterDigest?: string;
      };
    }
  | undefined;

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * One route of the API: everything the router and the OpenAPI document need. A handler
 * parses (the pipeline does it from `request`), authorizes (a basic `permission` is checked
 * by the pipeline; a resource permission by the handler, on the resources it touches) and
 * delegates to a service; nothing else.
 */
export interface RouteSpec<
  D,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
  T = void,
> {
  method: Method;
  /** OpenAPI style: `/resources/{namespace}/{name}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** Served without credentials (`security: []` in the document). */
  public?: boolean;
  /**
   * The permission the route needs. A basic one is authorized by the pipeline before the
   * request is parsed; a resource one names what the handler authorizes on each resource.
   */
  permission?: Permission;
  /** Said in the document when `permission` alone does not tell who may call the route. */
  permissionNote?: string;
  request?: {
    params?: P;
    query?: Q;
    body?: B;
    /** The body may be left out (`{}` is parsed in its place). */
    bodyOptional?: boolean;
    /** Request headers the route reads, for the document. */
    headers?: z.ZodObject;
  };
  response: {
    status: number;
    schema: Schema;
    description: string;
    /** Other media types than JSON (a stream), for the document. */
    content?: Record<string, Schema>;
  };
  /**
   * Mutating routes run under an Idempotency-Key (`generated`: one is made when the caller
   * sent none, for creates), and are audited, accepted or refused.
   */
  command?: {
    action: string;
    /** The audit target of the request as sent, before it is validated. */
    target: (raw: { params: Record<string, string>; body: any }) => string;
    /** What the audit log records once the request parsed (e.g. the resource's ref). */
    parsed?: (
      input: Pick<
        RouteInput<Out<P>, Out<Q>, Out<B>>,
        'params' | 'query' | 'body'
      >,
    ) => { action?: string; target?: string };
    idempotency: 'optional' | 'generated';
    /**
     * The command writes desired state through the change service: where the change needs
     * review (a pull request module's policy) it is proposed as a pull request instead, and
     * the route answers 202 with the proposal (`{ proposal }`) rather than 409.
     */
    reviewable?: boolean;
  };
  /**
   * Checks that depend on the current state (authorization on the resources touched,
   * validation against the desired state). For a command they run after a completed
   * Idempotency-Key is replayed and before the key is claimed: a bad request writes nothing.
   */
  check?: (input: RouteInput<Out<P>, Out<Q>, Out<B>>, deps: D) => Promise<T>;
  run: (
    input: RouteInput<Out<P>, Out<Q>, Out<B>>,
    deps: D,
    checked: T,
  ) => Promise<RouteResult>;
}

/** A route with its types erased, as the router and the document builder see it. */
export type AnyRoute = RouteSpec<any, any, any, any, any>;

/**
 * Declares the routes of one area, each typed from its schemas; `D` is what the area's
 * handlers are given (only the services they use).
 */
export function routes<D>() {
  return <
    P extends Schema | undefined = undefined,
    Q extends Schema | undefined = undefined,
    B extends Schema | undefined = undefined,
    T = void,
  >(
    spec: RouteSpec<D, P, Q, B, T>,
  ): RouteSpec<D, P, Q, B, T> => spec;
}

/** An area's routes bound to its services. */
export interface RouteGroup<D = any> {
  routes: AnyRoute[];
  deps: D;
}

/** What a request names in the URL, before it is validated: for the audit of a refusal. */
export function rawTarget(kind: string, ...parts: (string | undefined)[]) {
  return `${kind}:${parts.map(p => p ?? '').join('/')}`;
}
