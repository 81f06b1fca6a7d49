/** The databases sm's tests run on: SQLite always, MariaDB from the peer `npm test` starts. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from './database.js';

export interface TestDatabase {
  name: string;
  open: () => Promise<{ db: Knex; drop: () => Promise<void> }>;
}

export const testDatabases: TestDatabase[] = [
  {
    name: 'SQLite',
    open: async () => ({
      db: openDatabase(`sqlite:${join(mkdtempSync(join(tmpdir(), 'cx-sm-')), 'cx.db')}`, 1),
      drop: async () => undefined,
    }),
  },
  {
    name: 'MariaDB',
    open: async () => {
      const mysqlUrl = process.env['CX_TEST_MYSQL_URL'];
      assert.ok(
        mysqlUrl,
        'CX_TEST_MYSQL_URL is not set: run the tests with `npm test`, which starts MariaDB (test/peers/mariadb.sh)',
      );
      const name = `cx_test_${randomBytes(4).toString('hex')}`;
      const admin = openDatabase(mysqlUrl, 1);
      await admin.raw(`create database ${name}`);
      await admin.destroy();
      const db = openDatabase(mysqlUrl.replace(/\/[^/]*$/, `/${name}`), 5);
      return {
        db,
        drop: async () => {
          const a = openDatabase(mysqlUrl, 1);
          await a.raw(`drop database ${name}`);
          await a.destroy();
        },
      };
    },
  },
];
