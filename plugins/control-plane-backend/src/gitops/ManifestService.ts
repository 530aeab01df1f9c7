import {
  Manifest,
  manifestKey,
  ManifestsRequest,
  manifestsRequestSchema,
  ObjectKey,
  Plan,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { ConflictError } from '@backstage/errors';
import { canonicalJson, digestOf } from '../database/util';
import { parseInput, validationError } from '../errors';
import { ChangeService, ChangeSet } from './ChangeService';
import { DesiredState } from './DesiredState';
import { breakingChanges } from './breaking';
import { deprecationWarnings } from './deprecations';
import { keyString, parseManifestStream } from './manifestCodec';
import {
  breaksResources,
  definitionImpacts,
  migrationGuide,
} from './migrationGuide';
import { CallContext } from '../context';
import { ResourceView } from '../permissions/ResourceView';
import { checkedInView } from '../permissions/checkedInView';

/** The objects of a manifests request, parsed and validated one by one. */
export interface ParsedManifests {
  manifests: Manifest[];
  prune: boolean;
  /** The caller acknowledges breaking changes of product definitions. */
  acknowledgeBreaking?: boolean;
}

function refOf(key: ObjectKey): string {
  if (key.kind === 'Resource') return stringifyResourceRef(key);
  // A project's definition is named with its project (payments/mysql).
  if (key.kind === 'ProjectProduct') {
    return `projectproduct:${key.namespace}/${key.name}`;
  }
  return `${key.kind.toLowerCase()}:${key.name}`;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [key, child] of entries) {
      flatten(child, prefix ? `${prefix}.${key}` : key, out);
    }
  } else if (prefix) {
    out.set(prefix, value);
  }
}

/** The fields that differ between two manifests, as dotted paths. */
export function fieldChanges(
  before: Manifest | undefined,
  after: Manifest | undefined,
) {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(
    before ? { metadata: before.metadata, spec: before.spec } : {},
    '',
    a,
  );
  flatten(after ? { metadata: after.metadata, spec: after.spec } : {}, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter(path => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)))
    .map(path => ({
      path,
      ...(a.has(path) ? { before: a.get(path) } : {}),
      ...(b.has(path) ? { after: b.get(path) } : {}),
    }));
}

function actionOf(current: Manifest | undefined, changedFields: number) {
  if (!current) return 'create' as const;
  return changedFields > 0 ? ('update' as const) : ('unchanged' as const);
}

/** The plan of a change: each manifest and what happens to it, field by field, and each deletion. */
export function planOf(
  state: DesiredState,
  parsed: ParsedManifests,
  changes: ChangeSet,
): Omit<Plan, 'refusals'> {
  const entries: Plan['changes'] = parsed.manifests.map(m => {
    const key = manifestKey(m);
    const current = state.get(key.kind, key.name, key.namespace);
    const fields = fieldChanges(current, m);
    return {
      kind: key.kind,
      ref: refOf(key),
      action: actionOf(current, fields.length),
      fields: current ? fields : [],
    };
  });
  for (const key of changes.remove) {
    entries.push({
      kind: key.kind,
      ref: refOf(key),
      action: 'delete',
      fields: [],
    });
  }
  const count = (action: string) =>
    entries.filter(e => e.action === action).length;
  return {
    changes: entries,
    summary: {
      create: count('create'),
      update: count('update'),
      delete: count('delete'),
      unchanged: count('unchanged'),
    },
  };
}

/**
 * The declarative path: a multi-document YAML of manifests, planned as a diff against the
 * desired state, and applied as one commit.
 */
export class ManifestService {
  constructor(private readonly changes: ChangeService) {}

  /** Parses the request; a bad document is a 400 naming the document and field. */
  parse(body: unknown): ParsedManifests {
    const request = parseInput(
      manifestsRequestSchema,
      body,
    ) as Required<ManifestsRequest>;
    const docs = parseManifestStream(request.yaml);
    if (docs.length === 0) {
      throw validationError([{ path: 'yaml', message: 'holds no manifest' }]);
    }
    const issues = docs.flatMap(d => (d.ok ? [] : d.issues));
    if (issues.length > 0) {
      throw validationError(issues);
    }
    const manifests = docs.map(d => (d.ok ? d.manifest : undefined!));
    const seen = new Set<string>();
    for (const [index, m] of manifests.entries()) {
      const key = keyString(manifestKey(m));
      if (seen.has(key)) {
        throw validationError([
          { path: `document ${index + 1}`, message: `${key} appears twice` },
        ]);
      }
      seen.add(key);
    }
    return {
      manifests,
      prune: request.prune,
      acknowledgeBreaking: request.acknowledgeBreaking,
    };
  }

  /**
   * What applying would change: objects to put, and resources to prune. Only what `view`
   * can read is pruned: a resource the caller cannot read does not exist for it.
   */
  changeSet(
    state: DesiredState,
    parsed: ParsedManifests,
    view: ResourceView = ResourceView.everything,
  ): ChangeSet {
    const put = parsed.manifests.filter(m => {
      const key = manifestKey(m);
      const current = state.get(key.kind, key.name, key.namespace);
      return !current || digestOf(current) !== digestOf(m);
    });
    const remove: ObjectKey[] = [];
    if (parsed.prune) {
      const namespaces = new Set(
        parsed.manifests
          .filter(m => m.kind === 'Resource')
          .map(m => manifestKey(m).namespace),
      );
      const wanted = new Set(
        parsed.manifests.map(m => keyString(manifestKey(m))),
      );
      for (const r of state.ofKind('Resource')) {
        const key = manifestKey(r);
        if (
          namespaces.has(key.namespace) &&
          !wanted.has(keyString(key)) &&
          view.canRead({ ref: stringifyResourceRef(key), spec: r.spec })
        ) {
          remove.push(key);
        }
      }
    }
    return { put, remove };
  }

