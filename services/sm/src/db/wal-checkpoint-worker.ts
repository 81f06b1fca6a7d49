/**
 * Worker-thread entry of WalCheckpoints: checkpoints sm's SQLite file from a connection of its
 * own, so that copying the write-ahead log back into the database, and the fsyncs that go with it,
 * happen beside sm's event loop instead of inside one of its commits.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { WalCheckpointSettings } from './wal-checkpoints.js';

interface SqliteFile {
  pragma(sql: string): unknown;
  close(): void;
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  options: { fileMustExist: boolean },
) => SqliteFile;

const { path, intervalMs } = workerData as WalCheckpointSettings;
const db = new Database(path, { fileMustExist: true });
// PASSIVE never waits for sm's readers or writers; this only covers the file's own locks.
db.pragma('busy_timeout = 1000');
let reported = false;
const timer = setInterval(() => {
  try {
    // Copies what it can and leaves the rest for the next turn; nothing to copy costs a few µs.
    db.pragma('wal_checkpoint(PASSIVE)');
    reported = false;
  } catch (error) {
    if (!reported) parentPort?.postMessage({ failed: (error as Error).message });
    reported = true;
  }
}, intervalMs);

parentPort?.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
