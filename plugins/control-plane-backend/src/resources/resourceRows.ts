import {
  Condition,
  Resource,
  ResourceSpec,
  ResourceState,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { readTimestamp } from '../database/time';
import { readJson } from '../database/util';

/** What caused a transition: who, in which operation, and why. */
export interface TransitionCause {
  actor: string;
  reason: string;
  operationId?: string;
}

/** A resource row with its identity, as the services use it. */
export interface ResourceRecord extends Resource {
  uid: string;
}

export type ResourceRow = {
  uid: string;
  namespace: string;
  name: string;
  product: string;
  owner: string;
  component: string | null;
  tier: string;
  cell: string;
  spec: string;
  labels: string;
  state: string;
  state_reason: string | null;
  generation: string | number;
  observed_generation: string | number;
  desired_commit: string | null;
  placement: string | null;
  version: string | null;
  endpoint?: string | null;
  connection_secret?: string | null;
  conditions: string;
  created_at: Date | string;
  updated_at: Date | string;
};

/** Where a resource is reached: its endpoint, and its connection secret on its cluster. */
function connectionOf(
  row: ResourceRow,
  placement: Resource['status']['placement'],
): Pick<Resource['status'], 'endpoint' | 'connectionSecret'> {
  return {
    ...(row.endpoint
      ? { endpoint: readJson(row.endpoint, undefined as never) }
      : {}),
    ...(row.connection_secret && placement
      ? {
          connectionSecret: {
            name: row.connection_secret,
            namespace: row.namespace,
            cluster: placement.cluster,
          },
        }
      : {}),
  };
}

export function toResource(row: ResourceRow): ResourceRecord {
  const placement = readJson<Resource['status']['placement']>(
    row.placement,
    undefined,
  );
  return {
    uid: row.uid,
    ref: stringifyResourceRef(row),
    metadata: {
      name: row.name,
      namespace: row.namespace,
      labels: readJson(row.labels, {}),
    },
    spec: readJson<ResourceSpec>(row.spec, {} as ResourceSpec),
    status: {
      state: row.state as ResourceState,
      ...(row.state_reason ? { reason: row.state_reason } : {}),
      generation: Number(row.generation),
      observedGeneration: Number(row.observed_generation),
      ...(placement ? { placement } : {}),
      ...(row.version ? { version: row.version } : {}),
      ...connectionOf(row, placement),
      conditions: readJson<Condition[]>(row.conditions, []),
      ...(row.desired_commit ? { commit: row.desired_commit } : {}),
      createdAt: readTimestamp(row.created_at),
      updatedAt: readTimestamp(row.updated_at),
    },
  };
}

/** Filters of a listing; `restrict` adds the permission framework's conditions. */
export interface ResourceFilter {
  owner?: string;
  component?: string;
  product?: string;
  cell?: string;
  tier?: string;
  state?: string;
  namespace?: string;
  restrict?: (qb: Knex.QueryBuilder) => void;
}
