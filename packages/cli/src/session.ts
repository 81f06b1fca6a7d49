/**
 * The client side of `cx`: sign in to a cx API (password or OIDC device flow), keep the session in
 * the user's config directory (mode 0600), and sign out. Other commands use the saved session.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { CxError, fromProblem, type Problem } from '@cx/errors';

export interface Session {
  server: string;
  token: string;
  expiresAt: string;
  username: string;
}

const DEVICE_DEADLINE_MS = 15 * 60_000;

export function sessionFile(): string {
  return (
    process.env['CX_SESSION_FILE'] ??
    join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'cx', 'session.json')
  );
}

export function loadSession(): Session {
  const file = sessionFile();
  if (!existsSync(file)) throw new CxError('CX_UNAUTHENTICATED', 'not signed in; run `cx login --server URL`');
  return JSON.parse(readFileSync(file, 'utf8')) as Session;
}

function saveSession(session: Session): void {
  const file = sessionFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(session, null, 2), { mode: 0o600 });
}

/** Calls the API; problems become cx errors with the server's detail. */
export async function api<T>(
  server: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  let response: Response;
  try {
    response = await fetch(new URL(path, server), {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch (error) {
    throw new CxError(
      'CX_DEPENDENCY_UNAVAILABLE',
      `cannot reach ${server} (${(error as Error).message}); check --server`,
    );
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (response.status >= 400) throw fromProblem((body ?? {}) as Partial<Problem>, response.status);
  return { status: response.status, body: body as T };
}

export async function passwordLogin(
  server: string,
  username: string,
  password: string,
  provider?: 'local' | 'ldap',
): Promise<Session> {
  const { body } = await api<{ token: string; expiresAt: string; user: { username: string } }>(
    server,
    'POST',
    '/api/v1/auth/login',
    { body: { username, password, ...(provider ? { provider } : {}) } },
  );
  const session = { server, token: body.token, expiresAt: body.expiresAt, username: body.user.username };
  saveSession(session);
  return session;
}

/** OIDC device flow: tells the user where to approve, then polls at the interval the server gives. */
export async function deviceLogin(server: string, tell: (message: string) => void): Promise<Session> {
  const { body: device } = await api<{
    handle: string;
    userCode: string;
    verificationUri: string;
    verificationUriComplete: string | null;
    interval: number;
    expiresIn: number;
  }>(server, 'POST', '/api/v1/auth/oidc/device');
  tell(
    `To sign in, open ${device.verificationUriComplete ?? device.verificationUri}${device.verificationUriComplete ? '' : ` and enter the code ${device.userCode}`}\n`,
  );
  const deadline = Date.now() + Math.min(device.expiresIn * 1000, DEVICE_DEADLINE_MS);
  while (Date.now() < deadline) {
    await sleep(Math.max(1, device.interval) * 1000);
    const { status, body } = await api<{ token: string; expiresAt: string; user: { username: string } }>(
      server,
      'POST',
      '/api/v1/auth/oidc/device/token',
      { body: { handle: device.handle } },
    );
    if (status === 200) {
      const session = { server, token: body.token, expiresAt: body.expiresAt, username: body.user.username };
      saveSession(session);
      return session;
    }
  }
  throw new CxError('CX_LOGIN_FAILED', 'the sign-in was not approved in time; run `cx login --sso` again');
}

export async function logout(): Promise<void> {
  const file = sessionFile();
  if (!existsSync(file)) return;
  const session = loadSession();
  try {
    await api(session.server, 'POST', '/api/v1/auth/logout', { token: session.token });
  } catch (error) {
    if ((error as CxError).code !== 'CX_UNAUTHENTICATED') throw error; // an expired token is as good as revoked
  } finally {
    rmSync(file, { force: true });
  }
}

/** Reads a password from the terminal without echoing it (or one line from a pipe). */
export async function readPassword(prompt: string): Promise<string> {
  const fromEnv = process.env['CX_PASSWORD'];
  if (fromEnv) return fromEnv;
  const output = process.stderr;
  const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true });
  const muted = rl as unknown as { _writeToOutput?: (s: string) => void };
  if (process.stdin.isTTY) {
    output.write(prompt);
    muted._writeToOutput = () => undefined;
  }
  try {
    return await new Promise<string>((resolve) => rl.question(process.stdin.isTTY ? '' : prompt, resolve));
  } finally {
    if (process.stdin.isTTY) output.write('\n');
    rl.close();
  }
}
