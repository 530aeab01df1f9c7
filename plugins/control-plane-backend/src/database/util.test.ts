import knexFactory from 'knex';
import { assertSupportedDatabase } from './util';

describe('assertSupportedDatabase', () => {
  it('takes PostgreSQL and better-sqlite3, and names any other client it refuses', async () => {
    const open = (client: string) =>
      knexFactory({ client, connection: {}, useNullAsDefault: true });
    const supported = [open('pg'), open('better-sqlite3')];
    const mysql = open('mysql2');
    try {
      for (const db of supported) {
        expect(() => assertSupportedDatabase(db)).not.toThrow();
      }
      expect(() => assertSupportedDatabase(mysql)).toThrow(
        /runs on PostgreSQL \(client pg\) or SQLite \(client better-sqlite3\), not mysql2/,
      );
    } finally {
      await Promise.all([...supported, mysql].map(db => db.destroy()));
    }
  });
});
