import { Entity } from '@backstage/catalog-model';
import { resourceVersionOf } from '@idp-multicloud/plugin-control-plane-common';
import type { Resource } from '@idp-multicloud/sdk';

/** The catalog location the provider claims its entities under. */
export const LOCATION_PREFIX = 'control-plane:';

/**
 * A control plane resource as a catalog `Resource` entity: `resource:<namespace>/<name>`,
 * of type its product, owned by its owner, depending on its dependencies, a dependency of
 * the component it serves. The version it runs is its `idp.multicloud/version` annotation;
 * while a new version rolls out (the desired version differs from the running one), that one
 * is `idp.multicloud/desired-version`.
 * @public
 */
export function resourceToEntity(resource: Resource): Entity {
  const { metadata, spec, status } = resource;
  const location = `${LOCATION_PREFIX}${resource.ref}`;
  const desired = resourceVersionOf(spec.params);
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      title: `${metadata.name} (${spec.product})`,
      description: `A ${spec.product} resource of tier ${spec.tier} in ${spec.cell}, managed by the IDP Multicloud control plane.`,
      labels: {
        ...metadata.labels,
        'idp.multicloud/product': spec.product,
        'idp.multicloud/tier': spec.tier,
        'idp.multicloud/cell': spec.cell,
      },
      annotations: {
        'backstage.io/managed-by-location': location,
        'backstage.io/managed-by-origin-location': location,
        'idp.multicloud/ref': resource.ref,
        'idp.multicloud/state': status.state,
        ...(status.placement
          ? {
              'idp.multicloud/provider': status.placement.provider,
              'idp.multicloud/cluster': status.placement.cluster,
            }
          : {}),
        ...(status.version ? { 'idp.multicloud/version': status.version } : {}),
        ...(desired && desired !== status.version
          ? { 'idp.multicloud/desired-version': desired }
          : {}),
      },
      tags: [spec.product, `tier-${spec.tier}`],
    },
    spec: {
      type: spec.product,
      owner: spec.owner,
      dependsOn: spec.dependsOn ?? [],
      ...(spec.component?.startsWith('component:')
        ? { dependencyOf: [spec.component] }
        : {}),
      ...(spec.component?.startsWith('system:')
        ? { system: spec.component }
        : {}),
    },
  };
}
