import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

/**
 * A kind the fake serves. All kinds are namespaced.
 */
export interface FakeKind {
  apiVersion: string;
  kind: string;
  plural: string;
}

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

type Obj = Record<string, any>;

/** One change of an object, as a watch reports it. */
interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: number;
  object: Obj;
}

interface Watcher {
  kind: FakeKind;
  namespace?: string;
  query: Record<string, string>;
  res: ServerResponse;
}

interface Stored {
  object: Obj;
  /** Field manager → the leaf paths it owns (JSON-encoded path arrays). */
  owners: Map<string, Set<string>>;
}

/** The kinds the fake serves unless told otherwise: the claims, NetworkPolicy, DNSEndpoint, Secret. */
export const defaultFakeKinds: FakeKind[] = [
  {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'MySQLInstance',
    plural: 'mysqlinstances',
  },
  {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'PostgreSQLInstance',
    plural: 'postgresqlinstances',
  },
  {
    apiVersion: 'cache.idp.multicloud/v1alpha1',
    kind: 'RedisCache',
    plural: 'rediscaches',
  },
  {
    apiVersion: 'messaging.idp.multicloud/v1alpha1',
    kind: 'KafkaCluster',
    plural: 'kafkaclusters',
  },
  {
    apiVersion: 'storage.idp.multicloud/v1alpha1',
    kind: 'Bucket',
    plural: 'buckets',
  },
  {
    apiVersion: 'apps.idp.multicloud/v1alpha1',
    kind: 'WebApp',
    plural: 'webapps',
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
  },
  {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    plural: 'dnsendpoints',
  },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
];

const reasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The watch event of a version no longer in the history. */
const expired = (from: number, compactedTo: number) => ({
  type: 'ERROR',
  object: {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `too old resource version: ${from} (${compactedTo})`,
    reason: 'Expired',
    code: 410,
  },
});

const isWatch = (query: Record<string, string>) =>
  query.watch === 'true' || query.watch === '1';

/** What the API server answers for a path it does not serve. */
const pageNotFound = () =>
  new ApiError(404, 'the server could not find the requested resource');

/** A deep copy (JSON: objects are JSON anyway, and `structuredClone` crosses jest's realms). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** The paths of the leaves of `value`; arrays are atomic, as in a list without merge keys. */
function leafPaths(value: unknown, prefix: string[] = []): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length > 0) {
      return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    }
  }
  return [JSON.stringify(prefix)];
}

function getPath(object: Obj, path: string[]): unknown {
  return path.reduce<any>(
    (o, k) => (o === undefined ? undefined : o[k]),
    object,
  );
}

function setPath(object: Obj, path: string[], value: unknown) {
  let o = object;
  for (const k of path.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object' || Array.isArray(o[k])) o[k] = {};
    o = o[k];
  }
  o[path[path.length - 1]] = clone(value);
}

