/**
 * Signing in and out: a password login (local or LDAP) or the OIDC device flow gives a token that
 * is kept as a context of the credentials file (contexts.ts); other commands run in a context.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from './client.js';
import {
  contextName,
  loadCredentials,
  removeContext,
  saveCredentials,
  selectContext,
  upsertContext,
  type Context,
} from './contexts.js';
import { CliError, EXIT, UsageError } from './exit-codes.js';

const DEVICE_DEADLINE_MS = 15 * 60_000;

interface LoginAnswer {
  token: string;
  expiresAt: string;
  user: { username: string };
}

/** A server given as `host:port` means `http://host:port`; a path or trailing slash is dropped. */
export function normalizeServer(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${server} is not a server address`, 'give it as http://host:port or host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${server}: only http and https servers are supported`);
  return url.origin;
}

function keep(server: string, answer: LoginAnswer, name?: string): Context {
  const context: Context = {
    name: name ?? contextName(server, answer.user.username),
    server,
    username: answer.user.username,
    token: answer.token,
    expiresAt: answer.expiresAt,
  };
  saveCredentials(upsertContext(loadCredentials(), context));
  return context;
}

export async function passwordLogin(
  server: string,
  username: string,
  password: string,
  options: { provider?: 'local' | 'ldap'; contextName?: string } = {},
): Promise<Context> {
  const { body } = await new Client(server).request<LoginAnswer>('POST', '/auth/login', {
    body: { username, password, ...(options.provider ? { provider: options.provider } : {}) },
  });
  return keep(server, body, options.contextName);
}

/** OIDC device flow: tells the user where to approve, then polls at the interval the server gives. */
export async function deviceLogin(
  server: string,
  tell: (message: string) => void,
  options: { contextName?: string } = {},
): Promise<Context> {
  const client = new Client(server);
  const { body: device } = await client.request<{
    handle: string;
    userCode: string;
    verificationUri: string;
    verificationUriComplete: string | null;
    interval: number;
    expiresIn: number;
  }>('POST', '/auth/oidc/device');
  tell(
    `To sign in, open ${device.verificationUriComplete ?? device.verificationUri}${device.verificationUriComplete ? '' : ` and enter the code ${device.userCode}`}\n`,
  );
  const deadline = Date.now() + Math.min(device.expiresIn * 1000, DEVICE_DEADLINE_MS);
  while (Date.now() < deadline) {
    await sleep(Math.max(1, device.interval) * 1000);
    const { status, body } = await client.request<LoginAnswer>('POST', '/auth/oidc/device/token', {
      body: { handle: device.handle },
    });
    if (status === 200) return keep(server, body, options.contextName);
  }
  throw new CliError(
    'the sign-in was not approved in time',
    EXIT.unauthenticated,
    undefined,
    'run `cx login --sso` again',
  );
}

/** Revokes the context's token and forgets the context; an already expired token counts as revoked. */
export async function logout(wanted?: string): Promise<Context | undefined> {
  const file = loadCredentials();
  if (file.contexts.length === 0) return undefined;
  const context = selectContext(file, wanted);
  try {
    await new Client(context.server, context.token).request('POST', '/auth/logout');
  } catch (error) {
    const status = (error as { status?: number }).status;
    // Expired or already revoked: as good as signed out. Unreachable: forget it anyway, say so.
    if (status !== 401 && (error as CliError).exitCode !== EXIT.unavailable) throw error;
  } finally {
    saveCredentials(removeContext(file, context.name));
  }
  return context;
}

/** The context a command runs in and a client signed in with it. */
export function connect(wanted?: string): { context: Context; client: Client } {
  const context = selectContext(loadCredentials(), wanted ?? process.env['CX_CONTEXT']);
  return { context, client: new Client(context.server, context.token) };
}

/** Reads a password from `CX_PASSWORD`, else from the terminal without echoing it (or one line from a pipe). */
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
    return await new Promise<string>((resolve, reject) => {
      rl.once('close', () => reject(new UsageError('no password given', 'type it, or set CX_PASSWORD')));
      rl.question(process.stdin.isTTY ? '' : prompt, resolve);
    });
  } finally {
    if (process.stdin.isTTY) output.write('\n');
    rl.close();
  }
}
