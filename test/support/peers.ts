/** Access to the real peers `npm test` started (test/peers/). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

/** A fresh MariaDB database for one test, dropped by `drop()`. */
export async function createMysqlDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env['CX_TEST_MYSQL_URL'];
  assert.ok(
    base,
    'CX_TEST_MYSQL_URL is not set: run the tests with `npm test`, which starts MariaDB (test/peers/mariadb.sh)',
  );
  const name = `cx_e2e_${randomBytes(4).toString('hex')}`;
  const connection = await createConnection(base);
  await connection.query(`create database ${name}`);
  await connection.end();
  return {
    url: base.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const c = await createConnection(base);
      await c.query(`drop database if exists ${name}`);
      await c.end();
    },
  };
}

/** The slapd peer `npm test` started (test/peers/slapd.sh): URLs, CA and the service account. */
export interface SlapdPeer {
  url: string;
  ldapsUrl: string;
  caFile: string;
  bindDn: string;
  bindPassword: string;
  adminDn: string;
  adminPassword: string;
  baseDn: string;
  userBaseDn: string;
  groupBaseDn: string;
}

export function slapdPeer(): SlapdPeer {
  const raw = process.env['CX_TEST_SLAPD'];
  assert.ok(raw, 'CX_TEST_SLAPD is not set: run the tests with `npm test`, which starts slapd (test/peers/slapd.sh)');
  return JSON.parse(raw) as SlapdPeer;
}
