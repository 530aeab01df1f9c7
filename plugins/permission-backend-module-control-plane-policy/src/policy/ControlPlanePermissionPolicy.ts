import { Config } from '@backstage/config';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  auditReadPermission,
  catalogReadPermission,
  clusterManagePermission,
  CONTROL_PLANE_RESOURCE_TYPE,
  costReadPermission,
  experimentManagePermission,
  fleetReadPermission,
  providerManagePermission,
  resourceOperatePermission,
  resourceReadPermission,
} from '@idp-multicloud/plugin-control-plane-common';
import { controlPlaneResourceConditions } from '@idp-multicloud/plugin-control-plane-node';

/**
 * The roles of the control plane, from least to most privileged.
 * @public
 */
export type ControlPlaneRole = 'developer' | 'platformEngineer' | 'admin';

/**
 * Which catalog entities hold each role: entity refs of groups (or users). `*` in
 * `developer` gives every signed-in user that role.
 * @public
 */
export interface ControlPlaneRoleMapping {
  admin: string[];
  platformEngineer: string[];
  developer: string[];
}

/** Reads `controlPlane.permissions.roles` (see config.d.ts). */
export function readRoleMapping(config: Config): ControlPlaneRoleMapping {
  const roles = config.getOptionalConfig('controlPlane.permissions.roles');
  const refs = (key: string, fallback: string[]) =>
    (roles?.getOptionalStringArray(key) ?? fallback).map(r =>
      r.toLocaleLowerCase('en-US'),
    );
  return {
    admin: refs('admin', []),
    platformEngineer: refs('platformEngineer', []),
    developer: refs('developer', ['*']),
  };
}

// What every developer may read: what they can ask for.
const developerPermissions = new Set([catalogReadPermission.name]);
// What platform engineers may do beyond developers: run the fleet.
const fleetPermissions = new Set([
  fleetReadPermission.name,
  clusterManagePermission.name,
  providerManagePermission.name,
  experimentManagePermission.name,
  auditReadPermission.name,
]);
// Platform engineers see and operate every resource, and see every team's costs, not only
// their groups'.
const fleetWideResourcePermissions = new Set([
  resourceReadPermission.name,
  resourceOperatePermission.name,
  costReadPermission.name,
]);

/**
 * The control plane's permission policy, with three roles held through catalog group
 * membership:
 *
 * - developer: create, read, update, delete and operate the resources their groups (or they)
 *   own, and see their cost; read the catalog of what may be requested (products, tiers,
 *   cells, quotas, policies, price estimates); nothing else of the control plane;
 * - platform engineer: a developer's rights, plus reading and operating every resource and
 *   every team's costs, reading the fleet (providers, clusters, the state repository's
 *   index), managing clusters, providers, flags and experiments, and reading the audit log;
 * - admin: everything, including products, tiers, quotas and policies.
 *
 * Users in none of the mapped groups get nothing of the control plane. Permissions of other
 * plugins are allowed, as with Backstage's allow-all policy; put your own policy in front of
 * this one to change that.
 * @public
 */
export class ControlPlanePermissionPolicy implements PermissionPolicy {
  constructor(private readonly roles: ControlPlaneRoleMapping) {}

  /** The most privileged role the claims hold, if any. */
  roleOf(claims: string[]): ControlPlaneRole | undefined {
    const held = new Set(claims.map(c => c.toLocaleLowerCase('en-US')));
    const has = (refs: string[]) => refs.some(r => r === '*' || held.has(r));
    if (has(this.roles.admin)) return 'admin';
    if (has(this.roles.platformEngineer)) return 'platformEngineer';
    if (has(this.roles.developer)) return 'developer';
    return undefined;
  }

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const { permission } = request;
    if (!permission.name.startsWith('control-plane.')) {
      return { result: AuthorizeResult.ALLOW };
    }
    const claims = user?.info.ownershipEntityRefs ?? [];
    const role = this.roleOf(claims);
    if (role === 'admin') {
      return { result: AuthorizeResult.ALLOW };
    }
    if (role === 'platformEngineer') {
      if (
        fleetPermissions.has(permission.name) ||
        fleetWideResourcePermissions.has(permission.name)
      ) {
        return { result: AuthorizeResult.ALLOW };
      }
    }
    if (role && developerPermissions.has(permission.name)) {
      return { result: AuthorizeResult.ALLOW };
    }
    if (
      (role === 'platformEngineer' || role === 'developer') &&
      isResourcePermission(permission, CONTROL_PLANE_RESOURCE_TYPE)
    ) {
      return controlPlaneResourceConditions.createConditionalDecision(
        permission,
        controlPlaneResourceConditions.conditions.isOwner({ claims }),
      );
    }
    return { result: AuthorizeResult.DENY };
  }
}
