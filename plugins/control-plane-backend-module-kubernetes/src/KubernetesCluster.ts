import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createConfiguration,
  KubeConfig,
  KubernetesListObject,
  KubernetesObjectApi,
  Middleware,
  PatchStrategy,
  ServerConfiguration,
} from '@kubernetes/client-node';
import {
  DriverCallContext,
  DriverError,
} from '@idp-multicloud/plugin-control-plane-node';
import { KubeObject } from './claims';
import { KubernetesClusterConfig } from './config';
import { isNotFound, toDriverError } from './errors';
import { loadKubeConfig } from './kubeconfig';
import { describeRef, ObjectRef } from './objectRef';
import { watchCollection } from './watch';

/**
 * The abort signal of the driver call in progress. `KubernetesObjectApi` takes no per-call
 * options, so a middleware set up with each client reads the signal from here.
 */
const callSignal = new AsyncLocalStorage<AbortSignal>();

const abortMiddleware: Middleware = {
  async pre(request) {
    const signal = callSignal.getStore();
    if (signal) {
      request.setSignal(signal);
    }
    return request;
  },
  async post(response) {
    return response;
  },
};

/** The object API, telling also the collection path of a kind (for watches). */
class ObjectApi extends KubernetesObjectApi {
  /** `/apis/<group>/<version>/namespaces/<namespace>/<plural>`, from discovery (cached). */
  async collectionPath(
    apiVersion: string,
    kind: string,
    namespace: string,
  ): Promise<string> {
    const found = await this.resource(apiVersion, kind);
    if (!found) {
      throw new DriverError(
        `The cluster does not serve ${apiVersion} ${kind}`,
        { retryable: false, code: 'NotFound' },
      );
    }
    const base = apiVersion.includes('/')
      ? `/apis/${apiVersion}`
      : `/api/${apiVersion}`;
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${found.name}`;
  }
}

function createObjectApi(kc: KubeConfig): ObjectApi {
  return new ObjectApi(
    createConfiguration({
      baseServer: new ServerConfiguration(kc.getCurrentCluster()!.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [abortMiddleware],
    }),
  );
}

/**
 * One configured cluster, and the requests the driver makes on it. Each runs with the driver
 * call's abort signal, and whatever it throws becomes a `DriverError` naming the cluster
 * (retryable or not, see `toDriverError`).
 */
export class KubernetesCluster {
  /** The cluster's id, as the control plane names it in a target. */
  readonly name: string;
  readonly #kc: KubeConfig;
  readonly #api: ObjectApi;

  /** Reads the cluster's credentials now, so that a misconfiguration throws at once. */
  constructor(config: KubernetesClusterConfig) {
    this.name = config.name;
    this.#kc = loadKubeConfig(config);
    this.#api = createObjectApi(this.#kc);
  }

  /** Server-side apply: creates the object or updates the fields `fieldManager` owns. */
  async apply(
    ref: ObjectRef,
    object: object,
    fieldManager: string,
    ctx: DriverCallContext,
  ): Promise<KubeObject> {
    const applied = await this.#call(ctx, `apply ${describeRef(ref)}`, api =>
      api.patch(
        object as KubeObject,
        undefined,
        undefined,
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
    ctx.logger.debug(`Applied ${describeRef(ref)}`, {
      cluster: this.name,
      fieldManager,
    });
    return applied;
  }

  /**
   * Reads an object; `undefined` when it is absent. A cluster that does not serve the object's
   * API group at all also answers 404 (at discovery), which reads as absent too.
   */
  async read(
    ref: ObjectRef,
    ctx: DriverCallContext,
  ): Promise<KubeObject | undefined> {
    return this.#call(ctx, `read ${describeRef(ref)}`, async api => {
      try {
        return await api.read<KubeObject>(ref);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  /** Deletes an object; deleting what is absent succeeds. */
  async delete(
    ref: ObjectRef,
    ctx: DriverCallContext,
    propagationPolicy?: 'Foreground',
  ): Promise<void> {
    await this.#call(ctx, `delete ${describeRef(ref)}`, async api => {
      try {
        await api.delete(
          ref,
          undefined,
          undefined,
          undefined,
          undefined,
          propagationPolicy,
        );
        ctx.logger.debug(`Deleted ${describeRef(ref)}`, {
          cluster: this.name,
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
  }

  /**
   * Lists the objects of `ref`'s kind in its namespace that `fieldSelector` selects, with the
   * collection's resource version (to watch from).
   */
  async list(
    ref: ObjectRef,
    fieldSelector: string,
    ctx: DriverCallContext,
  ): Promise<KubernetesListObject<KubeObject>> {
    return this.#call(ctx, `list ${describeRef(ref)}`, api =>
      api.list<KubeObject>(
        ref.apiVersion,
        ref.kind,
        ref.metadata.namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
      ),
    );
  }

  /** The path of the collection of `ref`'s kind in its namespace, from discovery. */
  async collectionPath(
    ref: ObjectRef,
    ctx: DriverCallContext,
  ): Promise<string> {
    return this.#call(ctx, `discover ${ref.kind}`, api =>
      api.collectionPath(ref.apiVersion, ref.kind, ref.metadata.namespace),
    );
  }

  /** Watches the collection at `path` (see {@link watchCollection}). */
  watch<T>(
    path: string,
    query: { fieldSelector: string; resourceVersion?: string },
    ctx: DriverCallContext,
    until: (type: string, object: KubeObject) => T | undefined,
  ): Promise<T | undefined> {
    const action = `watch ${path} on cluster ${this.name}`;
    return watchCollection(this.#kc, path, query, ctx.signal, action, until);
  }

  /** Runs `fn` with the object API and the call's abort signal; maps what it throws. */
  async #call<T>(
    ctx: DriverCallContext,
    action: string,
    fn: (api: ObjectApi) => Promise<T>,
  ): Promise<T> {
    try {
      return await callSignal.run(ctx.signal, () => fn(this.#api));
    } catch (error) {
      throw toDriverError(error, `${action} on cluster ${this.name}`);
    }
  }
}
