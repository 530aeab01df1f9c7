import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/frontend-plugin-api';
import {
  DeploymentAction,
  HealthResponse,
  ResourceEvent,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  createIdpClient,
  IdpClient,
  IdpNotFoundError,
  Operation,
  Resource,
  Schemas,
} from '@idp-multicloud/sdk';
import {
  AuditQuery,
  CostEstimate,
  CostEstimateRequest,
  FleetCluster,
  FleetProvider,
  OperationType,
  PlacementExplanation,
  QuotaUsage,
  ResourceCost,
} from './types';

/**
 * Which resources to list: those owned by a team, or those serving a component or system.
 * @public
 */
export interface ResourceFilter {
  /** A group entity ref, e.g. `group:default/team-a`. */
  owner?: string;
  /** A component or system entity ref, e.g. `component:default/checkout`. */
  component?: string;
}

/**
 * What the frontend asks of the control plane.
 *
 * Calls to endpoints a backend may not serve yet (placement, cost, quota usage, price
 * estimates) resolve to `undefined` when the backend answers 404.
 * @public
 */
export interface ControlPlaneApi {
  /** The control plane's health: status, database client, migrations. */
  health(): Promise<HealthResponse>;

  /** Every resource matching the filter (all pages). */
  listResources(filter: ResourceFilter): Promise<Resource[]>;
  /** One resource as it is now, with what its GitOps tool reports (`status.delivery`). */
  resource(ref: string): Promise<Resource>;
  /** The resource's state transitions, oldest first. */
  history(ref: string): Promise<Schemas['ResourceHistory']>;
  /** The operations that acted on the resource. */
  operations(ref: string): Promise<Operation[]>;
  /** One operation with its steps and timeline. */
  operation(id: string): Promise<Operation>;
  /** The resource's events as they happen, until `signal` aborts. */
  events(ref: string, signal: AbortSignal): AsyncGenerator<ResourceEvent>;
  /** Why the resource was placed where it is; `undefined` when never placed or unavailable. */
  placement(ref: string): Promise<PlacementExplanation | undefined>;
  /** The resource's cost this month against its budget; `undefined` when unavailable. */
  cost(ref: string): Promise<ResourceCost | undefined>;
  /** Quota usage of every cell, team and namespace; `undefined` when unavailable. */
  quotaUsage(): Promise<QuotaUsage[] | undefined>;
  /** A monthly price estimate for a product; `undefined` when unavailable. */
  estimateCost(request: CostEstimateRequest): Promise<CostEstimate | undefined>;

  /** Starts an operation of the unified contract on a resource. */
  runOperation(
    ref: string,
    type: OperationType,
    params?: Record<string, unknown>,
  ): Promise<Operation>;
  /** Stops an operation in flight; what it did is undone. */
  cancelOperation(id: string): Promise<Operation>;
  /** Resumes the compensation of an operation parked as needs-attention. */
  retryOperation(id: string): Promise<Operation>;
  /** The resource's deployments, newest first (without the analysis samples). */
  deployments(ref: string): Promise<Schemas['Deployment'][]>;
  /** One deployment with its steps, weights and analysis measurements (with samples). */
  deployment(id: string): Promise<Schemas['Deployment']>;
  /**
   * Acts on a running deployment: promote (`full`: skip every step left), pause, resume,
   * abort or approve.
   */
  actOnDeployment(
    id: string,
    action: DeploymentAction,
    options?: { full?: boolean },
  ): Promise<Schemas['Deployment']>;
  /** Rolls the resource back to an earlier version that succeeded. */
  rollback(ref: string, toVersion: string): Promise<Resource>;
  /** Breaking changes of product definitions as applied, with their migration guides. */
  definitionChanges(): Promise<Schemas['DefinitionChange'][]>;
  /** Who uses a product, and its deprecations. */
  productUsage(product: string): Promise<Schemas['ProductUsage']>;
  /** A resource's changes in the state repository, newest first (`GET /changes`). */
  changes(ref: string): Promise<Schemas['Change'][]>;
  /**
   * Reverts one change of the state repository (`POST /changes/{sha}/revert`); throws
   * `IdpReviewRequiredError` when the revert needs review and was proposed instead.
   */
  revertChange(sha: string): Promise<Schemas['ChangeRevert']>;
  /** Which version runs where (for a component: `component:default/checkout`). */
  versions(query: {
    component?: string;
  }): Promise<Schemas['VersionList']['items']>;

  /** Lets the control plane try a failed resource again. */
  retryResource(ref: string): Promise<Resource>;
  /** Deletes a resource (dependents first when `cascade`). */
  deleteResource(
    ref: string,
    options?: { cascade?: boolean },
  ): Promise<Schemas['DeleteResourceResponse']>;

