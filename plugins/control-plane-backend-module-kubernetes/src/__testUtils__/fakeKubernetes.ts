import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ApiError, notFound, pageNotFound, statusOf } from './apiStatus';
import { defaultFakeKinds, discovery, FakeKind } from './fakeKinds';
import { clone, Obj } from './jsonPaths';
import { Selection, selects } from './selectors';
import { serverSideApply, Stored } from './serverSideApply';
import { WatchCache } from './watchCache';

export { defaultFakeKinds } from './fakeKinds';
export type { FakeKind } from './fakeKinds';

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  authorization?: string;
  body?: any;
}

/** An answer to force on the next matching request(s), as a failing API server would give. */
export interface FakeFault {
  method?: string;
  /** Matches when the request path contains it. */
  path?: string;
  /** The HTTP status to answer, or `hang` to never answer (until the fake stops). */
  code: number | 'hang';
  message?: string;
  /** How many matching requests fail; 1 by default. */
  times?: number;
}

const isWatch = (query: Record<string, string>) =>
  query.watch === 'true' || query.watch === '1';

/**
 * A local HTTP server that answers like the Kubernetes API server, for the calls the driver
 * makes, through `@kubernetes/client-node`:
 *
 * - discovery (`GET /api/v1`, `GET /apis/<group>/<version>`) of the kinds it serves;
 * - server-side apply (`PATCH` with `application/apply-patch+yaml` and a `fieldManager`):
 *   create-or-update, tracking which manager owns which fields, so that fields a manager
 *   stops applying are removed and others' fields are kept; `force=true` takes conflicting
 *   fields over, without it a conflict answers 409. No-op applies keep the resourceVersion.
 *   Other patch types answer 415; `status` is ignored (a status subresource).
 * - `GET` of an object, `GET` of a collection (list, with an equality `labelSelector` and a
 *   `metadata.name` / `metadata.namespace` `fieldSelector`), and its watch (`watch=true`
 *   from a `resourceVersion`): a chunked stream of `ADDED`, `MODIFIED` and `DELETED` events,
 *   one JSON object a line, first those after the version asked for, then each change as it
 *   happens; a version older than the history kept ({@link FakeKubernetes.compact}) answers
 *   an `ERROR` event with a 410 `Status`, as the real API server does;
 * - `DELETE`: with `propagationPolicy=Foreground` the object is marked (`deletionTimestamp`,
 *   finalizer `foregroundDeletion`) and stays until {@link FakeKubernetes.finishDeletion}
 *   plays the garbage collector; any other policy removes it at once.
 *
 * Errors are `Status` objects, as the real API answers them. Objects are kept in memory.
 */
export class FakeKubernetes {
  readonly requests: RecordedRequest[] = [];
  #objects = new Map<string, Stored>();
  #faults: FakeFault[] = [];
  #resourceVersion = 1;
  #watches = new WatchCache();
  #server: Server;
  #kinds: FakeKind[];
  #token?: string;

  /** Starts a fake on a free port; with `token`, requests must carry it as a bearer token. */
  static async start(options: { token?: string; kinds?: FakeKind[] } = {}) {
    const fake = new FakeKubernetes(
      options.kinds ?? defaultFakeKinds,
      options.token,
    );
    await new Promise<void>(resolve =>
      fake.#server.listen(0, '127.0.0.1', resolve),
    );
    return fake;
  }

  private constructor(kinds: FakeKind[], token?: string) {
    this.#kinds = kinds;
    this.#token = token;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.#watches.close();
    this.#server.closeAllConnections();
    await new Promise(resolve => this.#server.close(resolve));
  }

  /**
   * Forgets the history of changes, as etcd compaction does: a watch from an older version
   * answers 410 Gone, and the client has to list again.
   */
  compact() {
    this.#watches.compact(this.#resourceVersion);
  }

  /**
   * Ends every open watch with an `ERROR` event carrying a 410 `Status`, and compacts the
   * history, as an API server whose watch cache fell behind does.
   */
  expireWatches() {
    this.#watches.expire(this.#resourceVersion);
  }

  /** Watches open now. */
  get watches(): number {
    return this.#watches.size;
  }

  /** Makes the next matching request(s) fail. */
  fail(fault: FakeFault) {
    this.#faults.push({ times: 1, ...fault });
  }

  /** The object stored under this apiVersion, kind, namespace and name. */
  get(apiVersion: string, kind: string, namespace: string, name: string) {
    const stored = this.#objects.get(
      this.#keyOf(apiVersion, kind, namespace, name),
    );
    return stored && clone(stored.object);
  }

