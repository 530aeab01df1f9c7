import { z } from 'zod';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A name of an object in the control plane: a DNS label (lowercase letters, digits and
 * dashes, at most 63 characters), so it can become a hostname, a Kubernetes name and a path.
 * @public
 */
export const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(
    dnsLabel,
    'must be lowercase letters, digits and dashes, starting and ending with a letter or digit',
  );

/**
 * The namespace of a resource, as for {@link nameSchema}; `default` when left out.
 * @public
 */
export const namespaceSchema = nameSchema;

/**
 * The namespace used when none is given.
 * @public
 */
export const DEFAULT_NAMESPACE = 'default';

const entityRefPattern = (kinds: string[]) =>
  new RegExp(
    `^(${kinds.join(
      '|',
    )}):([a-z0-9][-a-z0-9_.]{0,62}/)?[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$`,
  );

/**
 * The team that owns a resource: a catalog `group:` or `user:` entity ref, with or without
 * its namespace (`group:payments` means `group:default/payments`).
 * @public
 */
export const ownerRefSchema = z
  .string()
  .regex(
    entityRefPattern(['group', 'user']),
    'must be a group or user entity ref, e.g. group:default/payments',
  );

/**
 * The catalog component or system a resource serves, e.g. `component:default/checkout`.
 * @public
 */
export const componentRefSchema = z
  .string()
  .regex(
    entityRefPattern(['component', 'system']),
    'must be a component or system entity ref, e.g. component:default/checkout',
  );

/**
 * A reference to a resource: `resource:<namespace>/<name>`, or `<namespace>/<name>`, or a
 * bare name in the default namespace.
 * @public
 */
export const resourceRefSchema = z
  .string()
  .regex(
    /^(resource:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a resource ref: resource:<namespace>/<name>',
  );

/**
 * The parts of a resource ref.
 * @public
 */
export interface ResourceName {
  namespace: string;
  name: string;
}

/**
 * Parses any accepted form of a resource ref.
 * @public
 */
export function parseResourceRef(ref: string): ResourceName {
  const bare = ref.startsWith('resource:')
    ? ref.slice('resource:'.length)
    : ref;
  const slash = bare.indexOf('/');
  return slash < 0
    ? { namespace: DEFAULT_NAMESPACE, name: bare }
    : { namespace: bare.slice(0, slash), name: bare.slice(slash + 1) };
}

/**
 * The canonical form of a resource ref, `resource:<namespace>/<name>`.
 * @public
 */
export function stringifyResourceRef(name: ResourceName): string {
  return `resource:${name.namespace}/${name.name}`;
}

/**
 * The canonical form of an owner or component ref: kind and namespace spelled out.
 * @public
 */
export function normalizeEntityRef(ref: string): string {
  const colon = ref.indexOf(':');
  const kind = ref.slice(0, colon).toLocaleLowerCase('en-US');
  const rest = ref.slice(colon + 1);
  return rest.includes('/')
    ? `${kind}:${rest}`
    : `${kind}:${DEFAULT_NAMESPACE}/${rest}`;
}