  planOf(
    state: DesiredState,
    parsed: ParsedManifests,
    changes: ChangeSet,
  ): Omit<Plan, 'refusals'> {
    return planOf(state, parsed, changes);
  }

  /**
   * What the manifests would change in the current desired state, not yet validated: what an
   * authorization decides on. `signature` names what the change overwrites (each object and
   * its digest before); {@link apply} refuses to commit a change with another signature.
   */
  async diff(
    parsed: ParsedManifests,
    view: ResourceView = ResourceView.everything,
  ): Promise<{
    state: DesiredState;
    changes: ChangeSet;
    signature: string;
  }> {
    const state = await this.changes.current();
    const changes = this.changeSet(state, parsed, view);
    return { state, changes, signature: signatureOf(state, changes) };
  }

  /**
   * Validates against the current desired state (as `view` sees it: see checkedInView) and
   * runs admission, and returns the plan with what admission would refuse; writes and
   * records nothing.
   */
  async plan(
    parsed: ParsedManifests,
    ctx?: CallContext,
    view: ResourceView = ResourceView.everything,
  ): Promise<Plan> {
    const { state, next, changes, refusals } = await this.changes.dryRun({
      action: 'manifests.apply',
      actor: ctx?.actor,
      requestId: ctx?.requestId,
      ...checkedInView(view, s => this.changeSet(s, parsed, view)),
    });
    const warnings = deprecationWarnings(next, changes.put);
    const breaking = breakingOfPlan(state, next, changes);
    return {
      ...this.planOf(state, parsed, changes),
      refusals: refusals.map(r => ({
        ref: r.ref,
        code: r.code,
        message: r.message,
        ...(r.field ? { field: r.field } : {}),
      })),
      ...(breaking ? { breaking } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }

  /** Validates against the current desired state, as {@link plan} does; writes nothing. */
  async validate(
    parsed: ParsedManifests,
    view: ResourceView = ResourceView.everything,
  ): Promise<void> {
    await this.changes.dryRun({
      admission: false,
      sync: false,
      ...checkedInView(view, s => this.changeSet(s, parsed, view)),
    });
  }

  /**
   * Applies the manifests as one commit (none when nothing changes). With `signature` (from
   * {@link diff}, what the caller was authorized for), refuses with 409 a change that would
   * overwrite something else because the state moved meanwhile.
   */
  async apply(
    parsed: ParsedManifests,
    ctx: CallContext,
    signature?: string,
    view: ResourceView = ResourceView.everything,
  ): Promise<Plan> {
    let plan: Omit<Plan, 'refusals'> | undefined;
    let before: DesiredState | undefined;
    const result = await this.changes.apply({
      actor: ctx.actor,
      action: 'manifests.apply',
      target: 'state-repo',
      message: `apply ${parsed.manifests.length} manifest${
        parsed.manifests.length === 1 ? '' : 's'
      }`,
      requestId: ctx.requestId,
      idempotencyKey: ctx.idempotencyKey,
      source: ctx.source,
      acknowledgeBreaking: parsed.acknowledgeBreaking,
      compute: state => {
        const changes = this.changeSet(state, parsed, view);
        if (signature && signatureOf(state, changes) !== signature) {
          throw new ConflictError(
            'The desired state changed while the manifests were checked (an object they change was changed, created or deleted meanwhile); plan and apply again',
          );
        }
        plan = this.planOf(state, parsed, changes);
        before = state;
        return changes;
      },
    });
    // A retried request whose commit had already landed computes no plan: all is unchanged.
    const final =
      plan ?? this.planOf(result.state, parsed, { put: [], remove: [] });
    const breaking =
      result.commit && before
        ? breakingOfPlan(before, result.state, result.changes)
        : undefined;
    return {
      ...final,
      refusals: [],
      ...(result.commit ? { commit: result.commit } : {}),
      ...(breaking ? { breaking } : {}),
    };
  }
}

/**
 * What a change breaks, for its plan: every breaking change (as `idp validate` and a pull
 * request's plan list them) and each product definition it touches, with the resources its
 * findings reach and the migration guide; undefined when it breaks nothing and touches no
 * definition.
 */
export function breakingOfPlan(
  state: DesiredState,
  next: DesiredState,
  changes: ChangeSet,
): Plan['breaking'] {
  const changed = changes.put.map(manifestKey);
  const all = breakingChanges(state, next, changed, changes.remove);
  const definitions = definitionImpacts(state, next, changed, changes.remove);
  if (all.length === 0 && definitions.length === 0) return undefined;
  return {
    changes: all.map(b => ({
      ref: refOf(b.key),
      code: b.code,
      message: b.message,
    })),
    definitions: definitions.map(({ source: _source, ...d }) => ({
      ...d,
      guide: migrationGuide({ ...d, source: _source }),
    })),
    acknowledgementRequired: definitions.some(breaksResources),
  };
}

/** What a change overwrites: each object it writes or removes, with its digest before. */
function signatureOf(state: DesiredState, changes: ChangeSet): string {
  const keys = [...changes.put.map(manifestKey), ...changes.remove];
  return digestOf(
    keys
      .map(k => {
        const current = state.get(k.kind, k.name, k.namespace);
        return [keyString(k), current ? digestOf(current) : null];
      })
      .sort((a, b) => canonicalJson(a).localeCompare(canonicalJson(b))),
  );
}
