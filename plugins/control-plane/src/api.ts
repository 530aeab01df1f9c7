import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/frontend-plugin-api';
import { HealthResponse } from '@idp-multicloud/plugin-control-plane-common';
import { createIdpClient, IdpClient } from '@idp-multicloud/sdk';

/**
 * What the frontend asks of the control plane.
 * @public
 */
export interface ControlPlaneApi {
  /** The control plane's health: status, database client, migrations. */
  health(): Promise<HealthResponse>;
}

/**
 * The reference through which components reach the {@link ControlPlaneApi}.
 * @public
 */
export const controlPlaneApiRef = createApiRef<ControlPlaneApi>().with({
  id: 'plugin.control-plane.service',
});

/**
 * The default implementation: the SDK, reaching the backend through Backstage's discovery and
 * fetch APIs (which add the signed-in user's token).
 * @public
 */
export class ControlPlaneClient implements ControlPlaneApi {
  private readonly client: IdpClient;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.client = createIdpClient({
      discoveryApi: options.discoveryApi,
      fetch: request => options.fetchApi.fetch(request),
      // A page should show a failure within seconds, not after long backoffs.
      retry: { retries: 2, minDelayMs: 100, maxDelayMs: 1000 },
    });
  }

  /** {@inheritDoc ControlPlaneApi.health} */
  health(): Promise<HealthResponse> {
    return this.client.health();
  }
}
