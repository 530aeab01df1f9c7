import { CONTROL_PLANE_RESOURCE_TYPE } from '@idp-multicloud/plugin-control-plane-common';
import {
  createConditionExports,
  createPermissionResourceRef,
  createPermissionRule,
} from '@backstage/plugin-permission-node';
import { z } from 'zod';

/**
 * What permission rules know of a control plane resource.
 * @public
 */
export interface ControlPlaneResourceFacts {
  ref: string;
  owner: string;
  component?: string;
  cell: string;
  tier: string;
}

/**
 * A query fragment the backend turns into SQL: the column must hold one of the values.
 * @public
 */
export interface ControlPlaneResourceQuery {
  column: 'owner' | 'component' | 'cell' | 'tier';
  values: string[];
}

/**
 * The permission resource ref of control plane resources.
 * @public
 */
export const controlPlaneResourceRef = createPermissionResourceRef<
  ControlPlaneResourceFacts,
  ControlPlaneResourceQuery
>().with({
  pluginId: 'control-plane',
  resourceType: CONTROL_PLANE_RESOURCE_TYPE,
});

const isOwner = createPermissionRule({
  name: 'IS_OWNER',
  description:
    'Allow resources owned by (or serving a component owned by) one of the given entity refs',
  resourceRef: controlPlaneResourceRef,
  paramsSchema: z.object({
    claims: z
      .array(z.string())
      .describe("entity refs to match, usually the user's ownershipEntityRefs"),
  }),
  apply: (resource, { claims }) =>
    claims.includes(resource.owner) ||
    (!!resource.component && claims.includes(resource.component)),
  toQuery: ({ claims }) => ({
    anyOf: [
      { column: 'owner', values: claims },
      { column: 'component', values: claims },
    ],
  }),
});

const isInCell = createPermissionRule({
  name: 'IS_IN_CELL',
  description: 'Allow resources in one of the given cells',
  resourceRef: controlPlaneResourceRef,
  paramsSchema: z.object({ cells: z.array(z.string()).describe('cell ids') }),
  apply: (resource, { cells }) => cells.includes(resource.cell),
  toQuery: ({ cells }) => ({ column: 'cell', values: cells }),
});

const hasTier = createPermissionRule({
  name: 'HAS_TIER',
  description: 'Allow resources of one of the given tiers',
  resourceRef: controlPlaneResourceRef,
  paramsSchema: z.object({ tiers: z.array(z.string()).describe('tier ids') }),
  apply: (resource, { tiers }) => tiers.includes(resource.tier),
  toQuery: ({ tiers }) => ({ column: 'tier', values: tiers }),
});

/**
 * The permission rules of control plane resources.
 * @public
 */
export const controlPlaneResourceRules = { isOwner, isInCell, hasTier };

/**
 * Conditions for permission policies, e.g.
 * `createConditionalDecision(permission, conditions.isOwner({ claims }))`.
 * @public
 */
export const controlPlaneResourceConditions = createConditionExports({
  resourceRef: controlPlaneResourceRef,
  rules: controlPlaneResourceRules,
});
