/**
 * The TypeScript SDK of the IDP Multicloud control plane: a typed client for its API
 * (generated from the OpenAPI document) that runs in Node, in browsers and inside Backstage,
 * retries safely, and follows resources' event streams.
 *
 * @packageDocumentation
 */

export { createIdpClient } from './client';
export type { ClusterAccepted, IdpClient, ManifestOptions } from './IdpClient';
export type { IdpResources, ProductHelper, WaitOptions } from './resources';
export type {
  Operation,
  Plan,
  Resource,
  ResourcePage,
  Schemas,
} from './schemas';
export * from './errors';
export type {
  IdpClientOptions,
  MutationOptions,
  RetryOptions,
} from './transport';
export type {
  components as IdpApiComponents,
  operations as IdpApiOperations,
  paths as IdpApiPaths,
} from './generated/openapi';
