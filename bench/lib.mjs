// Shared by the benchmarks: starting `cx-server all-in-one` as a user would, on a fresh data directory.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { root } from '../scripts/lib.mjs';

/** Password of the bootstrap admin of every benchmarked cx. */
export const PASSWORD = 'bench-Admin-pw-1';
const server = join(root, 'apps/server/dist/main.js');

export function freePort() {
  return new Promise((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}

/** A fresh data directory under /tmp, which the `stop()` of the cx started on it removes. */
function temporaryDataDir() {
  return mkdtempSync(join(tmpdir(), 'cx-bench-'));
}

/**
 * Starts cx-server all-in-one with `env` over the defaults and waits until it is ready; `stop()` ends it.
 * `nodeArgs` go to node before the server (e.g. `--cpu-prof`); `pid` is the all-in-one's process.
 * Without `dataDir` it runs on a fresh directory that `stop()` removes; a `dataDir` given is the caller's.
 */
export async function startCx({ env = {}, dataDir, nodeArgs = [] } = {}) {
  if (!existsSync(server)) throw new Error(`${server} is missing: build first (npx tsc -b)`);
  const ownDataDir = dataDir === undefined;
  dataDir ??= temporaryDataDir();
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, server, 'all-in-one'], {
    cwd: dataDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      CX_DATA_DIR: dataDir,
      CX_HTTP_PORT: String(port),
      CX_ADMIN_PASSWORD: PASSWORD,
      CX_LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const exited = new Promise((done) => child.once('exit', done));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`cx exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      /* starting */
    }
    if (i > 600) throw new Error('cx did not start within 60 s');
    await sleep(100);
  }
  return {
    base,
    dataDir,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * Starts sm, sddc and wfm as three `cx-server` processes (the shape of compose and helm, one
 * replica each) with `env` over the defaults, each ready before the next (sm migrates the schema);
 * `pids` are the three processes, `stop()` ends them.
 */
export async function startSeparateCx({ env = {}, dataDir } = {}) {
  if (!existsSync(server)) throw new Error(`${server} is missing: build first (npx tsc -b)`);
  const ownDataDir = dataDir === undefined;
  dataDir ??= temporaryDataDir();
  const ports = { sm: await freePort(), sddc: await freePort(), wfm: await freePort() };
  const shared = {
    ...process.env,
    CX_DATA_DIR: dataDir,
    CX_ADMIN_PASSWORD: PASSWORD,
    CX_SECRET_KEY: randomBytes(32).toString('base64url'),
    CX_SERVICE_TOKEN: randomBytes(32).toString('base64url'),
    CX_SM_URL: `http://127.0.0.1:${ports.sm}`,
    CX_SM_PORT: String(ports.sm),
    CX_SDDC_PORT: String(ports.sddc),
    CX_HTTP_PORT: String(ports.wfm),
    CX_LOG_LEVEL: 'warn',
    ...env,
  };
  const children = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      const exited = new Promise((done) => (child.exitCode === null ? child.once('exit', done) : done()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    for (const service of ['sm', 'sddc', 'wfm']) {
      const child = spawn(process.execPath, [server, service], {
        cwd: dataDir,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: shared,
      });
      children.push(child);
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode} before it was ready`);
        try {
          if ((await fetch(`http://127.0.0.1:${ports[service]}/readyz`)).status === 200) break;
        } catch {
          /* starting */
        }
        if (i > 1200) throw new Error(`${service} did not start within 120 s`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { base: `http://127.0.0.1:${ports.wfm}`, dataDir, pids: children.map((c) => c.pid), stop };
}

/** Runs `work` over `items`, `width` at a time; its results, in the order of `items`. */
export async function pool(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]);
      }
    }),
  );
  return results;
}

/** Every cluster of `cx` (logged in: `cx.token`), page after page. */
export async function listAll(cx) {
  const all = [];
  let cursor = null;
  do {
    const response = await fetch(`${cx.base}/api/v1/clusters?limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${cx.token}` },
    });
    if (response.status !== 200)
      throw new Error(`GET /api/v1/clusters answered ${response.status}: ${await response.text()}`);
    const page = await response.json();
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}
