/**
 * The dependency graph of resources: `dependsOn` edges between resource refs. Pure functions.
 */

/** ref → the refs it depends on. */
export type DependencyGraph = Map<string, readonly string[]>;

/**
 * A cycle in the graph, as the list of refs around it (first repeated last), or undefined.
 */
export function findCycle(graph: DependencyGraph): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (ref: string): string[] | undefined => {
    const mark = state.get(ref);
    if (mark === 'done') return undefined;
    if (mark === 'visiting') {
      return [...stack.slice(stack.indexOf(ref)), ref];
    }
    state.set(ref, 'visiting');
    stack.push(ref);
    for (const dep of graph.get(ref) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(ref, 'done');
    return undefined;
  };

  for (const ref of [...graph.keys()].sort()) {
    const cycle = visit(ref);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The refs that depend on `ref` directly. */
export function directDependents(
  graph: DependencyGraph,
  ref: string,
): string[] {
  return [...graph.entries()]
    .filter(([, deps]) => deps.includes(ref))
    .map(([dependent]) => dependent)
    .sort();
}

/**
 * `ref` and everything that depends on it, transitively, in the order to delete them:
 * dependents before what they depend on (reverse topological order).
 */
export function deletionOrder(graph: DependencyGraph, ref: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (node: string) => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const dependent of directDependents(graph, node)) {
      visit(dependent);
    }
    order.push(node);
  };
  visit(ref);
  return order;
}

/**
 * The refs grouped in waves: each wave depends only on earlier waves, so a wave's members
 * can be provisioned in parallel. Assumes no cycle.
 */
export function provisioningWaves(graph: DependencyGraph): string[][] {
  const remaining = new Map(
    [...graph].map(([ref, deps]) => [
      ref,
      new Set(deps.filter(d => graph.has(d))),
    ]),
  );
  const waves: string[][] = [];
  while (remaining.size > 0) {
    const wave = [...remaining.entries()]
      .filter(([, deps]) => deps.size === 0)
      .map(([ref]) => ref)
      .sort();
    if (wave.length === 0) {
      throw new Error(
        `dependency cycle among ${[...remaining.keys()].join(', ')}`,
      );
    }
    waves.push(wave);
    for (const ref of wave) remaining.delete(ref);
    for (const deps of remaining.values())
      for (const ref of wave) deps.delete(ref);
  }
  return waves;
}
