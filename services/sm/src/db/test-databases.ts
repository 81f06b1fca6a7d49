/** The databases sm's tests run on: SQLite always, MariaDB from the peer `npm test` starts. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '@cx/config';
import { createLogger } from '@cx/service-kit';
import { buildSmApp, type SmApp } from '../app.js';
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

/** sm's whole app on a fresh SQLite file, for tests of its routes; `env` adds settings to the token and key. */
export async function smAppOnSqlite(serviceToken: string, env: Record<string, string> = {}): Promise<SmApp> {
  const dir = mkdtempSync(join(tmpdir(), 'cx-sm-app-'));
  const config = loadConfig({
    env: {
      CX_DATA_DIR: dir,
      CX_DATABASE_URL: `sqlite:${join(dir, 'cx.db')}`,
      CX_SECRET_KEY: 's'.repeat(32),
      CX_SERVICE_TOKEN: serviceToken,
      ...env,
    },
  });
  return buildSmApp(config, createLogger({ level: 'silent', service: 'sm' }));
}
