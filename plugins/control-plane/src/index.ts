/**
 * The IDP Multicloud control plane frontend plugin.
 *
 * @packageDocumentation
 */

export { controlPlanePlugin as default } from './plugin';
export { controlPlaneApiRef, ControlPlaneClient } from './api';
export type { ControlPlaneApi } from './api';
