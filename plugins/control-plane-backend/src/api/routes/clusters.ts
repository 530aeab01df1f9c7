import { InputError, NotFoundError } from '@backstage/errors';
import {
  clusterAcceptedSchema,
  clusterAutomationReportSchema,
  clusterChannels,
  clusterMinorApprovalSchema,
  clusterCreateRequestSchema,
  clusterDrainRequestSchema,
  clusterHealthHistorySchema,
  clusterListSchema,
  clusterManagePermission,
  clusterOperationListSchema,
  clusterOperationSchema,
  clusterPatchRequestSchema,
  fleetReadPermission,
  kubernetesRelease,
  nameSchema,
  resourceEventPageSchema,
  resourceEventSchema,
  resourceEventsQuerySchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { streamResourceEvents } from '../../events/sse';
import { rawTarget, routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'clusters' | 'events' | 'eventStream'>;

const route = routes<Deps>();
const clusterPath = z.object({ name: nameSchema });
const clusterSchema = clusterListSchema.shape.items.element;
const target = ({ params }: { params: Record<string, string> }) =>
  rawTarget('cluster', params.name);

export const clusterRoutes = [
  route({
    method: 'get',
    path: '/clusters',
    operationId: 'listClusters',
    summary:
      'Clusters, with what is placed on them, their phase, health and operations',
    permission: fleetReadPermission,
    response: {
      status: 200,
      schema: clusterListSchema,
      description: 'Clusters',
    },
    run: async (_input, { clusters }) => ({
      body: { items: await clusters.service.list() },
    }),
  }),

  route({
    method: 'get',
    path: '/clusters/{name}',
    operationId: 'getCluster',
    summary:
      'A cluster: its desired spec, what was observed, its health breakdown and what is placed on it',
    permission: fleetReadPermission,
    request: { params: clusterPath },
    response: {
      status: 200,
      schema: clusterSchema,
      description: 'The cluster',
    },
    run: async ({ params }, { clusters }) => ({
      body: await clusters.service.get(params.name),
    }),
  }),

  route({
    method: 'get',
    path: '/clusters/{name}/health',
    operationId: 'getClusterHealth',
    summary: "A cluster's health score, its breakdown, and its last 24 hours",
    permission: fleetReadPermission,
    request: { params: clusterPath },
    response: {
      status: 200,
      schema: clusterHealthHistorySchema,
      description: 'The health of the cluster',
    },
    run: async ({ params }, { clusters }) => ({
      body: await clusters.service.healthHistory(params.name),
    }),
  }),

  route({
    method: 'get',
    path: '/clusters/{name}/operations',
    operationId: 'listClusterOperations',
    summary: 'The lifecycle operations of a cluster, newest first',
    permission: fleetReadPermission,
    request: { params: clusterPath },
    response: {
      status: 200,
      schema: clusterOperationListSchema,
      description: 'Operations of the cluster',
    },
    run: async ({ params }, { clusters }) => {
      const items = await clusters.store.operationsOf(params.name);
      if (
        !items.length &&
        !(await clusters.store.observed(params.name)) &&
        !(await clusters.service.current()).get('Cluster', params.name)
      ) {
        throw new NotFoundError(`No cluster ${params.name}`);
      }
      return { body: { items } };
    },
  }),

  route({
    method: 'get',
    path: '/clusters/{name}/operations/{id}',
    operationId: 'getClusterOperation',
    summary: 'One lifecycle operation of a cluster, with its steps',
    permission: fleetReadPermission,
    request: {
      params: z.object({ name: nameSchema, id: z.string().min(1).max(64) }),
    },
    response: {
      status: 200,
      schema: clusterOperationSchema,
      description: 'The operation',
    },
    run: async ({ params }, { clusters }) => {
      const op = await clusters.store.operation(params.id);
      if (!op || op.cluster !== params.name) {
        throw new NotFoundError(`No operation ${params.id} of ${params.name}`);
      }
      return { body: op };
    },
  }),

  route({
    method: 'post',
    path: '/clusters',
    operationId: 'createCluster',
    summary:
      'Create a cluster: its manifest committed to clusters/<name>.yaml, then provisioned by its driver',
    permission: clusterManagePermission,
    request: { body: clusterCreateRequestSchema },
    response: {
      status: 202,
      schema: clusterAcceptedSchema,
      description: 'Committed; the create operation provisions it',
    },
    command: {
      action: 'cluster.create',
      target: ({ body }) => rawTarget('cluster', String(body?.name ?? '')),
      idempotency: 'generated',
    },
    run: async ({ body, ctx }, { clusters }) => ({
      body: await clusters.service.create(body, ctx),
    }),
  }),

  route({
    method: 'patch',
    path: '/clusters/{name}',
    operationId: 'updateCluster',
    summary:
      'Change a cluster: a new version upgrades it (after pre-flight checks), new pool sizes scale it, channel and maintenance window steer automation',
    permission: clusterManagePermission,
    request: { params: clusterPath, body: clusterPatchRequestSchema },
    response: {
      status: 202,
      schema: clusterAcceptedSchema,
      description:
        'Committed; the operation it started, if any (an upgrade or a scale)',
    },
    command: { action: 'cluster.update', target, idempotency: 'optional' },
    run: async ({ params, body, ctx }, { clusters }) => ({
      body: await clusters.service.update(params.name, body, ctx),
    }),
  }),

  route({
    method: 'post',
    path: '/clusters/automation/run',
    operationId: 'runClusterAutomation',
    summary:
      'Observe the managed clusters and run a pass of channel automation now: upgrade the clusters of each channel in waves, inside their maintenance windows',
    permission: clusterManagePermission,
    response: {
      status: 200,
      schema: clusterAutomationReportSchema,
      description: 'What the pass found and started, per channel',
    },
    command: {
      action: 'cluster.automation',
      target: () => 'clusters',
      idempotency: 'optional',
    },
    run: async (_input, { clusters }) => {
      // observe the managed clusters first: the pass decides on what they are now
      await clusters.service.refresh();
      const channels = await clusters.automation.pass();
      const idle = await clusters.idle.pass();
      const started = channels.flatMap(c => c.start);
      return {
        body: { channels, ...idle },
        accepted: {
          reason: `${
            started.length
              ? `started upgrades of ${started.join(', ')}`
              : 'started no upgrade'
          }; ${idle.idle.length} idle cluster(s), ${
            idle.proposed.length
          } proposed for decommission, ${
            idle.decommissioning.length
          } decommissioning`,
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/clusters/channels/{channel}/approvals',
    operationId: 'approveClusterMinor',
    summary:
      "Approve a new Kubernetes minor on a channel: channel automation may upgrade the channel's clusters to it (when controlPlane.clusters.requireMinorApproval is set)",
    permission: clusterManagePermission,
    request: {
      params: z.object({ channel: z.enum(clusterChannels) }),
      body: clusterMinorApprovalSchema,
    },
    response: {
      status: 201,
      schema: clusterMinorApprovalSchema.extend({
        channel: z.enum(clusterChannels),
      }),
      description: 'Approved',
    },
    command: {
      action: 'cluster.approve-minor',
      target: ({ params }) => rawTarget('channel', params.channel),
      idempotency: 'optional',
    },
    run: async ({ params, body, ctx }, { clusters }) => {
      if (!kubernetesRelease(body.minor)) {
        throw new InputError(
          `minor: ${body.minor} is not a supported Kubernetes release`,
        );
      }
      await clusters.store.approveMinor(params.channel, body.minor, ctx.actor);
      return {
        status: 201,
        body: { channel: params.channel, minor: body.minor },
        accepted: {
          reason: `clusters of channel ${params.channel} may move to ${body.minor}`,
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/clusters/{name}/drain',
    operationId: 'drainCluster',
    summary:
      'Drain a cluster: cordon it and move every resource placed on it to other clusters of its cell, dependencies first',
    permission: clusterManagePermission,
    request: {
      params: clusterPath,
      body: clusterDrainRequestSchema,
      bodyOptional: true,
    },
    response: {
      status: 202,
      schema: clusterAcceptedSchema,
      description: 'The drain operation',
    },
    command: { action: 'cluster.drain', target, idempotency: 'optional' },
    run: async ({ params, body, ctx }, { clusters }) => {
      const accepted = await clusters.service.drain(params.name, ctx);
      return {
        body: accepted,
        accepted: {
          reason: `drain of ${params.name} started (${accepted.operation?.id})${
            body.reason ? `: ${body.reason}` : ''
          }`,
        },
      };
    },
  }),

  route({
    method: 'post',
    path: '/clusters/{name}/uncordon',
    operationId: 'uncordonCluster',
    summary:
      'Return a drained cluster to service: it leaves Draining for Ready and the scheduler places on it again',
    permission: clusterManagePermission,
    request: { params: clusterPath },
    response: {
      status: 200,
      schema: clusterAcceptedSchema,
      description: 'The cluster is Ready again',
    },
    command: { action: 'cluster.uncordon', target, idempotency: 'optional' },
    run: async ({ params, ctx }, { clusters }) => {
      const accepted = await clusters.service.uncordon(params.name, ctx);
      return {
        body: accepted,
        accepted: { reason: `${params.name} returned to service` },
      };
    },
  }),

  route({
    method: 'get',
    path: '/clusters/{name}/events',
    operationId: 'streamClusterEvents',
    summary:
      "The events of a cluster (phase changes, its operations' steps and outcomes), on the stream resources use: server-sent events resuming after Last-Event-ID, or with Accept: application/json a page of the events so far",
    permission: fleetReadPermission,
    request: {
      params: clusterPath,
      query: resourceEventsQuerySchema,
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    response: {
      status: 200,
      schema: resourceEventPageSchema,
      description:
        'text/event-stream: each event has an id, an event (its type) and data (the event JSON, ref cluster:<name>), and the stream goes on; application/json: the events after `after`, oldest first',
      content: {
        'text/event-stream': resourceEventSchema,
        'application/json': resourceEventPageSchema,
      },
    },
    run: async ({ params, query, req, res }, deps) => {
      const ref = `cluster:${params.name}`;
      if (
        !(await deps.clusters.store.observed(params.name)) &&
        !(await deps.clusters.service.current()).get('Cluster', params.name)
      ) {
        throw new NotFoundError(`No cluster ${params.name}`);
      }
      if (
        req.accepts(['text/event-stream', 'application/json']) ===
        'application/json'
      ) {
        const items = await deps.events.since(ref, query.after, query.limit);
        return {
          body: {
            items,
            lastId: items.length ? items[items.length - 1].id : query.after,
          },
        };
      }
      await streamResourceEvents(req, res, deps.events, ref, deps.eventStream);
      return undefined;
    },
  }),

  route({
    method: 'delete',
    path: '/clusters/{name}',
    operationId: 'decommissionCluster',
    summary:
      'Decommission a cluster: refused while anything is placed on it; deleted by its driver, then its manifest removed',
    permission: clusterManagePermission,
    request: { params: clusterPath },
    response: {
      status: 202,
      schema: clusterAcceptedSchema,
      description: 'The decommission operation',
    },
    command: {
      action: 'cluster.decommission',
      target,
      idempotency: 'optional',
    },
    run: async ({ params, ctx }, { clusters }) => {
      const accepted = await clusters.service.decommission(params.name, ctx);
      return {
        body: accepted,
        accepted: {
          reason: `decommission of ${params.name} started (${accepted.operation?.id})`,
        },
      };
    },
  }),
];
