/**
 * A permission policy with the control plane's roles: developer, platform engineer, admin,
 * held through catalog group membership.
 *
 * @packageDocumentation
 */

export { permissionModuleControlPlanePolicy as default } from './module';
export { ControlPlanePermissionPolicy } from './policy/ControlPlanePermissionPolicy';
export type {
  ControlPlaneRole,
  ControlPlaneRoleMapping,
} from './policy/ControlPlanePermissionPolicy';
