/**
 * The TypeScript SDK of the IDP Multicloud control plane: a typed client for its API
 * (generated from the OpenAPI document) that runs in Node, in browsers and inside Backstage,
 * retries safely, and follows resources' event streams.
 *
 * @packageDocumentation
 */

export { createIdpClient } from './client';
export type {
  IdpClient,
  IdpClientOptions,
  IdpResources,
  MutationOptions,
  Operation,
  Plan,
  ProductHelper,
  Resource,
  ResourcePage,
  Schemas,
  WaitOptions,
} from './client';
export * from './errors';
export type { RetryOptions } from './transport';
export type {
  components as IdpApiComponents,
  operations as IdpApiOperations,
  paths as IdpApiPaths,
} from './generated/openapi';
