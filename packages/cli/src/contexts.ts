/**
 * The credentials file of `cx`: one context per server and user (kubectl's contexts), the current
 * one marked, kept in the user's config directory with mode 0600 because it holds bearer tokens.
 * A file of the first `cx` (one session: `{server, token, expiresAt, username}`) is read as one
 * context and rewritten in the new shape the next time the file is saved.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError, CliError, EXIT } from './exit-codes.js';

/** One server and the user signed in to it. */
export interface Context {
  name: string;
  server: string;
  username: string;
  token: string;
  expiresAt: string;
}

export interface CredentialsFile {
  apiVersion: 'cx/v1';
  currentContext: string | null;
  contexts: Context[];
}

const API_VERSION = 'cx/v1';

/**
 * Where the contexts live: `CX_CREDENTIALS_FILE`, else `CX_SESSION_FILE` (the first `cx`'s name for
 * it), else `$XDG_CONFIG_HOME/cx/credentials.json` (`~/.config/cx/credentials.json`).
 */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['CX_CREDENTIALS_FILE'] ?? env['CX_SESSION_FILE'] ?? join(configDir(env), 'credentials.json');
}

function configDir(env: NodeJS.ProcessEnv): string {
  return join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'cx');
}

/** The single-session file of the first `cx`, migrated when no credentials file exists yet. */
function legacySessionPath(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'session.json');
}

/** A context's default name: `user@host:port`, unique per server and user. */
export function contextName(server: string, username: string): string {
  let host = server;
  try {
    host = new URL(server).host;
  } catch {
    /* not a URL: keep it as it is */
  }
  return `${username}@${host}`;
}

/** Parses the file's text in either shape (contexts, or the first cx's single session). */
export function parseCredentials(text: string, path: string): CredentialsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not JSON (${(error as Error).message}); remove it and run \`cx login\` again`);
  }
  if (typeof raw !== 'object' || raw === null) throw new CliError(`${path} is not a cx credentials file`);
  const file = raw as Partial<CredentialsFile> & Partial<Omit<Context, 'name'>>;
  if (Array.isArray(file.contexts)) {
    return {
      apiVersion: API_VERSION,
      currentContext: typeof file.currentContext === 'string' ? file.currentContext : null,
      contexts: file.contexts.filter(isContext),
    };
  }
  // The first cx kept one session, without a name.
  if (typeof file.server === 'string' && typeof file.token === 'string' && typeof file.username === 'string') {
    const context: Context = {
      name: contextName(file.server, file.username),
      server: file.server,
      username: file.username,
      token: file.token,
      expiresAt: typeof file.expiresAt === 'string' ? file.expiresAt : '',
    };
    return { apiVersion: API_VERSION, currentContext: context.name, contexts: [context] };
  }
  throw new CliError(`${path} is not a cx credentials file; remove it and run \`cx login\` again`);
}

function isContext(value: unknown): value is Context {
  const c = value as Partial<Context> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.name === 'string' &&
    typeof c.server === 'string' &&
    typeof c.username === 'string' &&
    typeof c.token === 'string'
  );
}

/** Reads the contexts (none when there is no file); a legacy session file is read as one context. */
export function loadCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsFile {
  const path = credentialsPath(env);
  if (existsSync(path)) return parseCredentials(readFileSync(path, 'utf8'), path);
  const legacy = legacySessionPath(env);
  if (!env['CX_CREDENTIALS_FILE'] && !env['CX_SESSION_FILE'] && existsSync(legacy)) {
    const migrated = parseCredentials(readFileSync(legacy, 'utf8'), legacy);
    saveCredentials(migrated, env);
    rmSync(legacy, { force: true });
    return migrated;
  }
  return { apiVersion: API_VERSION, currentContext: null, contexts: [] };
}

/** Writes the file atomically (a temporary file renamed over it), readable by its owner only; no contexts: no file. */
export function saveCredentials(file: CredentialsFile, env: NodeJS.ProcessEnv = process.env): void {
  const path = credentialsPath(env);
  if (file.contexts.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Adds or replaces a context (same name) and makes it current. */
export function upsertContext(file: CredentialsFile, context: Context): CredentialsFile {
  return {
    apiVersion: API_VERSION,
    currentContext: context.name,
    contexts: [...file.contexts.filter((c) => c.name !== context.name), context].sort((a, b) =>
      a.name.localeCompare(b.name),
    ),
  };
}

/** Removes a context; when it was current, none is (the user picks one with `cx config use-context`). */
export function removeContext(file: CredentialsFile, name: string): CredentialsFile {
  return {
    apiVersion: API_VERSION,
    currentContext: file.currentContext === name ? null : file.currentContext,
    contexts: file.contexts.filter((c) => c.name !== name),
  };
}

/** The context a command runs in: `--context` / `CX_CONTEXT` when given, else the current one. */
export function selectContext(file: CredentialsFile, wanted?: string): Context {
  const name = wanted ?? file.currentContext;
  if (file.contexts.length === 0 || name === null || name === undefined) {
    throw new CliError(
      file.contexts.length === 0
        ? 'not signed in; run `cx login SERVER --username NAME` (or `cx login SERVER --sso`)'
        : `no current context; pick one with \`cx config use-context NAME\` (${file.contexts.map((c) => c.name).join(', ')})`,
      EXIT.unauthenticated,
    );
  }
  const context = file.contexts.find((c) => c.name === name);
  if (!context)
    throw new UsageError(
      `no context named ${name}; \`cx config get-contexts\` lists them (${file.contexts.map((c) => c.name).join(', ') || 'none'})`,
    );
  return context;
}
