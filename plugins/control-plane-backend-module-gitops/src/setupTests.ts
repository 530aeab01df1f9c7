import { TestDatabases } from '@backstage/backend-test-utils';

// Every store test runs on SQLite and PostgreSQL. scripts/test finds or starts a PostgreSQL and
// sets this variable; without it the suite fails instead of quietly testing SQLite alone.
const pgVariable = 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';
if (!process.env[pgVariable]) {
  throw new Error(
    `${pgVariable} is not set: store tests need PostgreSQL as well as SQLite. ` +
      'Run the tests through ./scripts/test, which provides one.',
  );
}
TestDatabases.setDefaults({ ids: ['SQLITE_3', 'POSTGRES_15'] });
