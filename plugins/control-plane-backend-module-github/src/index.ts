/**
 * GitHub for the IDP Multicloud control plane: changes that need review as pull requests.
 *
 * @packageDocumentation
 */

export { controlPlaneModuleGithub as default } from './module';
