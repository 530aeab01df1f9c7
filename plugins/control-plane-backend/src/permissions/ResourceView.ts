import { NotFoundError } from '@backstage/errors';
import {
  parseResourceRef,
  Resource,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { ControlPlaneResourceFacts } from '@idp-multicloud/plugin-control-plane-node';

/** A resource as the view decides on it: a row, or a desired manifest and its ref. */
export type Viewed = Pick<Resource, 'ref' | 'spec'>;

/** What the rules need to know of a resource (or of a resource about to exist). */
export function factsOf(resource: Viewed): ControlPlaneResourceFacts {
  return {
    ref: resource.ref,
    owner: resource.spec.owner,
    ...(resource.spec.component ? { component: resource.spec.component } : {}),
    cell: resource.spec.cell,
    tier: resource.spec.tier,
  };
}

/**
 * The answer to a request on a resource that does not exist: also the answer to one the
 * caller cannot read, so that neither its existence nor anything about it leaks.
 */
export function noSuchResource(ref: string): NotFoundError {
  return new NotFoundError(
    `No resource ${stringifyResourceRef(parseResourceRef(ref))}`,
  );
}

/** How a message names what the caller cannot read. */
export const UNREADABLE = 'a resource you cannot read';

/**
 * The resources as one caller sees them (one decision of `control-plane.resource.read`):
 * what it cannot read does not exist for it. Every place that surfaces a reference or a
 * name asks this view: a reference to an unreadable resource is refused as a missing one
 * is, and no message names an unreadable resource.
 */
export class ResourceView {
  /** Everything is readable (an unconditional ALLOW, or the control plane itself). */
  static readonly everything = new ResourceView(() => true, true);

  constructor(
    private readonly allows: (facts: ControlPlaneResourceFacts) => boolean,
    /** Whether everything is readable. */
    readonly all: boolean,
  ) {}

  canRead(resource: Viewed | ControlPlaneResourceFacts): boolean {
    if (this.all) return true;
    return this.allows('spec' in resource ? factsOf(resource) : resource);
  }

  /**
   * The refs among `resources` (canonical) the caller cannot read: a set to test
   * references and names against.
   */
  hidden(resources: Iterable<Viewed>): Set<string> {
    const hidden = new Set<string>();
    if (this.all) return hidden;
    for (const r of resources) {
      if (!this.canRead(r)) {
        hidden.add(stringifyResourceRef(parseResourceRef(r.ref)));
      }
    }
    return hidden;
  }
}

/**
 * `text` with every ref of `hidden` replaced by {@link UNREADABLE}: for messages built from
 * the desired state (issues, conflicts) that may name other resources.
 */
export function redact(text: string, hidden: ReadonlySet<string>): string {
  let out = text;
  for (const ref of hidden) {
    const { namespace, name } = parseResourceRef(ref);
    const escaped = `${namespace}/${name}`.replace(
      /[.*+?^${}()|[\]\\]/g,
      '\\$&',
    );
    // `resource:ns/name` (a ref), `Resource:ns/name` (an object key) or `ns/name`.
    out = out.replace(
      new RegExp(`(?<![\\w./:-])(?:[Rr]esource:)?${escaped}(?![\\w./-])`, 'g'),
      UNREADABLE,
    );
  }
  return out;
}

/** The resources of a desired state, as the view decides on them. */
export function* viewedManifests(
  manifests: Iterable<{
    metadata: { name: string; namespace?: string };
    spec: Resource['spec'];
  }>,
): Iterable<Viewed> {
  for (const m of manifests) {
    yield {
      ref: stringifyResourceRef({
        name: m.metadata.name,
        namespace: m.metadata.namespace ?? 'default',
      }),
      spec: m.spec,
    };
  }
}
