import { z } from 'zod';
import {
  cellSpecSchema,
  clusterSpecSchema,
  policySpecSchema,
  providerSpecSchema,
  quotaSpecSchema,
} from './fleet';
import { DEFAULT_NAMESPACE, nameSchema, namespaceSchema } from './names';
import { productSpecSchema } from './products';
import { projectSpecSchema } from './compliance';
import { projectProductSpecSchema } from './projects';
import { labelsSchema, resourceSpecSchema } from './resources';
import { tierIdSchema, tierSpecSchema } from './tiers';

/**
 * The apiVersion of every manifest in the state repository.
 * @public
 */
export const MANIFEST_API_VERSION = 'idp.multicloud/v1';

const metadata = z
  .object({
    name: nameSchema,
    labels: labelsSchema,
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const envelope = <
  K extends string,
  S extends z.ZodType,
  M extends z.ZodType = typeof metadata,
>(
  kind: K,
  spec: S,
  meta?: M,
) =>
  z
    .object({
      apiVersion: z.literal(MANIFEST_API_VERSION),
      kind: z.literal(kind),
      metadata: (meta ?? metadata) as M,
      spec,
    })
    .strict();

/**
 * Every kind of manifest, each with its own spec; a Resource's metadata also has a namespace.
 * @public
 */
export const manifestSchema = z.discriminatedUnion('kind', [
  envelope(
    'Resource',
    resourceSpecSchema,
    metadata.extend({ namespace: namespaceSchema.default(DEFAULT_NAMESPACE) }),
  ),
  envelope('Product', productSpecSchema),
  envelope('Tier', tierSpecSchema, metadata.extend({ name: tierIdSchema })),
  envelope('Cell', cellSpecSchema),
  envelope('Provider', providerSpecSchema),
  envelope('Cluster', clusterSpecSchema),
  envelope('Quota', quotaSpecSchema),
  envelope('Policy', policySpecSchema),
  envelope('Project', projectSpecSchema),
  envelope(
    'ProjectProduct',
    projectProductSpecSchema,
    metadata.extend({ namespace: namespaceSchema.default(DEFAULT_NAMESPACE) }),
  ),
]);

/**
 * A manifest: one object of desired state.
 * @public
 */
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * The kinds of manifest.
 * @public
 */
export type ManifestKind = Manifest['kind'];

/**
 * The manifest of one kind.
 * @public
 */
export type ManifestOf<K extends ManifestKind> = Extract<Manifest, { kind: K }>;

/**
 * The folder of each kind in the state repository.
 * @public
 */
export const manifestFolders: Record<ManifestKind, string> = {
  Resource: 'resources',
  Product: 'products',
  Tier: 'tiers',
  Cell: 'cells',
  Provider: 'providers',
  Cluster: 'clusters',
  Quota: 'quotas',
  Policy: 'policies',
  Project: 'projects',
  ProjectProduct: 'projects',
};

/** Kinds whose key has a namespace of its own: a resource's, a project's definition's project. */
const namespacedKinds = new Set<ManifestKind>(['Resource', 'ProjectProduct']);

/**
 * Identifies an object of desired state.
 * @public
 */
export interface ObjectKey {
  kind: ManifestKind;
  namespace: string;
  name: string;
}

/**
 * The key of a manifest; objects other than resources live in the default namespace.
 * @public
 */
export function manifestKey(manifest: Manifest): ObjectKey {
  return {
    kind: manifest.kind,
    namespace:
      manifest.kind === 'Resource' || manifest.kind === 'ProjectProduct'
        ? manifest.metadata.namespace
        : DEFAULT_NAMESPACE,
    name: manifest.metadata.name,
  };
}

/**
 * Where an object lives in the state repository:
 * `resources/<namespace>/<name>.yaml`, `projects/<project>/project.yaml`,
 * `projects/<project>/products/<id>.yaml` (a project's definition of a product, its namespace
 * the project), `<folder>/<name>.yaml` for other kinds.
 * @public
 */
export function manifestPath(key: ObjectKey): string {
  const folder = manifestFolders[key.kind];
  switch (key.kind) {
    case 'Resource':
      return `${folder}/${key.namespace}/${key.name}.yaml`;
    case 'Project':
      return `${folder}/${key.name}/project.yaml`;
    case 'ProjectProduct':
      return `${folder}/${key.namespace}/products/${key.name}.yaml`;
    default:
      return `${folder}/${key.name}.yaml`;
  }
}

/**
 * The object a path in the state repository must hold, or undefined for paths outside the
 * manifest folders (a README, say), which the control plane ignores.
 * @public
 */
export function keyForPath(path: string): ObjectKey | undefined {
  const resource = path.match(/^resources\/([^/]+)\/([^/]+)\.ya?ml$/);
  if (resource) {
    return { kind: 'Resource', namespace: resource[1], name: resource[2] };
  }
  const project = path.match(/^projects\/([^/]+)\/project\.ya?ml$/);
  if (project) {
    return { kind: 'Project', namespace: DEFAULT_NAMESPACE, name: project[1] };
  }
  const definition = path.match(
    /^projects\/([^/]+)\/products\/([^/]+)\.ya?ml$/,
  );
  if (definition) {
    return {
      kind: 'ProjectProduct',
      namespace: definition[1],
      name: definition[2],
    };
  }
  const other = path.match(/^([a-z]+)\/([^/]+)\.ya?ml$/);
  if (other) {
    const kind = (Object.keys(manifestFolders) as ManifestKind[]).find(
      k =>
        !namespacedKinds.has(k) &&
        k !== 'Project' &&
        manifestFolders[k] === other[1],
    );
    if (kind) {
      return { kind, namespace: DEFAULT_NAMESPACE, name: other[2] };
    }
  }
  return undefined;
}
