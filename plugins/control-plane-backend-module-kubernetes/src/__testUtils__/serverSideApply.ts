import { isDeepStrictEqual } from 'node:util';
import { ApiError } from './apiStatus';
import {
  clone,
  deletePath,
  getPath,
  leafPaths,
  Obj,
  setPath,
} from './jsonPaths';

/** An object as the fake stores it, with the fields each field manager owns. */
export interface Stored {
  object: Obj;
  /** Field manager → the leaf paths it owns (JSON-encoded path arrays). */
  owners: Map<string, Set<string>>;
}

/**
 * Server-side applies `body` to `stored` as `manager`: sets the fields it applies and takes
 * them over, removes the fields the manager applied before and no longer does (unless another
 * manager owns them too), and keeps everyone else's. A field another manager owns with a
 * different value is a conflict: 409, naming the manager and the field, unless `force` takes
 * it over. Identity (apiVersion, kind, name, namespace) and `status` are never applied.
 */
export function serverSideApply(
  stored: Stored,
  body: Obj,
  manager: string,
  force: boolean,
) {
  // what the manager applies, without identity and status
  const applied = clone(body);
  delete applied.apiVersion;
  delete applied.kind;
  delete applied.status;
  delete applied.metadata.name;
  delete applied.metadata.namespace;
  const paths = leafPaths(applied).filter(
    p => p !== '[]' && p !== '["metadata"]',
  );
  const { object, owners } = stored;

  const conflicts: string[] = [];
  for (const [other, owned] of owners) {
    if (other === manager) continue;
    for (const p of paths.filter(q => owned.has(q))) {
      const path = JSON.parse(p);
      if (isDeepStrictEqual(getPath(object, path), getPath(applied, path))) {
        continue;
      }
      if (force) {
        owned.delete(p);
      } else {
        conflicts.push(`conflict with "${other}": .${path.join('.')}`);
      }
    }
  }
  if (conflicts.length > 0) {
    const list = conflicts.join(', ');
    throw new ApiError(
      409,
      `Apply failed with ${conflicts.length} conflict(s): ${list}`,
    );
  }

  // fields the manager no longer applies, and nobody else owns, go
  for (const p of owners.get(manager) ?? []) {
    const ownedByOthers = [...owners].some(
      ([m, o]) => m !== manager && o.has(p),
    );
    if (!paths.includes(p) && !ownedByOthers) {
      deletePath(object, JSON.parse(p));
    }
  }
  for (const p of paths) {
    setPath(object, JSON.parse(p), getPath(applied, JSON.parse(p)));
  }
  owners.set(manager, new Set(paths));
}
