/**
 * SQLite's WAL checkpoints, on a thread of their own. By default the connection that commits runs
 * one whenever the write-ahead log passes 1,000 pages: sm's only connection, on its event loop.
 * Under load that was one commit in about twenty, taking 8 ms (copying 4 MB back into the database
 * and two fsyncs) while every request and step waited (docs/benchmarks.md). A worker thread now
 * checkpoints every 100 ms from its own connection (PASSIVE: it never waits for sm, nor sm for it);
 * sm's own connection checkpoints only past FALLBACK_PAGES, when writes outran the thread, and then
 * finds most pages copied already.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import type { Logger } from 'pino';

export interface WalCheckpointSettings {
  path: string;
  intervalMs: number;
}

const INTERVAL_MS = 100;
/** Pages of log past which sm's connection checkpoints itself (4 KiB each: 16 MiB). */
const FALLBACK_PAGES = 4_000;
const STOP_TIMEOUT_MS = 5_000;

export class WalCheckpoints {
  private constructor(private readonly worker: Worker) {}

  /** Starts for a SQLite file (`sqlite:PATH`); MariaDB and in-memory databases need none. */
  static async start(url: string, db: Knex, logger: Logger): Promise<WalCheckpoints | undefined> {
    const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined;
    if (!path || path === ':memory:') return undefined;
    await db.raw(`PRAGMA wal_autocheckpoint = ${FALLBACK_PAGES}`);
    const settings: WalCheckpointSettings = { path, intervalMs: INTERVAL_MS };
    const worker = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData: settings });
    worker.unref();
    worker.on('message', (message: { failed?: string }) =>
      logger.warn({ err: message.failed }, 'WAL checkpoint failed; it is tried again in 100 ms'),
    );
    worker.on('error', (error) =>
      logger.warn({ err: error }, "WAL checkpoints stopped; sm's own connection checkpoints from now on"),
    );
    return new WalCheckpoints(worker);
  }

  /** Asks the thread to close its connection, and ends it if it has not within 5 s. */
  async stop(): Promise<void> {
    if (this.worker.threadId === -1) return; // ended already
    const exited = once(this.worker, 'exit');
    this.worker.postMessage('stop');
    const timeout = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timeout);
    }
  }
}
