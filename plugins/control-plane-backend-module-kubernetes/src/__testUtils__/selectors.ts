import { FakeKind } from './fakeKinds';
import { Obj } from './jsonPaths';

/** What a list or a watch asks for: a kind, maybe a namespace, and its query's selectors. */
export interface Selection {
  kind: FakeKind;
  namespace?: string;
  query: Record<string, string>;
}

/**
 * Whether `o` is of the selection's kind and namespace, and matches its equality
 * `labelSelector` and its `metadata.name` / `metadata.namespace` `fieldSelector`.
 */
export function selects(w: Selection, o: Obj): boolean {
  const labels = (w.query.labelSelector ?? '')
    .split(',')
    .filter(Boolean)
    .map(term => term.split('='));
  const fields = (w.query.fieldSelector ?? '')
    .split(',')
    .filter(Boolean)
    .map(term => term.split('='));
  const field = (path: string) =>
    path === 'metadata.name' || path === 'metadata.namespace'
      ? o.metadata[path.slice('metadata.'.length)]
      : undefined;
  return (
    o.kind === w.kind.kind &&
    o.apiVersion === w.kind.apiVersion &&
    (w.namespace === undefined || o.metadata.namespace === w.namespace) &&
    labels.every(([k, v]) => o.metadata.labels?.[k] === v) &&
    fields.every(([k, v]) => field(k) === v)
  );
}
