import {
  deletionOrder,
  DependencyGraph,
  findCycle,
  provisioningWaves,
} from './graph';

const graph = (edges: Record<string, string[]>): DependencyGraph =>
  new Map(Object.entries(edges));

describe('dependency graph', () => {
  it.each([
    [{ web: ['db', 'cache'], db: [], cache: [] }, undefined],
    [{ a: ['b'], b: ['a'] }, ['a', 'b', 'a']],
    [{ a: ['b'], b: ['c'], c: ['a'], d: [] }, ['a', 'b', 'c', 'a']],
    [{ a: ['a'] }, ['a', 'a']],
    [
      { web: ['db'], worker: ['db', 'queue'], queue: ['db'], db: [] },
      undefined,
    ],
  ])('finds the cycle in %j: %j', (edges, cycle) => {
    expect(findCycle(graph(edges))).toEqual(cycle);
  });

  it('deletes dependents before what they depend on', () => {
    const g = graph({
      web: ['db', 'cache'],
      worker: ['db'],
      report: ['worker'],
      db: [],
      cache: [],
    });
    const order = deletionOrder(g, 'db');
    expect(order[order.length - 1]).toBe('db');
    expect(order.indexOf('report')).toBeLessThan(order.indexOf('worker'));
    expect(new Set(order)).toEqual(new Set(['db', 'web', 'worker', 'report']));
    expect(deletionOrder(g, 'cache')).toEqual(['web', 'cache']);
  });

  it('provisions independent resources in the same wave', () => {
    const g = graph({ web: ['db', 'cache'], db: [], cache: [], batch: ['db'] });
    expect(provisioningWaves(g)).toEqual([
      ['cache', 'db'],
      ['batch', 'web'],
    ]);
  });
});
