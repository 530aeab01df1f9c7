import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { FluxKustomization } from './verdict';
import { HOLD_ANNOTATION } from './bootstrap';

const GROUP = 'kustomize.toolkit.fluxcd.io';
const VERSION = 'v1';
const PLURAL = 'kustomizations';
/** The field manager of the control plane's holds on Kustomizations. */
const FIELD_MANAGER = 'idp-control-plane-hold';

/** How to reach the API server of the cluster Flux runs on. */
export interface FluxClientOptions {
  url: string;
  token: string;
  caData?: string;
  skipTLSVerify?: boolean;
  namespace: string;
}

/**
 * Reads Flux Kustomizations through the Kubernetes API (`CustomObjectsApi`), and holds one
 * (`spec.suspend`, what `flux suspend kustomization` sets) by server-side apply under its own
 * field manager, so that releasing the hold gives the field back without touching others'.
 */
export class FluxClient {
  readonly #api: CustomObjectsApi;

  constructor(private readonly options: FluxClientOptions) {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'flux',
          server: options.url.replace(/\/+$/, ''),
          caData: options.caData,
          skipTLSVerify: options.skipTLSVerify ?? false,
        },
      ],
      users: [{ name: 'flux', token: options.token }],
      contexts: [{ name: 'flux', cluster: 'flux', user: 'flux' }],
      currentContext: 'flux',
    });
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  /** The Kustomization `name`; undefined when absent. */
  async get(name: string): Promise<FluxKustomization | undefined> {
    try {
      return (await this.#api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.options.namespace,
        plural: PLURAL,
        name,
      })) as FluxKustomization;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  /**
   * Holds the Kustomization `name` for `holders` (the deployments whose rollouts hold it):
   * suspended, with them listed in its {@link HOLD_ANNOTATION}, while there are any; with
   * none, both fields go back to what others set (the hold's field manager stops owning them).
   */
  async hold(name: string, holders: string[]): Promise<void> {
    await this.#api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: this.options.namespace,
        plural: PLURAL,
        name,
        fieldManager: FIELD_MANAGER,
        force: true,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Kustomization',
          metadata: {
            name,
            namespace: this.options.namespace,
            ...(holders.length
              ? { annotations: { [HOLD_ANNOTATION]: holders.join(',') } }
              : {}),
          },
          ...(holders.length ? { spec: { suspend: true } } : {}),
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }
}
