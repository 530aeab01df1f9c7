/**
 * Scaffolder actions of the IDP Multicloud control plane: create, wait for and delete
 * resources, apply manifests, estimate cost and generate infrastructure files, each as the
 * user who runs the template.
 *
 * @packageDocumentation
 */

export { scaffolderModuleControlPlane as default } from './module';
export type { ControlPlaneActionOptions } from './actions/shared';
export { createHealthCheckAction } from './actions/healthCheck';
export { createResourceCreateAction } from './actions/createResource';
export { createResourceWaitAction } from './actions/waitForResource';
export { createResourceDeleteAction } from './actions/deleteResource';
export { createManifestApplyAction } from './actions/applyManifests';
export { createCostEstimateAction } from './actions/estimateCost';
export { createGenerateAction } from './actions/generate';
export { createDeploymentStartAction } from './actions/startDeployment';