  products(): Promise<Schemas['Product'][]>;
  /** The definition of a product a project (a namespace) sees, each field with its origin. */
  projectProduct(
    project: string,
    id: string,
  ): Promise<Schemas['EffectiveDefinition']>;
  /** A project's compliance report: each rule, for the project and each resource. */
  projectCompliance(project: string): Promise<Schemas['ComplianceReport']>;
  tiers(): Promise<Schemas['Tier'][]>;
  cells(): Promise<Schemas['Cell'][]>;
  providers(): Promise<FleetProvider[]>;
  clusters(): Promise<FleetCluster[]>;
  /** A cluster's health score, its breakdown and its last 24 hours. */
  clusterHealth(name: string): Promise<Schemas['ClusterHealthHistory']>;
  /** Moves everything placed on a cluster elsewhere in its cell (platform engineers). */
  drainCluster(name: string): Promise<Schemas['ClusterOperation'] | undefined>;
  /** Returns a drained cluster to service (platform engineers). */
  uncordonCluster(name: string): Promise<void>;
  /** Deletes an empty cluster (platform engineers). */
  decommissionCluster(
    name: string,
  ): Promise<Schemas['ClusterOperation'] | undefined>;

  /** A page of the audit log, newest first. */
  audit(query?: AuditQuery): Promise<Schemas['AuditPage']>;
  /** Walks the audit log's hash chain. */
  verifyAudit(): Promise<Schemas['AuditVerification']>;
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
      fetch: (url, init) => options.fetchApi.fetch(url, init),
      // A page should show a failure within seconds, not after long backoffs.
      retry: { retries: 2, minDelayMs: 100, maxDelayMs: 1000 },
    });
  }

  health(): Promise<HealthResponse> {
    return this.client.health();
  }

  async listResources(filter: ResourceFilter): Promise<Resource[]> {
    const items: Resource[] = [];
    for await (const resource of this.client.resources.listAll({
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.component ? { component: filter.component } : {}),
    })) {
      items.push(resource);
    }
    return items;
  }

  resource(ref: string): Promise<Resource> {
    return this.client.resources.get(ref);
  }

  history(ref: string) {
    return this.client.resources.history(ref);
  }

  operations(ref: string) {
    return this.client.resources.operations(ref);
  }

  operation(id: string) {
    return this.client.operations.get(id);
  }

  events(ref: string, signal: AbortSignal) {
    return this.client.resources.events(ref, { signal });
  }

  placement(ref: string) {
    return orUndefined(this.client.resources.placement(ref));
  }

  cost(ref: string) {
    return orUndefined(this.client.resources.cost(ref));
  }

  quotaUsage() {
    return orUndefined(this.client.catalog.quotaUsage());
  }

  estimateCost(request: CostEstimateRequest) {
    return orUndefined(this.client.cost.estimate(request));
  }

  runOperation(
    ref: string,
    type: OperationType,
    params: Record<string, unknown> = {},
  ) {
    return this.client.operations.create(ref, { type, params });
  }

  cancelOperation(id: string) {
    return this.client.operations.cancel(id);
  }

  retryOperation(id: string) {
    return this.client.operations.retry(id);
  }

  retryResource(ref: string) {
    return this.client.resources.retry(ref);
  }

  deployments(ref: string): Promise<Schemas['Deployment'][]> {
    return this.client.deployments.list(ref);
  }

  deployment(id: string): Promise<Schemas['Deployment']> {
    return this.client.deployments.get(id);
  }

  actOnDeployment(
    id: string,
    action: DeploymentAction,
    options?: { full?: boolean },
  ): Promise<Schemas['Deployment']> {
    return this.client.deployments[action](id, options);
  }

  rollback(ref: string, toVersion: string): Promise<Resource> {
    return this.client.deployments.rollback(ref, toVersion);
  }

  versions(query: {
    component?: string;
  }): Promise<Schemas['VersionList']['items']> {
    return this.client.deployments.versions(query);
  }

  definitionChanges(): Promise<Schemas['DefinitionChange'][]> {
    return this.client.definitions.changes({ limit: 100 });
  }

  productUsage(product: string): Promise<Schemas['ProductUsage']> {
    return this.client.definitions.usage(product);
  }

  async changes(ref: string): Promise<Schemas['Change'][]> {
    return (await this.client.changes.list(ref, { limit: 100 })).items;
  }

  revertChange(sha: string): Promise<Schemas['ChangeRevert']> {
    return this.client.changes.revert(sha);
  }

  deleteResource(ref: string, options?: { cascade?: boolean }) {
    return this.client.resources.delete(ref, options);
  }

  products() {
    return this.client.catalog.products();
  }

  projectProduct(
    project: string,
    id: string,
  ): Promise<Schemas['EffectiveDefinition']> {
    return this.client.projects.product(project, id);
  }

  projectCompliance(project: string): Promise<Schemas['ComplianceReport']> {
    return this.client.projects.compliance(project);
  }

  tiers() {
    return this.client.catalog.tiers();
  }

  cells() {
    return this.client.catalog.cells();
  }

  providers() {
    return this.client.catalog.providers();
  }

  clusters() {
    return this.client.clusters.list();
  }

  clusterHealth(name: string) {
    return this.client.clusters.health(name);
  }

  async drainCluster(name: string) {
    return (await this.client.clusters.drain(name)).operation;
  }

  async uncordonCluster(name: string) {
    await this.client.clusters.uncordon(name);
  }

  async decommissionCluster(name: string) {
    return (await this.client.clusters.decommission(name)).operation;
  }

  audit(query?: AuditQuery) {
    return this.client.audit.list(query);
  }

  verifyAudit() {
    return this.client.audit.verify();
  }
}

/** A 404 (not placed yet, or an older backend): `undefined`. */
export async function orUndefined<T>(
  promise: Promise<T>,
): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof IdpNotFoundError) return undefined;
    throw error;
  }
}
