import {
  ManifestOf,
  manifestKey,
  parseResourceRef,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import type { ChangeSet } from '../gitops/ChangeService';
import type { DesiredState, ObjectIssue } from '../gitops/DesiredState';
import { keyString } from '../gitops/manifestCodec';
import { redact, ResourceView, viewedManifests } from './ResourceView';

/**
 * A check of a change as `view` sees the desired state: a resource the change newly refers
 * to (`dependsOn`) that `view` cannot read is left out of the state checked against, so the
 * reference is refused exactly as one to a missing resource; issues name no resource `view`
 * cannot read.
 */
export function checkedInView(
  view: ResourceView,
  compute: (state: DesiredState) => ChangeSet,
  describe: (issues: ObjectIssue[]) => ObjectIssue[] = i => i,
): {
  compute: (state: DesiredState) => ChangeSet;
  describeIssues: (issues: ObjectIssue[]) => ObjectIssue[];
} {
  let checked: DesiredState | undefined;
  let unseen = new Set<string>();
  let changed = new Set<string>();
  return {
    compute: state => {
      const changes = compute(state);
      checked = state;
      changed = new Set(changes.put.map(m => keyString(manifestKey(m))));
      // Only what the change refers to is looked at here (a change costs what it touches).
      const referred = changes.put.flatMap(m =>
        m.kind !== 'Resource'
          ? []
          : m.spec.dependsOn.map(d => ({
              m,
              ref: stringifyResourceRef(parseResourceRef(d)),
            })),
      );
      const hidden = view.hidden(
        viewedManifests(
          referred.flatMap(({ ref }) => state.resource(ref) ?? []),
        ),
      );
      unseen = new Set(
        referred
          .filter(
            ({ m, ref }) => hidden.has(ref) && !dependsAlready(state, m, ref),
          )
          .map(({ ref }) => ref),
      );
      return {
        put: changes.put,
        remove: [
          ...changes.remove,
          ...[...unseen].map(r => ({
            kind: 'Resource' as const,
            ...parseResourceRef(r),
          })),
        ],
      };
    },
    describeIssues: issues => {
      // The refs the caller wrote itself stay as written: for it, they name nothing.
      const hidden = checked
        ? view.hidden(viewedManifests(checked.each('Resource')))
        : new Set<string>();
      const named = new Set([...hidden].filter(r => !unseen.has(r)));
      return describe(
        issues.filter(
          // What leaving the unseen resources out does to others is not the caller's issue.
          i =>
            changed.has(keyString(i.key)) ||
            ![...unseen].some(
              r => redact(i.message, new Set([r])) !== i.message,
            ),
        ),
      ).map(i => ({
        ...i,
        path: redact(i.path, named),
        message: redact(i.message, named),
      }));
    },
  };
}

/** Whether `m` already depended on `dep` in `state`: a reference it keeps, not one it makes. */
function dependsAlready(
  state: DesiredState,
  m: ManifestOf<'Resource'>,
  dep: string,
): boolean {
  const current = state.resource(stringifyResourceRef(manifestKey(m)));
  return !!current?.spec.dependsOn.some(
    d => stringifyResourceRef(parseResourceRef(d)) === dep,
  );
}
