import {
  AuthService,
  DiscoveryService,
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import {
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { EventsService } from '@backstage/plugin-events-node';
import { createIdpClient, IdpClient } from '@idp-multicloud/sdk';
import { LOCATION_PREFIX, resourceToEntity } from './resourceToEntity';

/**
 * The events topic the control plane publishes resource changes on.
 * @public
 */
export const RESOURCES_TOPIC = 'control-plane.resources';

/**
 * Publishes every live control plane resource as a catalog `Resource` entity, and removes
 * the entities of deleted ones (a full mutation each time). Refreshes on a schedule and at
 * once when the control plane announces a change on the events service.
 * @public
 */
export class ControlPlaneEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private pending?: Promise<void>;
  private again = false;

  constructor(
    private readonly options: {
      client: IdpClient;
      logger: LoggerService;
      taskRunner: SchedulerServiceTaskRunner;
      events?: EventsService;
    },
  ) {}

  /** A provider reaching the control plane with the catalog's own service credentials. */
  static create(options: {
    discovery: DiscoveryService;
    auth: AuthService;
    logger: LoggerService;
    taskRunner: SchedulerServiceTaskRunner;
    events?: EventsService;
  }): ControlPlaneEntityProvider {
    const { auth } = options;
    const client = createIdpClient({
      discoveryApi: options.discovery,
      token: async () =>
        (
          await auth.getPluginRequestToken({
            onBehalfOf: await auth.getOwnServiceCredentials(),
            targetPluginId: 'control-plane',
          })
        ).token,
    });
    return new ControlPlaneEntityProvider({ ...options, client });
  }

  getProviderName(): string {
    return 'control-plane';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.taskRunner.run({
      id: 'control-plane-entity-provider:refresh',
      fn: () => this.refresh(),
    });
    await this.options.events?.subscribe({
      id: 'catalog-control-plane-entity-provider',
      topics: [RESOURCES_TOPIC],
      onEvent: () => this.refresh(),
    });
  }

  /** Reads every resource and replaces the provider's entities; coalesces overlapping calls. */
  refresh(): Promise<void> {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = (async () => {
      do {
        this.again = false;
        await this.refreshOnce();
      } while (this.again);
    })().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refreshOnce(): Promise<void> {
    if (!this.connection) {
      throw new Error('ControlPlaneEntityProvider is not connected');
    }
    try {
      const entities = [];
      for await (const resource of this.options.client.resources.listAll({
        limit: 500,
      })) {
        const entity = resourceToEntity(resource);
        entities.push({
          entity,
          locationKey: `${LOCATION_PREFIX}${resource.ref}`,
        });
      }
      await this.connection.applyMutation({ type: 'full', entities });
      this.options.logger.debug(
        `published ${entities.length} control plane resources`,
      );
    } catch (error) {
      this.options.logger.warn(
        `could not read control plane resources: ${
          (error as Error)?.message ?? error
        }`,
      );
    }
  }
}
