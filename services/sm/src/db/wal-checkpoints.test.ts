/** WAL checkpoints on their own thread, against a real SQLite file. */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createLogger } from '@cx/service-kit';
import { openDatabase } from './database.js';
import { WalCheckpoints } from './wal-checkpoints.js';

const logger = createLogger({ level: 'silent', service: 'test' });

describe('WAL checkpoints', () => {
  it("copy the log into the database file from their own thread, while sm's connection does not", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cx-wal-')), 'cx.db');
    const db = openDatabase(`sqlite:${path}`, 1);
    await db.raw('CREATE TABLE `blobs` (`id` integer primary key, `data` text not null)');
    const checkpoints = await WalCheckpoints.start(`sqlite:${path}`, db, logger);
    assert.ok(checkpoints);
    const before = statSync(path).size;
    // About 2 MiB in one commit: 500 pages, fewer than sm's own connection waits for.
    await db.transaction(async (trx) => {
      for (let i = 0; i < 64; i++) await trx('blobs').insert({ id: i, data: 'x'.repeat(32_768) });
    });
    assert.ok(statSync(`${path}-wal`).size > 2_000_000, 'the commit went to the log');
    let after = statSync(path).size;
    for (let i = 0; i < 40 && after < before + 2_000_000; i++) {
      await sleep(50);
      after = statSync(path).size;
    }
    assert.ok(after >= before + 2_000_000, `the database file grew from ${before} to ${after} bytes`);
    await checkpoints.stop();
    await checkpoints.stop();
    const rows = (await db('blobs').count({ n: '*' })) as Array<{ n: number }>;
    assert.equal(Number(rows[0]!.n), 64);
    await db.destroy();
  });

  it('need no thread for MariaDB or an in-memory database', async () => {
    const db = openDatabase('sqlite::memory:', 1);
    assert.equal(await WalCheckpoints.start('sqlite::memory:', db, logger), undefined);
    assert.equal(await WalCheckpoints.start('mysql://cx@127.0.0.1:1/cx', db, logger), undefined);
    await db.destroy();
  });
});
