/**
 * Starts cx the way a user does (`cx-server all-in-one` as a child process) and talks to it only
 * through the public HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SimProvider, type SimMachine } from '@cx/providers-sim';
import { freePort } from '@cx/service-kit';

export { freePort };

/** Compiled to test/dist/support/, three levels below the repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** `cx-server`, the server launcher (apps/server). */
export const serverPath = join(repoRoot, 'apps/server/dist/main.js');
/** `cx`, the user CLI (packages/cli). */
export const cliPath = join(repoRoot, 'packages/cli/dist/main.js');
export const ADMIN_PASSWORD = 'e2e-Admin-pw-1';

/**
 * The environment the e2e tests run the real `cx` in: its own credentials file under `dir`, the
 * admin's password for `cx login`, no colour, and no context inherited from the shell.
 */
export function cliEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CX_CREDENTIALS_FILE: join(dir, 'credentials.json'),
    CX_PASSWORD: ADMIN_PASSWORD,
    NO_COLOR: '1',
  };
  delete env['CX_CONTEXT'];
  return env;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cx-${prefix}-`));
}

export interface CxProcess {
  base: string;
  dataDir: string;
  child: ChildProcess;
  logPath: string;
  /** Graceful stop (SIGTERM), waiting for the exit. */
  stop(): Promise<void>;
  /** `kill -9`. */
  crash(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
}

/** Starts `cx-server all-in-one` and waits until /readyz answers 200. */
export async function startCx(options: StartOptions = {}): Promise<CxProcess> {
  const dataDir = options.dataDir ?? tempDir('data');
  const port = options.port ?? (await freePort());
  const logPath = join(dataDir, `cx-${Date.now()}-${randomBytes(2).toString('hex')}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [serverPath, 'all-in-one'], {
    cwd: dataDir,
    env: {
      ...process.env,
      CX_HTTP_PORT: String(port),
      CX_DATA_DIR: dataDir,
      CX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CX_LOG_LEVEL: 'info',
      CX_SIM_LATENCY_MS: '50',
      CX_WORKFLOWS_RECONCILE_INTERVAL_MS: '1000',
      CX_WORKFLOWS_LOCK_DURATION_MS: '3000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`cx exited with ${child.exitCode} before it was ready:\n${tail(logPath)}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`cx was not ready within 60 s:\n${tail(logPath)}`);
    await sleep(200);
  }
  return {
    base,
    dataDir,
    child,
    logPath,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000, undefined, { ref: false })]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A logged-in API client. */
export class Api {
  token = '';

  constructor(readonly base: string) {}

  static async login(base: string, username = 'admin', password = ADMIN_PASSWORD): Promise<Api> {
    const api = new Api(base);
    const answer = await api.call('POST', '/api/v1/auth/login', { username, password });
    if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    api.token = answer.body.token as string;
    return api;
  }

  async call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** Follows `/workflows/{id}/events` until the run is terminal; answers every run seen. */
  async follow(workflowId: string, timeoutMs = 60_000): Promise<any[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const seen: any[] = [];
    try {
      const response = await fetch(`${this.base}/api/v1/workflows/${workflowId}/events`, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: controller.signal,
      });
      if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/event-stream'))
        throw new Error(`events answered ${response.status}`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event === 'workflow' && data) seen.push(JSON.parse(data));
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      throw new Error(
        `workflow ${workflowId} did not finish within ${timeoutMs} ms; last seen: ${JSON.stringify(seen.at(-1))}`,
      );
    } finally {
      clearTimeout(timer);
    }
    return seen;
  }

  /** Polls GET /workflows/{id} until the run reaches one of `statuses`. */
  async waitForWorkflow(workflowId: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await this.call('GET', `/api/v1/workflows/${workflowId}`).catch(() => undefined);
      if (answer?.status === 200 && statuses.includes(answer.body.status)) return answer.body;
      if (Date.now() > deadline)
        throw new Error(
          `workflow ${workflowId} did not reach ${statuses.join('/')} within ${timeoutMs} ms: ${JSON.stringify(answer?.body)}`,
        );
      await sleep(200);
    }
  }
}

export const DEMO_CLUSTER = {
  provider: 'sim',
  kubernetesVersion: '1.31.4',
  controlPlane: { count: 3 },
  nodePools: [{ name: 'workers', count: 2 }],
};

/** Machines the sim provider keeps for a cluster (the "real infrastructure" of the sim). */
export function simMachines(dataDir: string, clusterId: string): SimMachine[] {
  return new SimProvider({ dataDir: join(dataDir, 'sim') }).allMachines().filter((m) => m.spec.clusterId === clusterId);
}

/** Kills the tenant control planes the kwok runtime of this cx started (detached, they outlive cx). */
export function stopKwokControlPlanes(dataDir: string | undefined): void {
  const runtime = join(dataDir ?? '/nonexistent', 'kwok');
  for (const dir of existsSync(runtime) ? readdirSync(runtime) : []) {
    const state = join(runtime, dir, 'state.json');
    if (!existsSync(state)) continue;
    for (const pid of Object.values(
      (JSON.parse(readFileSync(state, 'utf8')) as { pids: Record<string, number> }).pids,
    )) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/**
 * Polls `probe` until it answers something other than undefined (a probe that throws has not
 * answered yet); fails after `timeoutMs`, naming what it waited for, the probe's last error and
 * whatever `context` gives (the state a failure should show).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  options: { intervalMs?: number; context?: () => Promise<unknown> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const context = options.context ? `; ${JSON.stringify(await options.context().catch(() => undefined))}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}${context}`,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}
