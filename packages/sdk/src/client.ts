/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import { HealthResponse } from '@idp-multicloud/plugin-control-plane-common';
import { auditCalls } from './audit';
import { changeCalls } from './changes';
import { deploymentCalls } from './deployments';
import { fleetCalls } from './fleet';
import { clusterCalls } from './clusters';
import { definitionCalls } from './definitions';
import { generateCalls } from './generate';
import { gitopsCalls } from './gitops';
import { governanceCalls } from './governance';
import type { IdpClient } from './IdpClient';
import { operationCalls } from './operations';
import { projectCalls } from './projects';
import { productHelper, resourceCalls } from './resources';
import { createTransport, IdpClientOptions } from './transport';

/**
 * Creates a client for the control plane API.
 * @public
 */
export function createIdpClient(options: IdpClientOptions): IdpClient {
  if (!options.discoveryApi && !options.baseUrl) {
    throw new TypeError('createIdpClient needs a baseUrl or a discoveryApi');
  }
  const t = createTransport(options);
  const { api, apiBase, call } = t;
  const resources = resourceCalls(t);
  const fleet = fleetCalls(t);
  const governance = governanceCalls(t);
  const gitops = gitopsCalls(t);

  return {
    health: async () =>
      call(
        api.GET('/health', { baseUrl: await apiBase() }),
      ) as Promise<HealthResponse>,
    resources,
    operations: operationCalls(t),
    reconciler: fleet.reconciler,
    manifests: gitops.manifests,
    catalog: fleet.catalog,
    cost: governance.cost,
    audit: auditCalls(t),
    generate: generateCalls(t),
    gitops: gitops.gitops,
    changes: changeCalls(t),
    deployments: deploymentCalls(t),
    clusters: clusterCalls(t),
    definitions: definitionCalls(t),
    projects: projectCalls(t),
    experiments: governance.experiments,
    flags: governance.flags,
    mysql: productHelper(resources, 'mysql'),
    postgres: productHelper(resources, 'postgres'),
    redis: productHelper(resources, 'redis'),
    webapp: productHelper(resources, 'webapp'),
    kafka: productHelper(resources, 'kafka'),
    objectBucket: productHelper(resources, 'object-bucket'),
  };
}
