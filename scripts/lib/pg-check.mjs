// Exits 0 when the PostgreSQL at the given connection string answers and lets us create a
// database (what the tests do), 1 otherwise.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

const client = new Client({
  connectionString: process.argv[2],
  connectionTimeoutMillis: 3000,
});
try {
  await client.connect();
  const { rows } = await client.query(
    'select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user',
  );
  process.exitCode = rows[0]?.ok ? 0 : 1;
} catch (e) {
  console.error(String(e.message ?? e));
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