  /** Sets an object's status, as its controller would. */
  setStatus(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
    status: Obj,
  ) {
    const stored = this.#objects.get(
      this.#keyOf(apiVersion, kind, namespace, name),
    );
    if (!stored) throw new Error(`no ${kind} ${namespace}/${name}`);
    stored.object.status = clone(status);
    this.#bump(stored.object);
    this.#watches.record('MODIFIED', stored.object);
  }

  /** Stores an object as if someone else created it, e.g. a secret written by a provider. */
  put(object: Obj) {
    const { namespace, name } = object.metadata;
    const key = this.#keyOf(object.apiVersion, object.kind, namespace, name);
    const stored = { object: clone(object), owners: new Map() };
    this.#initMetadata(stored.object);
    this.#objects.set(key, stored);
    this.#watches.record('ADDED', stored.object);
  }

  /** Completes a foreground deletion, as the garbage collector does once dependents are gone. */
  finishDeletion(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ) {
    const key = this.#keyOf(apiVersion, kind, namespace, name);
    if (!this.#objects.get(key)?.object.metadata.deletionTimestamp) {
      throw new Error(`${kind} ${namespace}/${name} is not being deleted`);
    }
    const { object } = this.#objects.get(key)!;
    this.#objects.delete(key);
    this.#bump(object);
    this.#watches.record('DELETED', object);
  }

  #keyOf(apiVersion: string, kind: string, namespace: string, name: string) {
    const found = this.#kinds.find(
      k => k.apiVersion === apiVersion && k.kind === kind,
    );
    if (!found) {
      throw new Error(`the fake does not serve ${apiVersion} ${kind}`);
    }
    return this.#key(found, namespace, name);
  }

  #key(kind: FakeKind, namespace: string, name: string) {
    return `${kind.apiVersion}/${kind.plural}/${namespace}/${name}`;
  }

  #bump(object: Obj) {
    this.#resourceVersion += 1;
    object.metadata.resourceVersion = String(this.#resourceVersion);
  }

  #initMetadata(object: Obj) {
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = new Date().toISOString();
    object.metadata.generation = 1;
    this.#bump(object);
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
    };
    this.requests.push(recorded);

    const send = (
      code: number,
      body: unknown,
      headers: Record<string, string> = {},
    ) => {
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      if (text) {
        try {
          recorded.body = JSON.parse(text);
        } catch {
          throw new ApiError(400, 'the fake understands JSON bodies only');
        }
      }
      const fault = this.#faults.find(
        f =>
          (!f.method || f.method === recorded.method) &&
          (!f.path || recorded.path.includes(f.path)),
      );
      if (fault) {
        fault.times! -= 1;
        if (fault.times! <= 0) {
          this.#faults.splice(this.#faults.indexOf(fault), 1);
        }
        if (fault.code === 'hang') return; // never answered; stop() closes it
        throw new ApiError(
          fault.code,
          fault.message ?? `injected ${fault.code}`,
          fault.code === 429 ? { 'retry-after': '1' } : {},
        );
      }
      if (
        this.#token &&
        req.headers.authorization !== `Bearer ${this.#token}`
      ) {
        throw new ApiError(401, 'Unauthorized');
      }
      const [code, body] = this.#route(recorded);
      if (code === 0) {
        const { kind, namespace } = (
          body as { watch: Omit<Selection, 'query'> }
        ).watch;
        this.#watches.open(
          { kind, namespace, query: recorded.query },
          res,
          this.#resourceVersion,
        );
        return;
      }
      send(code, body);
    } catch (caught) {
      const error =
        caught instanceof ApiError ? caught : new ApiError(500, String(caught));
      send(error.code, statusOf(error), error.headers);
    }
  }

  #route(req: RecordedRequest): [number, unknown] {
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    let apiVersion: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 2) {
      apiVersion = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      apiVersion = `${parts[1]}/${parts[2]}`;
      rest = parts.slice(3);
    } else {
      throw pageNotFound();
    }
    const kinds = this.#kinds.filter(k => k.apiVersion === apiVersion);
    if (kinds.length === 0) {
      throw pageNotFound();
    }
    if (rest.length === 0 && req.method === 'GET') {
      return [200, discovery(apiVersion, kinds)];
    }

    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const kind = kinds.find(k => k.plural === rest[0]);
    if (!kind || rest.length > 2) {
      throw pageNotFound();
    }
    const name = rest[1];
    if (name === undefined && req.method === 'GET' && isWatch(req.query)) {
      return [0, { watch: { kind, namespace } }];
    }
    if (name === undefined) {
      if (req.method !== 'GET') {
        throw new ApiError(
          405,
          `the fake does not implement ${req.method} on a collection`,
        );
      }
      return [200, this.#list(kind, namespace, req.query)];
    }
    if (namespace === undefined) {
      throw pageNotFound();
    }
    switch (req.method) {
      case 'GET':
        return [200, this.#getOrThrow(kind, namespace, name).object];
      case 'PATCH':
        return this.#apply(kind, namespace, name, req);
      case 'DELETE':
        return this.#delete(kind, namespace, name, req);
      default:
        throw new ApiError(405, `the fake does not implement ${req.method}`);
    }
  }

  #getOrThrow(kind: FakeKind, namespace: string, name: string): Stored {
    const stored = this.#objects.get(this.#key(kind, namespace, name));
    if (!stored) throw notFound(kind, name);
    return stored;
  }

  #list(
    kind: FakeKind,
    namespace: string | undefined,
    query: Record<string, string>,
  ) {
    const items = [...this.#objects.values()]
      .map(s => s.object)
      .filter(o => selects({ kind, namespace, query }, o));
    return {
      apiVersion: kind.apiVersion,
      kind: `${kind.kind}List`,
      metadata: { resourceVersion: String(this.#resourceVersion) },
      items,
    };
  }

  /** Server-side apply: checks the request as the API server does, then creates or merges. */
  #apply(
    kind: FakeKind,
    namespace: string,
    name: string,
    req: RecordedRequest,
  ): [number, Obj] {
    if (req.contentType !== 'application/apply-patch+yaml') {
      throw new ApiError(
        415,
        `the fake supports server-side apply only, not ${req.contentType}`,
      );
    }
    const manager = req.query.fieldManager;
    if (!manager) {
      throw new ApiError(
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    const body = req.body as Obj | undefined;
    if (body?.apiVersion !== kind.apiVersion || body?.kind !== kind.kind) {
      throw new ApiError(
        400,
        `the body is not a ${kind.apiVersion} ${kind.kind}`,
      );
    }
    if (body.metadata?.name !== name) {
      throw new ApiError(
        400,
        `the name of the object (${body.metadata?.name}) does not match the name on the URL (${name})`,
      );
    }
    if (body.metadata?.namespace && body.metadata.namespace !== namespace) {
      throw new ApiError(
        400,
        'the namespace of the object does not match the namespace on the URL',
      );
    }

    const key = this.#key(kind, namespace, name);
    let stored = this.#objects.get(key);
    const created = !stored;
    if (!stored) {
      const metadata = { name, namespace };
      stored = {
        object: { apiVersion: kind.apiVersion, kind: kind.kind, metadata },
        owners: new Map(),
      };
      this.#initMetadata(stored.object);
      this.#objects.set(key, stored);
    }
    const { object } = stored;
    const before = clone(object);
    serverSideApply(stored, body, manager, req.query.force === 'true');

    if (created) {
      this.#watches.record('ADDED', object);
      return [201, object];
    }
    if (!isDeepStrictEqual(before, object)) {
      if (!isDeepStrictEqual(before.spec, object.spec)) {
        object.metadata.generation += 1;
      }
      this.#bump(object);
      this.#watches.record('MODIFIED', object);
    }
    return [200, object];
  }

  #delete(
    kind: FakeKind,
    namespace: string,
    name: string,
    req: RecordedRequest,
  ): [number, Obj] {
    const key = this.#key(kind, namespace, name);
    const stored = this.#getOrThrow(kind, namespace, name);
    const policy = req.query.propagationPolicy ?? req.body?.propagationPolicy;
    if (policy === 'Foreground') {
      const metadata = stored.object.metadata;
      if (!metadata.deletionTimestamp) {
        metadata.deletionTimestamp = new Date().toISOString();
        metadata.finalizers = [
          ...(metadata.finalizers ?? []),
          'foregroundDeletion',
        ];
        this.#bump(stored.object);
        this.#watches.record('MODIFIED', stored.object);
      }
      return [202, stored.object];
    }
    this.#objects.delete(key);
    this.#bump(stored.object);
    this.#watches.record('DELETED', stored.object);
    return [200, stored.object];
  }
}
