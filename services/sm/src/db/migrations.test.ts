/**
 * Migrations from several sm replicas at once, on MariaDB (found by the chaos harness,
 * bench/chaos.mjs): two replicas starting together on a fresh database each inserted knex's lock
 * row, then both failed with "Migration table is already locked", as did every later start. And a
 * replica killed while migrating must not leave the lock taken for good.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { openDatabase } from './database.js';

describe('migrations from several replicas on MariaDB', () => {
  const mysqlUrl = process.env['CX_TEST_MYSQL_URL'];
  const name = `cx_migrate_${randomBytes(4).toString('hex')}`;
  const replicas: Knex[] = [];

  before(async () => {
    assert.ok(mysqlUrl, 'CX_TEST_MYSQL_URL is not set: run the tests with `npm test` (test/peers/mariadb.sh)');
    const admin = openDatabase(mysqlUrl, 1);
    await admin.raw(`create database ${name}`);
    await admin.destroy();
    // Each its own pool, as separate processes would have.
    for (let i = 0; i < 4; i++) replicas.push(openDatabase(mysqlUrl.replace(/\/[^/]*$/, `/${name}`), 3));
  });

  after(async () => {
    await Promise.all(replicas.map((db) => db.destroy()));
    if (!mysqlUrl) return;
    const admin = openDatabase(mysqlUrl, 1);
    await admin.raw(`drop database if exists ${name}`);
    await admin.destroy();
  });

  it('migrates a fresh database once when every replica starts at the same time', async () => {
    const applied = await Promise.all(replicas.map((db) => migrateLatest(db)));
    assert.equal(applied.filter((a) => a.length > 0).length, 1, 'exactly one replica applies the migrations');
    assert.ok(applied.flat().includes('0001_core'));
    assert.deepEqual(await replicas[0]!('cx_migrations_lock').select('is_locked'), [{ is_locked: 0 }]);
    // And they all start again together.
    assert.deepEqual(await Promise.all(replicas.map((db) => migrateLatest(db))), [[], [], [], []]);
  });

  it('starts after a replica was killed while it held the lock', async () => {
    await migrateLatest(replicas[0]!);
    await replicas[0]!('cx_migrations_lock').update({ is_locked: 1 });
    assert.deepEqual(await migrateLatest(replicas[1]!), []);
    assert.deepEqual(await replicas[1]!('cx_migrations_lock').select('is_locked'), [{ is_locked: 0 }]);
  });
});
