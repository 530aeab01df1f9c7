import { createPermission } from '@backstage/plugin-permission-common';

/**
 * The permission resource type of control plane resources; conditional decisions about them
 * use the rules `IS_OWNER`, `IS_IN_CELL` and `HAS_TIER`.
 * @public
 */
export const CONTROL_PLANE_RESOURCE_TYPE = 'control-plane-resource';

/**
 * Ask for a new resource.
 * @public
 */
export const resourceCreatePermission = createPermission({
  name: 'control-plane.resource.create',
  attributes: { action: 'create' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * See a resource, its status, history and events.
 * @public
 */
export const resourceReadPermission = createPermission({
  name: 'control-plane.resource.read',
  attributes: { action: 'read' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * Change a resource's desired spec.
 * @public
 */
export const resourceUpdatePermission = createPermission({
  name: 'control-plane.resource.update',
  attributes: { action: 'update' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * Delete a resource.
 * @public
 */
export const resourceDeletePermission = createPermission({
  name: 'control-plane.resource.delete',
  attributes: { action: 'delete' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * Run operations (failover, backup, scale, ...) on a resource, retry or cancel them.
 * @public
 */
export const resourceOperatePermission = createPermission({
  name: 'control-plane.resource.operate',
  attributes: { action: 'update' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * See what a resource costs: its cost, and its share of chargeback reports and of team
 * quotas. Conditional like the other resource permissions (a developer sees their groups').
 * @public
 */
export const costReadPermission = createPermission({
  name: 'control-plane.cost.read',
  attributes: { action: 'read' },
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

/**
 * Read what a request may ask for: products, tiers, cells, quotas and policies, and price
 * estimates.
 * @public
 */
export const catalogReadPermission = createPermission({
  name: 'control-plane.catalog.read',
  attributes: { action: 'read' },
});

/**
 * Read the fleet as its operators see it: providers with their health, clusters, and where
 * the index of the state repository stands.
 * @public
 */
export const fleetReadPermission = createPermission({
  name: 'control-plane.fleet.read',
  attributes: { action: 'read' },
});

/**
 * Manage cells and clusters and their lifecycle.
 * @public
 */
export const clusterManagePermission = createPermission({
  name: 'control-plane.cluster.manage',
  attributes: { action: 'update' },
});

/**
 * Manage providers: their definitions, circuit breakers, fault injection in the simulator.
 * @public
 */
export const providerManagePermission = createPermission({
  name: 'control-plane.provider.manage',
  attributes: { action: 'update' },
});

/**
 * Manage feature flags and placement experiments.
 * @public
 */
export const experimentManagePermission = createPermission({
  name: 'control-plane.experiment.manage',
  attributes: { action: 'update' },
});

/**
 * Manage products, tiers, quotas and policies.
 * @public
 */
export const policyManagePermission = createPermission({
  name: 'control-plane.policy.manage',
  attributes: { action: 'update' },
});

/**
 * Read the audit log and verify its chain.
 * @public
 */
export const auditReadPermission = createPermission({
  name: 'control-plane.audit.read',
  attributes: { action: 'read' },
});

/**
 * Every permission of the control plane.
 * @public
 */
export const controlPlanePermissions = [
  resourceCreatePermission,
  resourceReadPermission,
  resourceUpdatePermission,
  resourceDeletePermission,
  resourceOperatePermission,
  costReadPermission,
  catalogReadPermission,
  fleetReadPermission,
  clusterManagePermission,
  providerManagePermission,
  experimentManagePermission,
  policyManagePermission,
  auditReadPermission,
];
