/**
 * The shared model of the IDP Multicloud control plane: zod schemas, the types derived from
 * them, state machines and permissions. Pure: no Node or DOM APIs.
 *
 * @packageDocumentation
 */

export * from './model/lookup';
export * from './model/names';
export * from './model/tiers';
export * from './model/operations';
export * from './model/products';
export * from './model/fleet';
export * from './model/clusters';
export * from './model/clusterApi';
export * from './model/resources';
export * from './model/resourceState';
export * from './model/deployments';
export * from './model/manifests';
export * from './model/projects';
export * from './model/compliance';
export * from './model/validation';
export * from './model/secrets';
export * from './model/health';
export * from './api';
export * from './permissions';
export * from './generate';
