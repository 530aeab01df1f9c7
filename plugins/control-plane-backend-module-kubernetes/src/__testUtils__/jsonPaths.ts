/*
 * Objects as the API server keeps them, JSON, and the paths of their fields, which is how
 * server-side apply tracks who owns what.
 */

export type Obj = Record<string, any>;

/** A deep copy (JSON: objects are JSON anyway, and `structuredClone` crosses jest's realms). */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** The paths of the leaves of `value`; arrays are atomic, as in a list without merge keys. */
export function leafPaths(value: unknown, prefix: string[] = []): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length > 0) {
      return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    }
  }
  return [JSON.stringify(prefix)];
}

export function getPath(object: Obj, path: string[]): unknown {
  return path.reduce<any>(
    (o, k) => (o === undefined ? undefined : o[k]),
    object,
  );
}

export function setPath(object: Obj, path: string[], value: unknown) {
  let o = object;
  for (const k of path.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object' || Array.isArray(o[k])) o[k] = {};
    o = o[k];
  }
  o[path[path.length - 1]] = clone(value);
}

/** Removes a leaf and the objects it leaves empty. */
export function deletePath(object: Obj, path: string[]) {
  const parents: Obj[] = [];
  let o: any = object;
  for (const k of path.slice(0, -1)) {
    if (!o || typeof o !== 'object') return;
    parents.push(o);
    o = o[k];
  }
  if (!o || typeof o !== 'object') return;
  delete o[path[path.length - 1]];
  for (let i = parents.length - 1; i >= 0; i--) {
    const child = parents[i][path[i]];
    if (Object.keys(child).length > 0 || (i === 0 && path[0] === 'metadata')) {
      break;
    }
    delete parents[i][path[i]];
  }
}
