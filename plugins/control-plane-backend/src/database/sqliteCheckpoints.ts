import { Knex } from 'knex';
import { Worker } from 'node:worker_threads';

/** What the checkpointing thread runs: a PASSIVE checkpoint of the file, every interval. */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true, timeout: 0 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or closing: the next turn tries again
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The databases checkpointed in the background already. */
const checkpointed = new WeakSet<Knex>();

/**
 * How many pages the write-ahead log may hold before the connection that commits checkpoints
 * it itself: a bound for when the background checkpoints cannot keep up (SQLite's default is
 * 1,000 pages, about 4 MB).
 */
export const INLINE_CHECKPOINT_PAGES = 16_000;

/**
 * Checkpoints a SQLite file's write-ahead log on a thread of its own. SQLite checkpoints
 * in the connection whose commit makes the log reach 1,000 pages: that commit then copies
 * the log into the database file and syncs it (tens to hundreds of milliseconds on a large
 * file), and with better-sqlite3, whose calls are synchronous, every request of the process
 * waits for it. Here a second connection, on a worker thread, runs a PASSIVE checkpoint
 * (which never blocks the writer or readers) every `intervalMs`; the request path's
 * connection checkpoints itself only past {@link INLINE_CHECKPOINT_PAGES}. Durability is
 * unchanged: a commit is durable in the log either way; a checkpoint only moves it.
 *
 * The thread stops when the knex pool is destroyed, and never keeps the process alive.
 */
export async function checkpointInBackground(
  db: Knex,
  filename: string,
  intervalMs = 250,
): Promise<void> {
  if (checkpointed.has(db)) return;
  checkpointed.add(db);
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: {
      driver: require.resolve('better-sqlite3'),
      filename,
      intervalMs,
    },
  });
  worker.unref();
  let stopped = false;
  // a thread that fails (no such file, no driver): SQLite's own checkpoints again
  worker.on('error', () => undefined);
  worker.on('exit', () => {
    if (!stopped) {
      db.raw('pragma wal_autocheckpoint = 1000').catch(() => undefined);
    }
  });
  await db.raw(`pragma wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
  const pool = (
    db.client as { pool?: { on(event: string, fn: () => void): void } }
  ).pool;
  pool?.on('poolDestroyRequest', () => {
    stopped = true;
    worker.postMessage('stop');
  });
}
