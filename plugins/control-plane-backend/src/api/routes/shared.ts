import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import {
  CONTROL_PLANE_RESOURCE_TYPE,
  nameSchema,
  namespaceSchema,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { ControlPlane } from '../../controlPlane';
import {
  factsOf,
  ResourceAuthorizer,
} from '../../permissions/ResourceAuthorizer';

/** Everything a route file may be given; each takes only what it uses. */
export type ApiServices = Omit<ControlPlane, 'start' | 'stop'> & {
  authorizer: ResourceAuthorizer;
  /** SSE polling, shortened in tests. */
  eventStream?: { pollMs?: number; heartbeatMs?: number };
  /** The groups (ownership entity refs) of the caller: who may approve a deployment step. */
  groupsOf(credentials: BackstageCredentials): Promise<string[]>;
};

export const resourcePath = z.object({
  namespace: namespaceSchema,
  name: nameSchema,
});

export const refOf = (params: z.output<typeof resourcePath>) =>
  stringifyResourceRef(params);

/** A resource as the API shows it: without its internal uid. */
export const publicResource = <T extends { uid: string }>(r: T) => {
  const { uid: _uid, ...rest } = r;
  return rest;
};

export type ResourcePermissionOf = ResourcePermission<
  typeof CONTROL_PLANE_RESOURCE_TYPE
>;

/** The live resource `ref`, when the caller holds `permission` on it. */
export async function authorizedResource(
  deps: Pick<ApiServices, 'resourceService' | 'authorizer'>,
  credentials: BackstageCredentials,
  ref: string,
  permission: ResourcePermissionOf,
) {
  const resource = await deps.resourceService.getLive(ref);
  await deps.authorizer.authorizeResources(credentials, permission, [
    factsOf(resource),
  ]);
  return resource;
}
