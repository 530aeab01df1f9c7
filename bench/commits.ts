/**
 * Counting commits, for benchmarks that report how many a unit of work makes (e.g. `yarn
 * bench saga`: the commits of one saga on each database).
 */
import { Knex } from 'knex';

/**
 * Counts commits at the database driver: each transaction that committed a write, and each
 * write outside a transaction (it commits alone); a savepoint is part of its transaction.
 * It wraps the raw connections the knex pool hands out, so it sees the engine's statements
 * whether they go through the query builder or straight to the driver (the engine's hot
 * path: a named PostgreSQL statement, a native better-sqlite3 transaction). Transactions
 * that write only the simulated cloud's own tables are the driver's, not the engine's.
 * Create it before the database is first used: a statement a connection prepared before
 * (better-sqlite3 keeps them) would go unseen.
 */
export function commitCounter(knex: Knex) {
  let commits = 0;
  let counting = false;
  const wrapped = new WeakSet<object>();
  const engineWrite = (tables: Set<string>) =>
    [...tables].some(name => !name.startsWith('simulator_'));

  /** The statements of one connection, in order; `native` inside a driver transaction. */
  function tracker() {
    let tables: Set<string> | undefined; // set while a transaction is open
    return {
      statement(sql: string) {
        const text = sql.trim();
        if (/^begin/i.test(text)) tables = new Set();
        else if (/^commit/i.test(text)) this.end(true);
        else if (/^rollback(?!\s+to)/i.test(text)) this.end(false);
        else if (/^(insert|update|delete|with)/i.test(text)) {
          const table = /(?:into|update|from)\s+[`"]?(\w+)/i.exec(text)?.[1];
          const touched = new Set(table ? [table] : []);
          if (tables) touched.forEach(t => tables!.add(t));
          else if (counting && engineWrite(touched)) commits += 1;
        }
      },
      begin() {
        tables = new Set();
      },
      end(committed: boolean) {
        if (committed && counting && tables && engineWrite(tables)) {
          commits += 1;
        }
        tables = undefined;
      },
    };
  }

  function wrapPostgres(client: any) {
    const track = tracker();
    const query = client.query;
    client.query = function counted(config: any, ...rest: unknown[]) {
      track.statement(typeof config === 'string' ? config : config.text);
      return query.call(client, config, ...rest);
    };
  }

  function wrapSqlite(db: any) {
    const track = tracker();
    const prepare = db.prepare;
    db.prepare = function counted(sql: string, ...rest: unknown[]) {
      const statement = prepare.call(db, sql, ...rest);
      for (const method of ['run', 'all', 'get']) {
        const original = statement[method];
        statement[method] = (...args: unknown[]) => {
          track.statement(sql);
          return original.apply(statement, args);
        };
      }
      return statement;
    };
    const transaction = db.transaction;
    db.transaction = function counted(fn: (...args: any[]) => unknown) {
      const tx = transaction.call(db, fn);
      const variant =
        (run: (...args: any[]) => unknown) =>
        (...args: any[]) => {
          if (db.inTransaction) return run(...args); // a savepoint
          track.begin();
          try {
            const result = run(...args);
            track.end(true);
            return result;
          } catch (error) {
            track.end(false);
            throw error;
          }
        };
      return Object.assign(variant(tx), {
        default: variant(tx.default),
        deferred: variant(tx.deferred),
        immediate: variant(tx.immediate),
        exclusive: variant(tx.exclusive),
      });
    };
  }

  const onAcquire = (_eventId: unknown, connection: any) => {
    if (wrapped.has(connection)) return;
    wrapped.add(connection);
    if (typeof connection.prepare === 'function') wrapSqlite(connection);
    else wrapPostgres(connection);
  };
  const pool = (knex.client as any).pool;
  pool.on('acquireSuccess', onAcquire);
  return {
    start() {
      counting = true;
    },
    stop() {
      counting = false;
      pool.removeListener('acquireSuccess', onAcquire);
      return commits;
    },
  };
}
