import { ServerResponse } from 'node:http';
import { clone, Obj } from './jsonPaths';
import { Selection, selects } from './selectors';

/** One change of an object, as a watch reports it. */
interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: number;
  object: Obj;
}

interface Watcher extends Selection {
  res: ServerResponse;
}

/** The watch event of a version no longer in the history. */
const expired = (from: number, compactedTo: number) => ({
  type: 'ERROR',
  object: {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `too old resource version: ${from} (${compactedTo})`,
    reason: 'Expired',
    code: 410,
  },
});

/**
 * What watches read, as the API server's watch cache keeps it: every change since the last
 * compaction, oldest first, and the watches open now, each told of the changes it selects.
 */
export class WatchCache {
  /** Every change, oldest first, since the last {@link WatchCache.compact}. */
  #history: WatchEvent[] = [];
  /** Versions at or below this one are no longer in the history. */
  #compactedTo = 0;
  #watchers = new Set<Watcher>();

  /** Watches open now. */
  get size(): number {
    return this.#watchers.size;
  }

  /** Records a change and tells the watches it matches. */
  record(type: WatchEvent['type'], object: Obj) {
    const event: WatchEvent = {
      type,
      resourceVersion: Number(object.metadata.resourceVersion),
      object: clone(object),
    };
    this.#history.push(event);
    for (const watcher of this.#watchers) {
      if (selects(watcher, event.object)) {
        watcher.res.write(
          `${JSON.stringify({ type, object: event.object })}\n`,
        );
      }
    }
  }

  /**
   * Streams a watch until the client goes away or the cache closes: first the changes after
   * `query.resourceVersion` (or `currentVersion`), then each change as it happens; a version
   * older than the history answers an `ERROR` event with a 410 `Status`.
   */
  open(selection: Selection, res: ServerResponse, currentVersion: number) {
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders(); // as the API server does: the client learns at once that it watches
    const from = Number(selection.query.resourceVersion ?? currentVersion);
    const watcher: Watcher = { ...selection, res };
    if (from < this.#compactedTo) {
      res.end(`${JSON.stringify(expired(from, this.#compactedTo))}\n`);
      return;
    }
    for (const event of this.#history) {
      if (event.resourceVersion > from && selects(watcher, event.object)) {
        res.write(
          `${JSON.stringify({ type: event.type, object: event.object })}\n`,
        );
      }
    }
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
  }

  /** Forgets the history up to `version`, as etcd compaction does. */
  compact(version: number) {
    this.#compactedTo = version;
    this.#history = [];
  }

  /** Compacts to `version` and ends every open watch with an `ERROR` event carrying a 410. */
  expire(version: number) {
    this.compact(version);
    for (const watcher of this.#watchers) {
      watcher.res.end(`${JSON.stringify(expired(0, this.#compactedTo))}\n`);
    }
    this.#watchers.clear();
  }

  /** Ends every open watch. */
  close() {
    for (const watcher of this.#watchers) watcher.res.end();
    this.#watchers.clear();
  }
}
