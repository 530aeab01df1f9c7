import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ConflictError } from '@backstage/errors';
import { BasicPermission } from '@backstage/plugin-permission-common';
import {
  clusterManagePermission,
  ManifestKind,
  manifestKey,
  manifestsRequestSchema,
  planSchema,
  policyManagePermission,
  providerManagePermission,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceUpdatePermission,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { ParsedManifests } from '../../gitops/ManifestService';
import { factsOf } from '../../permissions/ResourceAuthorizer';
import { ResourceView } from '../../permissions/ResourceView';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<
  ApiServices,
  'manifests' | 'authorizer' | 'cost' | 'resourceService'
>;

const route = routes<Deps>();

/** Who may write each kind of manifest (resources: the resource permissions). */
export const manifestPermissions = new Map<ManifestKind, BasicPermission>([
  ['Product', policyManagePermission],
  ['Tier', policyManagePermission],
  ['Quota', policyManagePermission],
  ['Policy', policyManagePermission],
  ['Project', policyManagePermission],
  ['ProjectProduct', policyManagePermission],
  ['Cell', clusterManagePermission],
  ['Cluster', clusterManagePermission],
  ['Provider', providerManagePermission],
]);

const permissionNote =
  'Resources need `control-plane.resource.create`, `.update` or `.delete` on each one the manifests create, change or prune; products, projects and their definitions, tiers, quotas and policies `control-plane.policy.manage`; cells and clusters `control-plane.cluster.manage`; providers `control-plane.provider.manage`.';

/**
 * Authorizes what the manifests would change, before they are validated against the
 * desired state (whose issues would tell an unauthorized caller about it). Returns the
 * signature of the authorized change (see ManifestService.diff) and the caller's view of
 * the resources: what it cannot read is neither pruned nor named.
 */
export async function authorizeManifests(
  { manifests, authorizer }: Deps,
  credentials: BackstageCredentials,
  parsed: ParsedManifests,
): Promise<{ signature: string; view: ResourceView }> {
  const view = await authorizer.view(credentials);
  const { state, changes, signature } = await manifests.diff(parsed, view);
  const basics = new Set(
    parsed.manifests.flatMap(m => {
      const permission = manifestPermissions.get(m.kind);
      return permission ? [permission] : [];
    }),
  );
  for (const permission of basics) {
    await authorizer.authorize(credentials, permission);
  }
  const resourceChanges = changes.put.filter(m => m.kind === 'Resource');
  const created = resourceChanges.filter(m => !state.has(manifestKey(m)));
  const updated = resourceChanges.filter(m => state.has(manifestKey(m)));
  const facts = (ms: typeof resourceChanges) =>
    ms.map(m =>
      factsOf({
        ref: stringifyResourceRef(manifestKey(m)),
        spec: m.spec as any,
      }),
    );
  if (created.length) {
    await authorizer.authorizeResources(
      credentials,
      resourceCreatePermission,
      [],
      facts(created),
    );
  }
  if (updated.length) {
    const before = updated.map(
      m => state.get('Resource', m.metadata.name, manifestKey(m).namespace)!,
    );
    // A resource of that name the caller cannot read: refused as POST /resources refuses
    // a name that is taken, telling nothing of it.
    const taken = before.find(m => !view.canRead(facts([m])[0]));
    if (taken) {
      throw new ConflictError(
        `${stringifyResourceRef(manifestKey(taken))} already exists`,
      );
    }
    await authorizer.authorizeResources(
      credentials,
      resourceUpdatePermission,
      facts(before),
      facts(updated),
    );
  }
  if (changes.remove.length) {
    await authorizer.authorizeResources(
      credentials,
      resourceDeletePermission,
      changes.remove.map(k =>
        factsOf({
          ref: stringifyResourceRef(k),
          spec: state.get('Resource', k.name, k.namespace)!.spec,
        }),
      ),
    );
  }
  return { signature, view };
}

export const manifestRoutes = [
  route({
    method: 'post',
    path: '/manifests/plan',
    operationId: 'planManifests',
    summary: 'Validate manifests and show the diff; writes nothing',
    permissionNote,
    request: { body: manifestsRequestSchema },
    response: { status: 200, schema: planSchema, description: 'The plan' },
    run: async ({ body, ctx }, deps) => {
      const parsed = deps.manifests.parse(body);
      const { view } = await authorizeManifests(deps, ctx.credentials, parsed);
      const plan = await deps.manifests.plan(parsed, ctx, view);
      return {
        body: await deps.cost.priced(
          await deps.resourceService.current(),
          parsed.manifests,
          plan,
        ),
      };
    },
  }),

  route({
    method: 'post',
    path: '/manifests/apply',
    operationId: 'applyManifests',
    summary: 'Validate manifests and apply them as one commit',
    permissionNote,
    request: { body: manifestsRequestSchema },
    response: { status: 200, schema: planSchema, description: 'The plan' },
    command: {
      action: 'manifests.apply',
      target: () => 'state-repo',
      idempotency: 'optional',
      reviewable: true,
    },
    check: async ({ body, ctx }, deps) => {
      const parsed = deps.manifests.parse(body);
      const { signature, view } = await authorizeManifests(
        deps,
        ctx.credentials,
        parsed,
      );
      // Validated before the key is claimed; apply validates again on the head it commits
      // on, and runs admission then (auditing its decisions).
      await deps.manifests.validate(parsed, view);
      return { parsed, signature, view };
    },
    run: async ({ ctx }, { manifests }, { parsed, signature, view }) => ({
      body: await manifests.apply(parsed, ctx, signature, view),
    }),
  }),
];