/** Removes a leaf and the objects it leaves empty. */
function deletePath(object: Obj, path: string[]) {
  const parents: Obj[] = [];
  let o: any = object;
  for (const k of path.slice(0, -1)) {
    if (!o || typeof o !== 'object') return;
    parents.push(o);
    o = o[k];
  }
  if (!o || typeof o !== 'object') return;
  delete o[path[path.length - 1]];
  for (let i = parents.length - 1; i >= 0; i--) {
    const child = parents[i][path[i]];
    if (Object.keys(child).length > 0 || (i === 0 && path[0] === 'metadata')) {
      break;
    }
    delete parents[i][path[i]];
  }
}

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
  /** Every change, oldest first, since the last {@link FakeKubernetes.compact}. */
  #history: WatchEvent[] = [];
  /** Versions at or below this one are no longer in the history. */
  #compactedTo = 0;
  #watchers = new Set<Watcher>();
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
    for (const watcher of this.#watchers) watcher.res.end();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise(resolve => this.#server.close(resolve));
  }

  /**
   * Forgets the history of changes, as etcd compaction does: a watch from an older version
   * answers 410 Gone, and the client has to list again.
   */
  compact() {
    this.#compactedTo = this.#resourceVersion;
    this.#history = [];
  }

  /**
   * Ends every open watch with an `ERROR` event carrying a 410 `Status`, and compacts the
   * history, as an API server whose watch cache fell behind does.
   */
  expireWatches() {
    this.compact();
    for (const watcher of this.#watchers) {
      watcher.res.end(`${JSON.stringify(expired(0, this.#compactedTo))}\n`);
    }
    this.#watchers.clear();
  }

  /** Watches open now. */
  get watches(): number {
    return this.#watchers.size;
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
    this.#emit('MODIFIED', stored.object);
  }

  /** Stores an object as if someone else created it, e.g. a secret written by a provider. */
  put(object: Obj) {
    const { namespace, name } = object.metadata;
    const key = this.#keyOf(object.apiVersion, object.kind, namespace, name);
    const stored = { object: clone(object), owners: new Map() };
    this.#initMetadata(stored.object);
    this.#objects.set(key, stored);
    this.#emit('ADDED', stored.object);
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
    this.#emit('DELETED', object);
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

  /** Records a change and tells the watches it matches. */
  #emit(type: WatchEvent['type'], object: Obj) {
    const event: WatchEvent = {
      type,
      resourceVersion: Number(object.metadata.resourceVersion),
      object: clone(object),
    };
    this.#history.push(event);
    for (const watcher of this.#watchers) {
      if (this.#matches(watcher, event.object)) {
        watcher.res.write(
          `${JSON.stringify({ type, object: event.object })}\n`,
        );
      }
    }
  }

  #matches(
    w: { kind: FakeKind; namespace?: string; query: Record<string, string> },
    o: Obj,
  ): boolean {
    const labels = (w.query.labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map(term => term.split('='));
    const fields = (w.query.fieldSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map(term => term.split('='));
    const field = (path: string) =>
      path === 'metadata.name' || path === 'metadata.namespace'
        ? o.metadata[path.slice('metadata.'.length)]
        : undefined;
    return (
      o.kind === w.kind.kind &&
      o.apiVersion === w.kind.apiVersion &&
      (w.namespace === undefined || o.metadata.namespace === w.namespace) &&
      labels.every(([k, v]) => o.metadata.labels?.[k] === v) &&
      fields.every(([k, v]) => field(k) === v)
    );
  }

  /** Streams a watch until the client goes away or the fake stops. */
  #watch(
    kind: FakeKind,
    namespace: string | undefined,
    query: Record<string, string>,
    res: ServerResponse,
  ) {
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders(); // as the API server does: the client learns at once that it watches
    const from = Number(query.resourceVersion ?? this.#resourceVersion);
    const watcher: Watcher = { kind, namespace, query, res };
    if (from < this.#compactedTo) {
      res.end(`${JSON.stringify(expired(from, this.#compactedTo))}\n`);
      return;
    }
    for (const event of this.#history) {
      if (
        event.resourceVersion > from &&
        this.#matches(watcher, event.object)
      ) {
        res.write(
          `${JSON.stringify({ type: event.type, object: event.object })}\n`,
        );
      }
    }
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
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
        const { kind, namespace } = (body as { watch: Watcher }).watch;
        this.#watch(kind, namespace, recorded.query, res);
        return;
      }
      send(code, body);
    } catch (caught) {
      const error =
        caught instanceof ApiError ? caught : new ApiError(500, String(caught));
      send(
        error.code,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: error.message,
          reason: reasons[error.code] ?? 'Unknown',
          code: error.code,
        },
        error.headers,
      );
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
      return [200, this.#discovery(apiVersion, kinds)];
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

  #discovery(apiVersion: string, kinds: FakeKind[]) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: apiVersion,
      resources: kinds.map(k => ({
        name: k.plural,
        singularName: k.kind.toLowerCase(),
        namespaced: true,
        kind: k.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
    };
  }

  #notFound(kind: FakeKind, name: string): ApiError {
    const group = kind.apiVersion.includes('/')
      ? `.${kind.apiVersion.split('/')[0]}`
      : '';
    return new ApiError(404, `${kind.plural}${group} "${name}" not found`);
  }

  #getOrThrow(kind: FakeKind, namespace: string, name: string): Stored {
    const stored = this.#objects.get(this.#key(kind, namespace, name));
    if (!stored) throw this.#notFound(kind, name);
    return stored;
  }

  #list(
    kind: FakeKind,
    namespace: string | undefined,
    query: Record<string, string>,
  ) {
    const items = [...this.#objects.values()]
      .map(s => s.object)
      .filter(o => this.#matches({ kind, namespace, query }, o));
    return {
      apiVersion: kind.apiVersion,
      kind: `${kind.kind}List`,
      metadata: { resourceVersion: String(this.#resourceVersion) },
      items,
    };
  }

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

    // what the manager applies, without identity and status
    const applied = clone(body);
    delete applied.apiVersion;
    delete applied.kind;
    delete applied.status;
    delete applied.metadata.name;
    delete applied.metadata.namespace;
    const paths = leafPaths(applied).filter(
      p => p !== '[]' && p !== '["metadata"]',
    );

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
    const { object, owners } = stored;
    const before = clone(object);

    const conflicts: string[] = [];
    for (const [other, owned] of owners) {
      if (other === manager) continue;
      for (const p of paths.filter(q => owned.has(q))) {
        const path = JSON.parse(p);
        if (isDeepStrictEqual(getPath(object, path), getPath(applied, path))) {
          continue;
        }
        if (req.query.force === 'true') {
          owned.delete(p);
        } else {
          conflicts.push(`conflict with "${other}": .${path.join('.')}`);
        }
      }
    }
    if (conflicts.length > 0) {
      const list = conflicts.join(', ');
      throw new ApiError(
        409,
        `Apply failed with ${conflicts.length} conflict(s): ${list}`,
      );
    }

    // fields the manager no longer applies, and nobody else owns, go
    for (const p of owners.get(manager) ?? []) {
      const ownedByOthers = [...owners].some(
        ([m, o]) => m !== manager && o.has(p),
      );
      if (!paths.includes(p) && !ownedByOthers) {
        deletePath(object, JSON.parse(p));
      }
    }
    for (const p of paths) {
      setPath(object, JSON.parse(p), getPath(applied, JSON.parse(p)));
    }
    owners.set(manager, new Set(paths));

    if (created) {
      this.#emit('ADDED', object);
      return [201, object];
    }
    if (!isDeepStrictEqual(before, object)) {
      if (!isDeepStrictEqual(before.spec, object.spec)) {
        object.metadata.generation += 1;
      }
      this.#bump(object);
      this.#emit('MODIFIED', object);
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
        this.#emit('MODIFIED', stored.object);
      }
      return [202, stored.object];
    }
    this.#objects.delete(key);
    this.#bump(stored.object);
    this.#emit('DELETED', stored.object);
    return [200, stored.object];
  }
}
