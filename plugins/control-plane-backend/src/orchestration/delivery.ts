import { LoggerService } from '@backstage/backend-plugin-api';
import {
  DeliveredResource,
  DeliveryProvider,
  DeliveryStatus,
} from '@idp-multicloud/plugin-control-plane-node';
import { DesiredState } from '../gitops/DesiredState';
import { StateIndexer } from '../gitops/StateIndexer';
import { placedDriverView } from './driverAccess';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';

/** What a tool says of a resource's objects, or why it says nothing yet. */
export type DeliveryVerdict =
  | { status: DeliveryStatus; why?: undefined }
  | { status?: undefined; why: string };

/** One line on a verdict: the tool, its application, sync and health, and why. */
export function describeVerdict(verdict: DeliveryVerdict): string {
  const { status } = verdict;
  if (!status) return verdict.why;
  return `${status.tool} reports ${status.application} ${status.sync}, ${
    status.health
  }${status.message ? `: ${status.message}` : ''}`;
}

/**
 * The control plane's side of delivery through GitOps tools (a {@link DeliveryProvider} set by
 * a module, e.g. Argo CD and Flux): renders what runs on each cluster, asks for the tool's
 * verdict on a resource, and holds auto-sync during a rollout. Without a provider every call
 * does nothing. A failing tool is logged, never fatal: its verdict is then unknown.
 */
export class Delivery {
  /** The render running, and the one that will run after it (see {@link Delivery.render}). */
  #current?: Promise<void>;
  #next?: Promise<void>;

  constructor(
    private readonly options: {
      provider?: DeliveryProvider;
      resources: ResourceStore;
      indexer: StateIndexer;
      logger: LoggerService;
    },
  ) {}

  get enabled(): boolean {
    return Boolean(this.options.provider);
  }

  /** What the provider is told of a placed resource; undefined when it cannot be said. */
  deliveredResource(
    resource: ResourceRecord,
    desired: DesiredState,
  ): DeliveredResource | undefined {
    const view = placedDriverView(
      desired,
      resource,
      resource.status.generation,
    );
    if (!view) return undefined;
    const { params } = view.resource;
    const sizes = desired.product(
      resource.spec.product,
      resource.metadata.namespace,
    )?.spec.sizes;
    const size =
      typeof params.size === 'string' &&
      sizes &&
      Object.hasOwn(sizes, params.size)
        ? sizes[params.size]
        : undefined;
    return {
      dependsOn: resource.spec.dependsOn,
      ...(size ? { size } : {}),
      ...view,
    };
  }

  /**
   * Renders every placed resource that is not being deleted, at the indexed commit. The
   * provider commits only when something changed, so a pass with nothing new writes nothing.
   * A render reads the fleet as it starts: callers that arrive while one runs share the next
   * one (many creates waiting for delivery make one render, not one each).
   */
  render(): Promise<void> {
    this.#next ??= (this.#current ?? Promise.resolve()).then(() => {
      this.#next = undefined;
      this.#current = this.#renderNow().finally(() => {
        this.#current = undefined;
      });
      return this.#current;
    });
    return this.#next;
  }

  /** Whether a GitOps tool delivers a resource's objects where it is placed. */
  delivers(resource: ResourceRecord, desired: DesiredState): boolean {
    return Boolean(this.#deliveredByTool(resource, desired));
  }

  /** What the provider is told of a resource a tool delivers; undefined for the others. */
  #deliveredByTool(resource: ResourceRecord, desired: DesiredState) {
    const provider = this.options.provider;
    const item = provider && this.deliveredResource(resource, desired);
    return item && provider.delivers?.(item.resource, item.target) !== false
      ? item
      : undefined;
  }

  async #renderNow(): Promise<void> {
    const { provider, resources, indexer, logger } = this.options;
    if (!provider) return;
    const desired = await indexer.current();
    if (!desired.commit) return;
    const delivered: DeliveredResource[] = [];
    let cursor: string | undefined;
    do {
      const page = await resources.list({}, { limit: 500, cursor });
      for (const resource of page.items) {
        if (['DELETING', 'DELETED'].includes(resource.status.state)) continue;
        const item = this.deliveredResource(resource, desired);
        if (item) delivered.push(item);
      }
      cursor = page.nextCursor;
    } while (cursor);
    try {
      await provider.render({ commit: desired.commit, resources: delivered });
    } catch (error) {
      logger.warn(`could not render for delivery: ${error}`);
    }
  }

  /** The tool's verdict on a resource's rendered objects; undefined when unknown. */
  async statusOf(
    resource: ResourceRecord,
    desired?: DesiredState,
  ): Promise<DeliveryStatus | undefined> {
    const { provider, indexer, logger } = this.options;
    if (!provider) return undefined;
    const item = this.deliveredResource(
      resource,
      desired ?? (await indexer.current()),
    );
    if (!item) return undefined;
    try {
      return await provider.status(item.resource, item.target);
    } catch (error) {
      logger.warn(`could not read the delivery status: ${error}`, {
        resourceRef: resource.ref,
      });
      return undefined;
    }
  }

  /**
   * Whether the tool has applied a resource's rendered objects, for a saga that waits on it:
   * undefined when no tool delivers it (nothing to wait for); else the tool's verdict, or why
   * there is none yet (the tool does not report the objects, or could not be asked).
   */
  async verdict(
    resource: ResourceRecord,
    desired: DesiredState,
  ): Promise<DeliveryVerdict | undefined> {
    const item = this.#deliveredByTool(resource, desired);
    if (!item) return undefined;
    try {
      const status = await this.options.provider!.status(
        item.resource,
        item.target,
      );
      return status
        ? { status }
        : { why: `no tool reports its objects on ${item.target.cluster} yet` };
    } catch (error) {
      return { why: `the delivery tool could not be asked: ${error}` };
    }
  }

  /** Holds (or releases) auto-sync of what a rollout changes. */
  async hold(
    item: DeliveredResource,
    deploymentId: string,
    on: boolean,
  ): Promise<void> {
    const provider = this.options.provider;
    const call = on ? provider?.holdSync : provider?.releaseSync;
    await call?.call(provider, { ...item, deploymentId });
  }
}
