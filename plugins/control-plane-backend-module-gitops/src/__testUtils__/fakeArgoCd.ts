import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

type Obj = Record<string, any>;

/** One request the fake received. */
export interface ArgoRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  body?: any;
}

/** RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return patch;
  }
  const result: Obj =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...target }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Fills an ApplicationSet template's Go template parameters of the git directory generator. */
function instantiate(value: any, params: Map<string, string>): any {
  if (typeof value === 'string') {
    return value.replace(/\{\{\s*\.([a-zA-Z.]+)\s*\}\}/g, (_, key) => {
      const param = params.get(key);
      if (param === undefined) {
        // missingkey=error, as the generated ApplicationSet asks
        throw new Error(`map has no entry for key ${key}`);
      }
      return param;
    });
  }
  if (Array.isArray(value)) return value.map(v => instantiate(v, params));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, instantiate(v, params)]),
    );
  }
  return value;
}

/**
 * A local HTTP server that answers like Argo CD's API server for the calls the control plane
 * makes (`/api/v1/applications`), with a bearer token:
 *
 * - `GET /api/v1/applications` (`selector` an equality label selector): `{ items }`, where
 *   `items` is `null` when there are none, as Argo CD's gRPC gateway answers an empty list;
 * - `GET /api/v1/applications/{name}`: the Application, or 403 `permission denied` when it does
 *   not exist (Argo CD does not say whether an application it will not show exists);
 * - `PATCH /api/v1/applications/{name}` with `{ name, patch, patchType }`: a `merge` patch
 *   applied to the Application (other patch types answer 400, as this fake does not do them);
 * - no or a wrong token: 401 `no session information`.
 *
 * Errors are `{ error, code, message }` with gRPC codes. The tests play Argo CD's controllers:
 * {@link FakeArgoCd.generate} does what the ApplicationSet controller does for a cluster
 * folder, {@link FakeArgoCd.report} what the application controller reports after comparing.
 */
export class FakeArgoCd {
  readonly requests: ArgoRequest[] = [];
  /**
   * What the repo server resolves an Application's target revision to (the deploy branch's
   * head commit): the revision a report is at unless it names one.
   */
  resolveRevision: () => string = () => {
    throw new Error('FakeArgoCd.resolveRevision is not set');
  };
  readonly #apps = new Map<string, Obj>();
  readonly #server: Server;

  private constructor(private readonly token: string) {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(error => {
        this.#send(res, 500, {
          error: String(error),
          code: 13,
          message: String(error),
        });
      });
    });
  }

  static async start(options: { token: string }): Promise<FakeArgoCd> {
    const fake = new FakeArgoCd(options.token);
    await new Promise<void>(resolve =>
      fake.#server.listen(0, '127.0.0.1', resolve),
    );
    return fake;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop() {
    this.#server.closeAllConnections();
    await new Promise(resolve => this.#server.close(resolve));
  }

  application(name: string): Obj | undefined {
    const app = this.#apps.get(name);
    return app && structuredClone(app);
  }

  /**
   * What the ApplicationSet controller does for the cluster folder `clusters/<cluster>`: the
   * Application from the set's template, its `{{.path.*}}` parameters filled in. An
   * Application that exists keeps what the set says to ignore or preserve.
   */
  generate(applicationSet: Obj, cluster: string): Obj {
    const template = applicationSet.spec.template;
    const app = instantiate(
      template,
      new Map([
        ['path.path', `clusters/${cluster}`],
        ['path.basename', cluster],
      ]),
    );
    const name = app.metadata.name;
    const existing = this.#apps.get(name);
    if (existing) {
      for (const ignore of applicationSet.spec.ignoreApplicationDifferences ??
        []) {
        for (const pointer of ignore.jsonPointers ?? []) {
          if (pointer === '/spec/syncPolicy') {
            app.spec.syncPolicy = existing.spec?.syncPolicy;
          }
        }
      }
      for (const key of applicationSet.spec.preservedFields?.annotations ??
        []) {
        const value = existing.metadata.annotations?.[key];
        if (value !== undefined) {
          app.metadata.annotations = {
            ...app.metadata.annotations,
            [key]: value,
          };
        }
      }
    }
    const stored = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      ...app,
      metadata: {
        ...app.metadata,
        namespace: applicationSet.metadata.namespace,
      },
      status: existing?.status ?? {
        sync: { status: 'Unknown' },
        health: { status: 'Missing' },
      },
    };
    this.#apps.set(name, stored);
    return structuredClone(stored);
  }

  /**
   * What the application controller reports after comparing the Application with its
   * source: every object of `objects` with the sync status and health given (the app's own
   * status the worst of them), at `revision` (by default what the branch resolves to now).
   */
  report(
    name: string,
    objects: Obj[],
    state: {
      sync: 'Synced' | 'OutOfSync';
      health: 'Healthy' | 'Progressing' | 'Degraded' | 'Missing';
      revision?: string;
      message?: string;
    },
  ) {
    const app = this.#apps.get(name);
    if (!app) throw new Error(`no application ${name}`);
    const group = (apiVersion: string) =>
      apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    app.status = {
      sync: {
        status: state.sync,
        revision: state.revision ?? this.resolveRevision(),
      },
      health: {
        status: state.health,
        ...(state.message ? { message: state.message } : {}),
      },
      resources: objects.map(o => ({
        group: group(o.apiVersion),
        version: o.apiVersion.split('/').pop(),
        kind: o.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
        status: state.sync,
        // Argo CD assesses the health of the kinds it knows (NetworkPolicy has none)
        ...(o.kind === 'NetworkPolicy'
          ? {}
          : {
              health: {
                status: state.health,
                ...(state.message ? { message: state.message } : {}),
              },
            }),
      })),
      reconciledAt: new Date().toISOString(),
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: ArgoRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      ...(text ? { body: JSON.parse(text) } : {}),
    };
    this.requests.push(request);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.#send(res, 401, {
        error: 'no session information',
        code: 16,
        message: 'no session information',
      });
      return;
    }
    if (url.pathname === '/api/v1/applications' && req.method === 'GET') {
      const selector = url.searchParams.get('selector');
      const wanted = (selector ? selector.split(',') : []).map(s =>
        s.split('='),
      );
      const items = [...this.#apps.values()].filter(app =>
        wanted.every(([k, v]) => app.metadata.labels?.[k] === v),
      );
      this.#send(res, 200, {
        metadata: { resourceVersion: '1' },
        items: items.length ? items : null,
      });
      return;
    }
    const match = /^\/api\/v1\/applications\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      this.#send(res, 404, {
        error: 'Not Found',
        code: 5,
        message: 'Not Found',
      });
      return;
    }
    const name = decodeURIComponent(match[1]);
    const app = this.#apps.get(name);
    if (!app) {
      this.#send(res, 403, {
        error: 'permission denied',
        code: 7,
        message: 'permission denied',
      });
      return;
    }
    if (req.method === 'GET') {
      this.#send(res, 200, app);
      return;
    }
    if (req.method === 'PATCH') {
      const body = request.body ?? {};
      if (body.patchType !== 'merge') {
        this.#send(res, 400, {
          error: `Patch type '${body.patchType}' is not supported`,
          code: 3,
          message: `Patch type '${body.patchType}' is not supported`,
        });
        return;
      }
      const patched = mergePatch(app, JSON.parse(body.patch));
      this.#apps.set(name, patched);
      this.#send(res, 200, patched);
      return;
    }
    this.#send(res, 405, {
      error: 'Method Not Allowed',
      code: 12,
      message: 'Method Not Allowed',
    });
  }

  #send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
