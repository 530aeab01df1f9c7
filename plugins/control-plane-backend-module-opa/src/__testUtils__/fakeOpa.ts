import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * A policy, as the fake holds it: the document of its package for an input, e.g.
 * `{ allow: true, deny: [] }`; `undefined` for an undefined document.
 */
export type FakePolicy = (input: any) => unknown;

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  /** The parsed JSON body; the raw text when it is not JSON. */
  body?: any;
}

/** An answer to give instead of evaluating, as a failing OPA (or a proxy before it) would. */
export interface FakeOpaAnswer {
  status: number;
  /** A JSON value, or raw text sent as is. */
  body: unknown;
}

export interface FakeOpaOptions {
  /** Policies by package path, slash-separated as in the Data API: `idp/controlplane`. */
  policies?: Record<string, FakePolicy>;
  /** Require `Authorization: Bearer <token>`, as OPA started with `--authentication=token`. */
  token?: string;
  /** Add a `decision_id` to every answer, as OPA does with decision logging; true by default. */
  decisionIds?: boolean;
}

/** Thrown to answer as OPA's router does for a route it does not have. */
const pageNotFound = Symbol('404 page not found');

class OpaError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A local HTTP server that answers like OPA's Data API for the call the evaluator makes,
 * `POST /v1/data/{path}` with `{ "input": ... }`
 * (https://www.openpolicyagent.org/docs/latest/rest-api/#get-a-document-with-input):
 *
 * - `200 { result, decision_id }` with the document at the path: a package's document (its
 *   policy's answer), a rule inside it (`/v1/data/idp/controlplane/allow`), or a parent of
 *   packages (`/v1/data/idp`);
 * - `200 { decision_id }` without `result` when the document is undefined: an unknown path, a
 *   rule the policy leaves out, or a policy that answers `undefined`;
 * - `200` with `warning` `api_usage_warning` when the body has no `input` key;
 * - `400 { code: 'invalid_parameter' }` for a body that is not JSON;
 * - `401 { code: 'unauthorized' }` without the right bearer token, when one is configured;
 * - `500 { code: 'internal_error' }` when the policy throws (OPA's evaluation errors);
 * - `404 page not found` (text) for anything else: as OPA's router for routes OPA does not
 *   have, and for the other APIs (`GET /v1/data`, policies, ...), which the fake does not serve.
 *
 * {@link FakeOpa.delay} makes it slow, {@link FakeOpa.answer} forces an answer (500, a
 * malformed body, ...). Every request is recorded.
 */
export class FakeOpa {
  readonly requests: RecordedRequest[] = [];
  #policies = new Map<string, FakePolicy>();
  #token?: string;
  #decisionIds: boolean;
  #delayMs = 0;
  #forced?: FakeOpaAnswer;
  #timers = new Set<NodeJS.Timeout>();
  #server: Server;
  #url = '';

  static async start(options: FakeOpaOptions = {}): Promise<FakeOpa> {
    const fake = new FakeOpa(options);
    await new Promise<void>(resolve =>
      fake.#server.listen(0, '127.0.0.1', resolve),
    );
    const { port } = fake.#server.address() as AddressInfo;
    fake.#url = `http://127.0.0.1:${port}`;
    return fake;
  }

  private constructor(options: FakeOpaOptions) {
    for (const [path, policy] of Object.entries(options.policies ?? {})) {
      this.setPolicy(path, policy);
    }
    this.#token = options.token;
    this.#decisionIds = options.decisionIds ?? true;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(error => {
        if (!res.headersSent) {
          this.#send(res, 500, { code: 'internal_error', message: `${error}` });
        }
      });
    });
  }

  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return this.#url;
  }

  /** Loads (or replaces) the policy of a package. */
  setPolicy(path: string, policy: FakePolicy) {
    this.#policies.set(path.replace(/^\/+|\/+$/g, ''), policy);
  }

  /** Makes every following answer wait this long; 0 to answer at once again. */
  delay(ms: number) {
    this.#delayMs = ms;
  }

  /** Answers every following request with this instead of evaluating; `undefined` to stop. */
  answer(forced: FakeOpaAnswer | undefined) {
    this.#forced = forced;
  }

  async stop() {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>(resolve => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: any = text || undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // kept as text
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    this.requests.push({
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
    });

    if (this.#delayMs > 0) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, this.#delayMs);
        this.#timers.add(timer);
      });
      if (res.destroyed) return;
    }

    if (this.#forced) {
      this.#send(res, this.#forced.status, this.#forced.body);
      return;
    }

    try {
      this.#send(res, 200, this.#query(req, path, text));
    } catch (error) {
      if (error instanceof OpaError) {
        this.#send(res, error.status, {
          code: error.code,
          message: error.message,
        });
      } else if (error === pageNotFound) {
        this.#send(res, 404, '404 page not found\n');
      } else {
        throw error;
      }
    }
  }

  #query(req: IncomingMessage, path: string, text: string) {
    const match = /^\/v1\/data(?:\/(.*))?$/.exec(path);
    if (req.method !== 'POST' || !match) {
      throw pageNotFound;
    }
    if (
      this.#token !== undefined &&
      req.headers.authorization !== `Bearer ${this.#token}`
    ) {
      throw new OpaError(
        401,
        'unauthorized',
        'request rejected by administrative policy',
      );
    }
    let request: unknown = {};
    if (text.trim()) {
      try {
        request = JSON.parse(text);
      } catch (error) {
        throw new OpaError(
          400,
          'invalid_parameter',
          `body contains malformed input document: ${(error as Error).message}`,
        );
      }
    }
    const hasInput = isObject(request) && 'input' in request;
    const input = hasInput ? (request as { input: unknown }).input : undefined;

    const dataPath = (match[1] ?? '').split('/').filter(Boolean);
    let result: unknown;
    try {
      result = this.#document(dataPath, input);
    } catch (error) {
      throw new OpaError(500, 'internal_error', `${error}`);
    }

    return {
      ...(result !== undefined && { result }),
      ...(this.#decisionIds && { decision_id: randomUUID() }),
      ...(!hasInput && {
        warning: {
          code: 'api_usage_warning',
          message: "'input' key missing from the request",
        },
      }),
    };
  }

  /** The document at a Data API path: inside a package, the package, or its parents. */
  #document(path: string[], input: unknown): unknown {
    for (const [pkg, policy] of this.#policies) {
      const pkgPath = pkg.split('/');
      const inside = pkgPath.every((segment, i) => path[i] === segment);
      if (inside) {
        // JSON round trip: OPA answers JSON, so functions and undefined members disappear.
        const document = policy(input);
        let value: unknown =
          document === undefined
            ? undefined
            : JSON.parse(JSON.stringify(document));
        for (const key of path.slice(pkgPath.length)) {
          value = isObject(value) ? value[key] : undefined;
        }
        return value;
      }
    }
    // A parent of packages: the object of the packages below it.
    let parent: Record<string, unknown> | undefined;
    for (const pkg of this.#policies.keys()) {
      const pkgPath = pkg.split('/');
      if (
        pkgPath.length > path.length &&
        path.every((segment, i) => pkgPath[i] === segment)
      ) {
        parent ??= {};
        let node = parent;
        for (const segment of pkgPath.slice(path.length, -1)) {
          node[segment] ??= {};
          node = node[segment] as Record<string, unknown>;
        }
        node[pkgPath[pkgPath.length - 1]] = this.#document(pkgPath, input);
      }
    }
    return parent;
  }

  #send(res: ServerResponse, status: number, body: unknown) {
    if (res.destroyed) return;
    const isText = typeof body === 'string';
    res.writeHead(status, {
      'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json',
    });
    res.end(isText ? body : JSON.stringify(body));
  }
}
