/**
 * Scaffolder actions of the IDP Multicloud control plane.
 *
 * @packageDocumentation
 */

export { scaffolderModuleControlPlane as default } from './module';
export { createHealthCheckAction } from './actions/healthCheck';
