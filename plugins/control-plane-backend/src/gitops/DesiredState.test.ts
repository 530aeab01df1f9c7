import {
  Manifest,
  ManifestOf,
  manifestKey,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import fc from 'fast-check';
import { bootstrapManifests } from './bootstrap';
import { DesiredState, validateChange } from './DesiredState';

const resource = (
  name: string,
  dependsOn: string[] = [],
): ManifestOf<'Resource'> => ({
  apiVersion: 'idp.multicloud/v1',
  kind: 'Resource',
  metadata: { name, namespace: 'shop', labels: {} },
  spec: {
    product: 'redis',
    owner: 'group:default/shop',
    tier: 'low',
    cell: 'cell-us',
    params: {},
    dependsOn: dependsOn.map(d => `resource:shop/${d}`),
  },
});

const names = ['a', 'b', 'c', 'd', 'e', 'f'];

/** What a state says about every resource: manifests, and who depends on each. */
function view(state: DesiredState) {
  return {
    size: state.size,
    resources: state
      .ofKind('Resource')
      .map(m => JSON.stringify(m))
      .sort(),
    has: names.map(n =>
      state.has({ kind: 'Resource', namespace: 'shop', name: n }),
    ),
    dependents: names.map(n =>
      [...state.dependentsOf(`resource:shop/${n}`)].sort(),
    ),
  };
}

describe('DesiredState', () => {
  it('a long run of changes reads exactly like the same state built whole', () => {
    // Over MAX_LAYERS changes, in any order of writes and removals, with and without
    // looking at the index of dependents on the way.
    const change = fc.record({
      put: fc.array(
        fc.record({
          name: fc.constantFrom(...names),
          deps: fc.subarray(names),
        }),
        { maxLength: 3 },
      ),
      remove: fc.subarray(names, { maxLength: 2 }),
      peek: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(change, { minLength: 40, maxLength: 90 }),
        changes => {
          const base = bootstrapManifests('simulator');
          let state = DesiredState.create('c0', base);
          const whole = new Map<string, Manifest>(
            base.map(m => [JSON.stringify(manifestKey(m)), m]),
          );
          for (const { put, remove, peek } of changes) {
            const manifests = put.map(p => resource(p.name, p.deps));
            const keys = remove.map(name => ({
              kind: 'Resource' as const,
              namespace: 'shop',
              name,
            }));
            state = state.with(manifests, keys);
            for (const key of keys) whole.delete(JSON.stringify(key));
            for (const m of manifests) {
              whole.set(JSON.stringify(manifestKey(m)), m);
            }
            if (peek) state.dependentsOf('resource:shop/a');
          }
          expect(view(state)).toEqual(
            view(DesiredState.create(undefined, whole.values())),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('finds a cycle a change makes, naming the resources around it', () => {
    const state = DesiredState.create('c0', [
      ...bootstrapManifests('simulator'),
      resource('a', ['b']),
      resource('b', ['c']),
      resource('c'),
    ]);
    const next = state.with([resource('c', ['a'])]);
    const issues = validateChange(
      next,
      [{ kind: 'Resource', namespace: 'shop', name: 'c' }],
      [],
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        path: 'spec.dependsOn',
        message: `dependency cycle: ${['c', 'a', 'b', 'c']
          .map(n => stringifyResourceRef({ namespace: 'shop', name: n }))
          .join(' → ')}`,
      }),
    );
  });
});
