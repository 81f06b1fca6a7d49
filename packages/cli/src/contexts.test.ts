import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  contextName,
  credentialsPath,
  loadCredentials,
  removeContext,
  saveCredentials,
  selectContext,
  upsertContext,
  type Context,
} from './contexts.js';
import { EXIT, type CliError } from './exit-codes.js';

const home = (): string => mkdtempSync(join(tmpdir(), 'cx-contexts-'));
const context = (server: string, username: string, token = 't'): Context => ({
  name: contextName(server, username),
  server,
  username,
  token,
  expiresAt: '2030-01-01T00:00:00.000Z',
});

describe('credentials file', () => {
  it('names a context user@host:port, unique per server and user', () => {
    assert.equal(contextName('http://127.0.0.1:8080', 'admin'), 'admin@127.0.0.1:8080');
    assert.equal(contextName('https://cx.example.com', 'alice'), 'alice@cx.example.com');
  });

  it('keeps several contexts in a file only its owner can read, the last signed in current', () => {
    const env = { XDG_CONFIG_HOME: home() };
    let file = loadCredentials(env);
    assert.deepEqual(file.contexts, []);
    file = upsertContext(file, context('http://a:1', 'admin'));
    file = upsertContext(file, context('http://b:2', 'bob'));
    saveCredentials(file, env);
    const path = credentialsPath(env);
    assert.equal(path, join(env.XDG_CONFIG_HOME, 'cx', 'credentials.json'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const read = loadCredentials(env);
    assert.deepEqual(
      read.contexts.map((c) => c.name),
      ['admin@a:1', 'bob@b:2'],
    );
    assert.equal(read.currentContext, 'bob@b:2');
    assert.equal(selectContext(read).username, 'bob');
    assert.equal(selectContext(read, 'admin@a:1').server, 'http://a:1');
  });

  it('signing in again to the same server as the same user replaces the context', () => {
    let file = upsertContext(loadCredentials({ XDG_CONFIG_HOME: home() }), context('http://a:1', 'admin', 'old'));
    file = upsertContext(file, context('http://a:1', 'admin', 'new'));
    assert.equal(file.contexts.length, 1);
    assert.equal(file.contexts[0]!.token, 'new');
  });

  it('removing the current context leaves none current; removing the last removes the file', () => {
    const env = { CX_CREDENTIALS_FILE: join(home(), 'creds.json') };
    let file = upsertContext(
      upsertContext(loadCredentials(env), context('http://a:1', 'x')),
      context('http://b:1', 'y'),
    );
    file = removeContext(file, 'y@b:1');
    assert.equal(file.currentContext, null);
    assert.throws(
      () => selectContext(file),
      /no current context; pick one with `cx config use-context NAME` \(x@a:1\)/,
    );
    saveCredentials(file, env);
    assert.equal(existsSync(env.CX_CREDENTIALS_FILE), true);
    saveCredentials(removeContext(file, 'x@a:1'), env);
    assert.equal(existsSync(env.CX_CREDENTIALS_FILE), false);
  });

  it('without contexts, says how to sign in (exit 3); an unknown context is a usage error (exit 2)', () => {
    const empty = loadCredentials({ CX_CREDENTIALS_FILE: join(home(), 'none.json') });
    assert.throws(
      () => selectContext(empty),
      (error: CliError) => error.exitCode === EXIT.unauthenticated && /cx login SERVER/.test(error.message),
    );
    const file = upsertContext(empty, context('http://a:1', 'x'));
    assert.throws(
      () => selectContext(file, 'nope'),
      (error: CliError) => error.exitCode === EXIT.usage,
    );
  });

  it("takes over the first cx's single session file, and removes it", () => {
    const env = { XDG_CONFIG_HOME: home() };
    const legacy = join(env.XDG_CONFIG_HOME, 'cx', 'session.json');
    mkdirSync(join(env.XDG_CONFIG_HOME, 'cx'), { recursive: true });
    writeFileSync(
      legacy,
      JSON.stringify({
        server: 'http://127.0.0.1:8080',
        token: 'tok',
        expiresAt: '2030-01-01T00:00:00Z',
        username: 'admin',
      }),
      { mode: 0o600 },
    );
    const file = loadCredentials(env);
    assert.equal(file.currentContext, 'admin@127.0.0.1:8080');
    assert.equal(selectContext(file).token, 'tok');
    assert.equal(existsSync(legacy), false, 'the old file is gone');
    const migrated = JSON.parse(readFileSync(credentialsPath(env), 'utf8')) as { apiVersion: string };
    assert.equal(migrated.apiVersion, 'cx/v1');
    assert.equal(statSync(credentialsPath(env)).mode & 0o777, 0o600);
  });

  it('reads an old session file named by CX_SESSION_FILE as one context', () => {
    const path = join(home(), 'session.json');
    writeFileSync(path, JSON.stringify({ server: 'http://h:1', token: 'tok', expiresAt: '', username: 'u' }));
    assert.equal(selectContext(loadCredentials({ CX_SESSION_FILE: path })).name, 'u@h:1');
  });

  it('refuses a file that is not a credentials file, saying what to do', () => {
    const path = join(home(), 'creds.json');
    writeFileSync(path, '{"hello":1}');
    assert.throws(() => loadCredentials({ CX_CREDENTIALS_FILE: path }), /not a cx credentials file; remove it/);
    writeFileSync(path, 'not json');
    assert.throws(() => loadCredentials({ CX_CREDENTIALS_FILE: path }), /is not JSON/);
  });
});
