import type { components } from './generated/openapi';

/**
 * The schemas of the control plane API, by name.
 * @public
 */
export type Schemas = components['schemas'];
/** A resource. @public */
export type Resource = Schemas['Resource'];
/** A page of resources. @public */
export type ResourcePage = Schemas['ResourcePage'];
/** An operation and its timeline. @public */
export type Operation = Schemas['Operation'];
/** A manifests plan. @public */
export type Plan = Schemas['Plan'];
