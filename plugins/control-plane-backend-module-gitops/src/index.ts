/**
 * Argo CD and Flux delivery for the IDP Multicloud control plane: what runs on each cluster,
 * rendered into a deploy repository, consumed by an ApplicationSet or Flux Kustomizations, and
 * their sync and health read back.
 *
 * @packageDocumentation
 */

export { controlPlaneModuleGitOps as default } from './module';
export { controlPlaneModuleGitOps } from './module';
