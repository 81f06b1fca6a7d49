/**
 * The console's files and browser sessions through inject: the page's CSP, the assets' caching,
 * the session cookie's attributes, the CSRF defence, and the bearer API left as it was.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { LoginRequest, Principal } from '@cx/api-schemas';
import { AuthenticationError } from '@cx/errors';
import { createHttpServer, createLogger } from '@cx/service-kit';
import type { SmClient } from '@cx/sm-contract';
import { webConsole } from './index.js';

const user: Principal = { id: 'u1', username: 'ada', source: 'local', role: 'user', groups: [] };

describe('web console', () => {
  let app: FastifyInstance;
  const dir = mkdtempSync(join(tmpdir(), 'cx-web-'));
  before(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>cx</title>');
    writeFileSync(join(dir, 'assets', 'main-ABC123.js'), 'console.log(1)');
    const sm = {
      login: async (body: LoginRequest) => {
        if (body.password !== 'right') throw new AuthenticationError('wrong user name or password', 'CX_LOGIN_FAILED');
        return { token: 'the-token', expiresAt: new Date(Date.now() + 3600_000).toISOString(), user };
      },
      introspect: async (token: string) => {
        if (token !== 'the-token') throw new AuthenticationError('token expired');
        return user;
      },
    } as unknown as SmClient;
    app = createHttpServer({
      service: 'wfm',
      logger: createLogger({ level: 'silent', service: 'wfm' }),
      readiness: {},
    });
    webConsole(app, { sm, dir });
    // A stand-in for the API: answers the credential it was called with; 'expired' is refused.
    const echo = async (request: { headers: Record<string, unknown> }) => {
      if (request.headers['authorization'] === 'Bearer expired') throw new AuthenticationError('token expired');
      return { authorization: request.headers['authorization'] ?? null };
    };
    app.get('/api/v1/echo', echo);
    app.post('/api/v1/echo', echo);
    await app.ready();
  });
  after(() => app.close());

  it('answers its page at / and at its client routes with a strict CSP, and hashed assets cached for a year', async () => {
    for (const url of ['/', '/clusters', '/clusters/c-1', '/admin', '/admin/audit']) {
      const page = await app.inject({ url });
      assert.equal(page.statusCode, 200, url);
      assert.match(page.headers['content-type'] as string, /^text\/html/);
      const csp = page.headers['content-security-policy'] as string;
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(page.headers['cache-control'], 'no-cache');
    }
    const asset = await app.inject({ url: '/assets/main-ABC123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['content-type'] as string, /^text\/javascript/);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await app.inject({ url: '/assets/missing-1.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/assets/..%2Findex.html' })).statusCode, 404);
    // The API's unknown paths stay problems, not the page.
    const unknown = await app.inject({ url: '/api/v1/nothing' });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.headers['content-type'] as string, /problem\+json/);
  });

  it('signs in into an HttpOnly SameSite=Strict cookie whose token the page never sees', async () => {
    const refused = await app.inject({
      method: 'POST',
      url: '/ui/session',
      payload: { username: 'ada', password: 'right' },
    });
    assert.equal(refused.statusCode, 403, 'a sign-in without the CSRF header (a cross-site form) is refused');
    assert.equal(refused.headers['set-cookie'], undefined);

    const wrong = await app.inject({
      method: 'POST',
      url: '/ui/session',
      headers: { 'x-cx-csrf': '1' },
      payload: { username: 'ada', password: 'wrong' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'CX_LOGIN_FAILED');

    const ok = await app.inject({
      method: 'POST',
      url: '/ui/session',
      headers: { 'x-cx-csrf': '1', origin: 'http://localhost:80' },
      payload: { username: 'ada', password: 'right' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().user.username, 'ada');
    assert.doesNotMatch(ok.body, /the-token/);
    const cookie = ok.headers['set-cookie'] as string;
    assert.match(cookie, /^cx_session=the-token; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3\d{3}$/);
    assert.doesNotMatch(cookie, /Secure/, 'plain http: a Secure cookie would never come back');
  });

  it('marks the cookie Secure when the request came over https (through a trusted proxy)', async () => {
    const proxied = createHttpServer({
      service: 'wfm',
      logger: createLogger({ level: 'silent', service: 'wfm' }),
      readiness: {},
      trustedProxies: ['127.0.0.1'],
    });
    webConsole(proxied, {
      sm: {
        login: async () => ({ token: 't', expiresAt: new Date(Date.now() + 60_000).toISOString() }),
      } as unknown as SmClient,
      dir,
    });
    try {
      const ok = await proxied.inject({
        method: 'POST',
        url: '/ui/session',
        remoteAddress: '127.0.0.1',
        headers: {
          'x-cx-csrf': '1',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'cx.example',
          origin: 'https://cx.example',
        },
        payload: { username: 'ada', password: 'right' },
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.match(ok.headers['set-cookie'] as string, /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    } finally {
      await proxied.close();
    }
  });

  it('keeps a single sign-on token in the cookie once sm knows it, asked with the CSRF header only', async () => {
    const expiresAt = new Date(Date.now() + 600_000).toISOString();
    const forged = await app.inject({
      method: 'POST',
      url: '/ui/session/token',
      payload: { token: 'the-token', expiresAt },
    });
    assert.equal(forged.statusCode, 403);
    const unknown = await app.inject({
      method: 'POST',
      url: '/ui/session/token',
      headers: { 'x-cx-csrf': '1' },
      payload: { token: 'made-up', expiresAt },
    });
    assert.equal(unknown.statusCode, 401);
    assert.equal(unknown.headers['set-cookie'], undefined);
    const ok = await app.inject({
      method: 'POST',
      url: '/ui/session/token',
      headers: { 'x-cx-csrf': '1' },
      payload: { token: 'the-token', expiresAt },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().user.username, 'ada');
    assert.match(
      ok.headers['set-cookie'] as string,
      /^cx_session=the-token; Path=\/; HttpOnly; SameSite=Strict; Max-Age=(599|600)$/,
    );
  });

  it('says who the cookie signs in, or null without a 401 (and drops a cookie no longer valid)', async () => {
    assert.deepEqual((await app.inject({ url: '/ui/session' })).json(), { user: null });
    assert.equal(
      (await app.inject({ url: '/ui/session', headers: { cookie: 'cx_session=the-token' } })).json().user.id,
      'u1',
    );
    const stale = await app.inject({ url: '/ui/session', headers: { cookie: 'cx_session=old' } });
    assert.equal(stale.statusCode, 200);
    assert.deepEqual(stale.json(), { user: null });
    assert.match(stale.headers['set-cookie'] as string, /^cx_session=; .*Max-Age=0/);
  });

  it('reads the cookie as the bearer token; a state-changing request needs the CSRF header and this Origin', async () => {
    const cookie = 'cx_session=the-token';
    assert.equal(
      (await app.inject({ url: '/api/v1/echo', headers: { cookie } })).json().authorization,
      'Bearer the-token',
    );

    const crossSite = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { cookie } });
    assert.equal(crossSite.statusCode, 403, 'a POST with only the cookie is refused');
    assert.match(crossSite.json().detail, /x-cx-csrf/);
    const otherOrigin = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { cookie, 'x-cx-csrf': '1', origin: 'https://evil.example' },
    });
    assert.equal(otherOrigin.statusCode, 403, 'another site’s Origin is refused even with the header');
    const opaque = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { cookie, 'x-cx-csrf': '1', origin: 'null' },
    });
    assert.equal(opaque.statusCode, 403, 'an opaque Origin is refused');
    const proxied = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { cookie, 'x-cx-csrf': '1', origin: 'https://localhost:80' },
    });
    assert.equal(proxied.statusCode, 200, 'the same host over https (TLS ended by a proxy) is this site');
    const sameSite = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { cookie, 'x-cx-csrf': '1', origin: 'http://localhost:80' },
    });
    assert.equal(sameSite.statusCode, 200, sameSite.body);
    assert.equal(sameSite.json().authorization, 'Bearer the-token');
  });

  it('leaves bearer requests alone (no CSRF header needed), and drops the cookie of a session that ended', async () => {
    const bearer = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { authorization: 'Bearer cli-token', cookie: 'cx_session=the-token' },
    });
    assert.equal(bearer.statusCode, 200);
    assert.equal(bearer.json().authorization, 'Bearer cli-token');
    assert.equal(bearer.headers['set-cookie'], undefined);

    const expired = await app.inject({ url: '/api/v1/echo', headers: { cookie: 'cx_session=expired' } });
    assert.equal(expired.statusCode, 401);
    assert.match(expired.headers['set-cookie'] as string, /^cx_session=; .*Max-Age=0/);
  });
});
