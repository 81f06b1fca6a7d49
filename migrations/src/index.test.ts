import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import knexFactory, { type Knex } from 'knex';
import { migrateLatest } from './index.js';

describe('migrateLatest on SQLite (the all-in-one)', () => {
  let dir: string;
  let db: Knex;
  const takeLock = (): Promise<unknown> => db('cx_migrations_lock').update({ is_locked: 1 });
  const lockTaken = async (): Promise<boolean> =>
    (await db('cx_migrations_lock').first<{ is_locked: number }>('is_locked'))?.is_locked === 1;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx-migrations-'));
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: join(dir, 'cx.db') },
      useNullAsDefault: true,
    });
    assert.ok((await migrateLatest(db)).length > 0, 'a fresh file gets every migration');
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('frees a lock left by a process killed while migrating, after waiting for it, and says so', async () => {
    await takeLock();
    const warnings: string[] = [];
    const startedAt = Date.now();
    assert.deepEqual(await migrateLatest(db, { staleLockMs: 400, warn: (m) => warnings.push(m) }), []);
    assert.ok(Date.now() - startedAt >= 400, 'the lock was waited for before it was deemed stale');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /killed while migrating/);
    assert.equal(await lockTaken(), false);
  });

  it('waits for a migrating process that frees its lock in time, without forcing it', async () => {
    await takeLock();
    const warnings: string[] = [];
    setTimeout(() => void db('cx_migrations_lock').update({ is_locked: 0 }).then(), 300); // a builder runs when awaited
    assert.deepEqual(await migrateLatest(db, { staleLockMs: 10_000, warn: (m) => warnings.push(m) }), []);
    assert.deepEqual(warnings, []);
    assert.equal(await lockTaken(), false);
  });
});
