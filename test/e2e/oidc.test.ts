/**
 * OIDC single sign-on end to end: a real identity provider (oidc-provider, test/support/oidc-provider.ts)
 * and `cx-server all-in-one`, talking only HTTP. The browser code flow with PKCE (and returnTo), replay and
 * forgery of callbacks, grants to identity-provider groups, the device flow, the audit log, a name
 * clash with a local user, an identity provider that is down, and invalid configuration.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Api, freePort, startCx, type CxProcess } from '../support/cx.js';
import { startOidcProvider, type OidcAccount, type OidcPeer } from '../support/oidc-provider.js';

const CALLBACK_PATH = '/api/v1/auth/oidc/callback';
/** A groups claim that is not the default name, so that CX_OIDC_GROUPS_CLAIM is exercised too. */
const GROUPS_CLAIM = 'cx_groups';
const ACCOUNTS: OidcAccount[] = [
  { username: 'olivia', password: 'olivia-idp-pw', email: 'olivia@example.test', groups: ['oidc-viewers', 'platform'] },
  { username: 'bruno', password: 'bruno-idp-pw', email: 'bruno@example.test', groups: ['contractors'] },
  { username: 'carol', password: 'carol-idp-pw', email: 'carol@idp.example.test', groups: ['oidc-viewers'] },
  { username: 'dora', password: 'dora-idp-pw', groups: ['oidc-viewers', 'devices'] },
];

function oidcEnv(idp: Pick<OidcPeer, 'issuer' | 'clientId' | 'clientSecret'>): Record<string, string> {
  return {
    CX_OIDC_ISSUER: idp.issuer,
    CX_OIDC_CLIENT_ID: idp.clientId,
    CX_OIDC_CLIENT_SECRET: idp.clientSecret,
    CX_OIDC_SCOPES: 'openid profile email groups',
    CX_OIDC_GROUPS_CLAIM: GROUPS_CLAIM,
    CX_OIDC_ALLOW_HTTP: 'true',
  };
}

interface Raw {
  status: number;
  location: string | null;
  body: any;
}

/** One request without following redirects (the 302 to the provider, the 303 to returnTo). */
async function raw(url: string, init: RequestInit = {}): Promise<Raw> {
  const response = await fetch(url, { ...init, redirect: 'manual' });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: response.status, location: response.headers.get('location'), body };
}

async function distinctFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  for (;;) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
}

describe('OIDC single sign-on', () => {
  let idp: OidcPeer;
  let cx: CxProcess;
  let admin: Api;

  before(async () => {
    const port = await freePort();
    idp = await startOidcProvider({
      accounts: ACCOUNTS,
      redirectUris: [`http://127.0.0.1:${port}${CALLBACK_PATH}`],
      groupsClaim: GROUPS_CLAIM,
      deviceInterval: 1,
    });
    cx = await startCx({ port, env: oidcEnv(idp) });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
    await idp?.close();
  });

  /** GET /auth/oidc/login (302 to the provider), then the provider's login pages: answers cx's callback URL, not yet requested. */
  const callbackUrl = async (username: string, returnTo?: string): Promise<string> => {
    const start = await raw(
      `${cx.base}/api/v1/auth/oidc/login${returnTo === undefined ? '' : `?${new URLSearchParams({ returnTo })}`}`,
    );
    assert.equal(start.status, 302, JSON.stringify(start.body));
    assert.ok(start.location?.startsWith(`${idp.issuer}/`), `redirected to the identity provider: ${start.location}`);
    const account = ACCOUNTS.find((a) => a.username === username)!;
    const callback = await idp.browserLogin(start.location!, username, account.password);
    assert.ok(
      callback.startsWith(`${cx.base}${CALLBACK_PATH}?`),
      `the provider sends the browser back to cx: ${callback}`,
    );
    return callback;
  };
  /** A complete browser login without returnTo: the 200 answer of the callback. */
  const browserLogin = async (username: string): Promise<{ token: string; expiresAt: string; user: any }> => {
    const answer = await raw(await callbackUrl(username));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  };
  const apiWith = (token: string): Api => {
    const api = new Api(cx.base);
    api.token = token;
    return api;
  };
  /** Device flow as the CLI does it: start, approve at the provider, poll until the token comes. */
  const deviceLogin = async (username: string): Promise<{ handle: string; result: any }> => {
    const started = await raw(`${cx.base}/api/v1/auth/oidc/device`, { method: 'POST' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { handle, userCode, interval } = started.body as { handle: string; userCode: string; interval: number };
    await idp.approveDevice(userCode, username, ACCOUNTS.find((a) => a.username === username)!.password);
    const deadline = Date.now() + 20_000;
    for (;;) {
      await sleep(interval * 1000);
      const polled = await raw(`${cx.base}/api/v1/auth/oidc/device/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ handle }),
      });
      if (polled.status === 200) return { handle, result: polled.body };
      assert.equal(polled.status, 202, JSON.stringify(polled.body));
      if (Date.now() > deadline) throw new Error('the device login was not completed within 20 s of its approval');
    }
  };

  it('signs a browser in with the code flow and PKCE; the user is created with source oidc, the IdP username and groups', async () => {
    assert.deepEqual((await new Api(cx.base).call('GET', '/api/v1/auth/methods')).body, {
      local: true,
      ldap: false,
      oidc: true,
    });

    const start = await raw(`${cx.base}/api/v1/auth/oidc/login`);
    assert.equal(start.status, 302, JSON.stringify(start.body));
    const authorization = new URL(start.location!);
    assert.equal(authorization.origin, new URL(idp.issuer).origin, 'the browser goes to the identity provider');
    const params = authorization.searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), idp.clientId);
    assert.equal(params.get('redirect_uri'), `${cx.base}${CALLBACK_PATH}`);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'a SHA-256 code challenge, base64url');
    assert.deepEqual(params.get('scope')?.split(' ').sort(), ['email', 'groups', 'openid', 'profile']);
    assert.ok(params.get('state'), 'a state');
    assert.ok(params.get('nonce'), 'a nonce');
    assert.equal(params.get('code_verifier'), null, 'the verifier never leaves cx');
    // Every login has its own state and challenge.
    const second = new URL((await raw(`${cx.base}/api/v1/auth/oidc/login`)).location!).searchParams;
    assert.notEqual(second.get('state'), params.get('state'));
    assert.notEqual(second.get('code_challenge'), params.get('code_challenge'));

    const callback = await idp.browserLogin(start.location!, 'olivia', 'olivia-idp-pw');
    assert.ok(callback.startsWith(`${cx.base}${CALLBACK_PATH}?`), callback);
    assert.equal(new URL(callback).searchParams.get('state'), params.get('state'));
    const answer = await raw(callback);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(typeof answer.body.token === 'string' && answer.body.token.length > 20, 'an access token');
    assert.ok(Date.parse(answer.body.expiresAt) > Date.now(), 'expiresAt in the future');
    assert.equal(answer.body.user.username, 'olivia');
    assert.equal(answer.body.user.source, 'oidc');
    assert.equal(answer.body.user.role, 'user', 'an OIDC user is no admin by default');
    assert.deepEqual([...answer.body.user.groups].sort(), ['oidc-viewers', 'platform']);

    const whoami = await apiWith(answer.body.token).call('GET', '/api/v1/auth/whoami');
    assert.equal(whoami.status, 200, JSON.stringify(whoami.body));
    assert.equal(whoami.body.id, answer.body.user.id);
    assert.equal(whoami.body.username, 'olivia');
    assert.equal(whoami.body.source, 'oidc');
    assert.deepEqual([...whoami.body.groups].sort(), ['oidc-viewers', 'platform']);

    const users = await admin.call('GET', '/api/v1/users?limit=500');
    assert.equal(users.status, 200, JSON.stringify(users.body));
    const olivias = users.body.items.filter((u: { username: string }) => u.username === 'olivia');
    assert.equal(olivias.length, 1, JSON.stringify(olivias));
    assert.equal(olivias[0].source, 'oidc');
    assert.equal(olivias[0].id, answer.body.user.id);

    // Logging in again is the same user, not a second one.
    assert.equal((await browserLogin('olivia')).user.id, answer.body.user.id);
    assert.equal(
      (await admin.call('GET', '/api/v1/users?limit=500')).body.items.filter(
        (u: { username: string }) => u.username === 'olivia',
      ).length,
      1,
    );
  });

  it('returns to a path of cx with the token in the fragment, and refuses returnTo off the site', async () => {
    const answer = await raw(await callbackUrl('olivia', '/ui/'));
    assert.equal(answer.status, 303, JSON.stringify(answer.body));
    assert.match(answer.location ?? '', /^\/ui\/#token=/);
    const target = new URL(answer.location!, cx.base);
    assert.equal(target.origin, new URL(cx.base).origin);
    assert.equal(target.pathname, '/ui/');
    const fragment = new URLSearchParams(target.hash.slice(1));
    const token = fragment.get('token');
    assert.ok(token, 'token in the fragment');
    assert.ok(Date.parse(fragment.get('expiresAt') ?? '') > Date.now(), 'expiresAt in the fragment');
    assert.equal(target.search, '', 'the token is not in the query string, where servers log it');
    const whoami = await apiWith(token).call('GET', '/api/v1/auth/whoami');
    assert.equal(whoami.status, 200, JSON.stringify(whoami.body));
    assert.equal(whoami.body.username, 'olivia');

    // A deeper path with a query string is kept as it is.
    const deep = await raw(await callbackUrl('olivia', '/ui/clusters?tab=nodes'));
    assert.equal(deep.status, 303, JSON.stringify(deep.body));
    assert.match(deep.location ?? '', /^\/ui\/clusters\?tab=nodes#token=/);

    // Anything a browser would resolve to another site is refused before the provider is involved. Browsers
    // read `\` as `/` and drop tabs and newlines, so `/\evil.example` and `/<TAB>/evil.example` are `//evil.example`.
    for (const returnTo of [
      'https://evil.example/',
      '//evil.example',
      '//evil.example/ui/',
      '/\\evil.example',
      '/\\/evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      'ui/',
      'javascript:alert(1)',
    ]) {
      const refused = await raw(`${cx.base}/api/v1/auth/oidc/login?${new URLSearchParams({ returnTo })}`);
      assert.equal(
        refused.status,
        400,
        `returnTo=${JSON.stringify(returnTo)}: ${refused.status} ${refused.location ?? ''} ${JSON.stringify(refused.body)}`,
      );
      assert.equal(refused.body.code, 'CX_INPUT_INVALID', JSON.stringify(refused.body));
      assert.ok(
        refused.body.fields?.some((f: { field: string }) => f.field === 'querystring.returnTo'),
        JSON.stringify(refused.body),
      );
      assert.equal(refused.location, null);
    }
  });

  it('accepts a callback once: replays, forged states and provider errors are 401', async () => {
    const callback = await callbackUrl('olivia');
    const state = new URL(callback).searchParams.get('state')!;

    // A forged state with the genuine code is refused, and does not use up the genuine login.
    const forged = new URL(callback);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const forgedAnswer = await raw(forged.href);
    assert.equal(forgedAnswer.status, 401, JSON.stringify(forgedAnswer.body));
    assert.equal(forgedAnswer.body.code, 'CX_LOGIN_FAILED', JSON.stringify(forgedAnswer.body));
    assert.equal(forgedAnswer.body.token, undefined);
    assert.match(forgedAnswer.body.detail, /unknown or expired/, forgedAnswer.body.detail);

    const first = await raw(callback);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await raw(callback);
    assert.equal(replay.status, 401, JSON.stringify(replay.body));
    assert.equal(replay.body.code, 'CX_LOGIN_FAILED');
    assert.equal(replay.body.token, undefined);
    // cx itself refuses the used state; the provider would refuse the used code too (invalid_grant), but
    // that must not be what stops a replay.
    assert.match(replay.body.detail, /already used|unknown or expired/, replay.body.detail);
    assert.doesNotMatch(replay.body.detail, /invalid_grant/, replay.body.detail);

    // The provider says no (the user clicked "deny"): cx answers 401 naming the error, even with a state it issued.
    const started = new URL((await raw(`${cx.base}/api/v1/auth/oidc/login`)).location!);
    const denied = await raw(
      `${cx.base}${CALLBACK_PATH}?${new URLSearchParams({ error: 'access_denied', error_description: 'the user said no', state: started.searchParams.get('state')! })}`,
    );
    assert.equal(denied.status, 401, JSON.stringify(denied.body));
    assert.equal(denied.body.code, 'CX_LOGIN_FAILED');
    assert.match(denied.body.detail, /access_denied/);
    assert.notEqual(state, started.searchParams.get('state'));
  });

  it('grants to an identity-provider group apply to its OIDC members only', async () => {
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'oidc-demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const clusterId: string = created.body.cluster.id;
    const member = apiWith((await browserLogin('olivia')).token);
    const outsider = apiWith((await browserLogin('bruno')).token);

    assert.equal((await member.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404, 'no access before the grant');
    const grant = await admin.call('POST', '/api/v1/grants', {
      subject: { kind: 'group', name: 'oidc-viewers' },
      object: { kind: 'global' },
      role: 'viewer',
    });
    assert.equal(grant.status, 201, JSON.stringify(grant.body));

    const seen = await member.call('GET', `/api/v1/clusters/${clusterId}`);
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.equal(seen.body.name, 'oidc-demo');
    assert.ok(
      (await member.call('GET', '/api/v1/clusters?limit=500')).body.items.some(
        (c: { id: string }) => c.id === clusterId,
      ),
      'listed for the group member',
    );
    const hidden = await outsider.call('GET', `/api/v1/clusters/${clusterId}`);
    assert.equal(hidden.status, 404, JSON.stringify(hidden.body));
    assert.ok(
      !(await outsider.call('GET', '/api/v1/clusters?limit=500')).body.items.some(
        (c: { id: string }) => c.id === clusterId,
      ),
      'not listed for others',
    );
    // A viewer cannot change it.
    assert.equal((await member.call('DELETE', `/api/v1/clusters/${clusterId}`)).status, 403);
  });

  it('signs the CLI in with the device flow: pending until approved, then a token once', async () => {
    const started = await raw(`${cx.base}/api/v1/auth/oidc/device`, { method: 'POST' });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { handle, userCode, verificationUri, verificationUriComplete, expiresIn, interval } = started.body;
    assert.ok(typeof handle === 'string' && handle.length >= 20, 'an opaque handle');
    assert.ok(typeof userCode === 'string' && userCode.length > 0);
    assert.ok(verificationUri.startsWith(`${idp.issuer}/`), verificationUri);
    assert.ok(
      verificationUriComplete === null || verificationUriComplete.startsWith(`${idp.issuer}/`),
      String(verificationUriComplete),
    );
    assert.ok(expiresIn > 0);
    assert.equal(interval, 1, "the provider's interval is passed on");
    assert.equal(JSON.stringify(started.body).includes('device_code'), false, 'the device code stays in cx');

    const poll = () =>
      raw(`${cx.base}/api/v1/auth/oidc/device/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ handle }),
      });
    const pending = await poll();
    assert.equal(pending.status, 202, JSON.stringify(pending.body));
    assert.deepEqual(pending.body, { status: 'pending' });

    await idp.approveDevice(userCode, 'dora', 'dora-idp-pw');
    let done: Raw | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      await sleep(interval * 1000);
      const answer = await poll();
      if (answer.status === 200) {
        done = answer;
        break;
      }
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
    }
    assert.ok(done, 'the token came within 20 s of the approval');
    assert.equal(done.body.user.username, 'dora');
    assert.equal(done.body.user.source, 'oidc');
    assert.deepEqual([...done.body.user.groups].sort(), ['devices', 'oidc-viewers']);
    const whoami = await apiWith(done.body.token).call('GET', '/api/v1/auth/whoami');
    assert.equal(whoami.status, 200, JSON.stringify(whoami.body));
    assert.equal(whoami.body.username, 'dora');

    const again = await poll();
    assert.equal(again.status, 401, `a device login gives one token: ${JSON.stringify(again.body)}`);
    assert.equal(again.body.token, undefined);
    // cx forgot the handle; the provider would refuse the used device code too, but that must not be what stops it.
    assert.match(again.body.detail, /unknown or expired/, again.body.detail);
    const unknown = await raw(`${cx.base}/api/v1/auth/oidc/device/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: randomBytes(24).toString('base64url') }),
    });
    assert.equal(unknown.status, 401, JSON.stringify(unknown.body));
  });

  it('audits OIDC logins, successful and failed', async () => {
    const browser = await browserLogin('olivia');
    const device = await deviceLogin('dora');
    const failuresBefore = (await admin.call('GET', '/api/v1/audit?action=auth.oidc.login&outcome=failure&limit=1000'))
      .body.items.length as number;
    const forged = await raw(`${cx.base}${CALLBACK_PATH}?code=made-up&state=${randomBytes(32).toString('base64url')}`);
    assert.equal(forged.status, 401, JSON.stringify(forged.body));

    const logins = await admin.call(
      'GET',
      `/api/v1/audit?action=auth.oidc.login&outcome=success&targetId=${browser.user.id}&limit=1000`,
    );
    assert.equal(logins.status, 200, JSON.stringify(logins.body));
    assert.ok(
      logins.body.items.length >= 1,
      `a success entry for olivia's browser login: ${JSON.stringify(logins.body.items)}`,
    );
    for (const entry of logins.body.items) {
      assert.equal(entry.action, 'auth.oidc.login');
      assert.equal(entry.outcome, 'success');
      assert.equal(entry.targetKind, 'user');
      assert.equal(entry.targetId, browser.user.id);
    }
    assert.ok(
      logins.body.items.some(
        (e: { sourceIp: string | null }) => e.sourceIp === '127.0.0.1' || e.sourceIp === '::ffff:127.0.0.1',
      ),
      JSON.stringify(logins.body.items),
    );

    const devices = await admin.call(
      'GET',
      `/api/v1/audit?action=auth.oidc.device&outcome=success&targetId=${device.result.user.id}&limit=1000`,
    );
    assert.equal(devices.status, 200, JSON.stringify(devices.body));
    assert.ok(
      devices.body.items.length >= 1,
      `a success entry for dora's device login: ${JSON.stringify(devices.body.items)}`,
    );
    assert.ok(
      devices.body.items.every(
        (e: { action: string; actor: string }) => e.action === 'auth.oidc.device' && e.actor === 'dora',
      ),
      JSON.stringify(devices.body.items),
    );

    const failures = await admin.call('GET', '/api/v1/audit?action=auth.oidc.login&outcome=failure&limit=1000');
    assert.equal(failures.body.items.length, failuresBefore + 1, 'the forged callback is audited as a failure');
    assert.equal(failures.body.items[0].details?.code, 'CX_LOGIN_FAILED', JSON.stringify(failures.body.items[0]));

    // The audit log is for admins.
    assert.equal((await apiWith(browser.token).call('GET', '/api/v1/audit?action=auth.oidc.login')).status, 403);
  });

  it('refuses an OIDC login whose username belongs to a local user, leaving the local user unchanged', async () => {
    const created = await admin.call('POST', '/api/v1/users', { username: 'carol', password: 'carol-local-pw' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const before = await admin.call('GET', `/api/v1/users/${created.body.id}`);
    assert.equal(before.status, 200);

    const clash = await raw(await callbackUrl('carol'));
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    assert.equal(clash.body.code, 'CX_NAME_TAKEN');
    assert.equal(clash.body.token, undefined);

    const after = await admin.call('GET', `/api/v1/users/${created.body.id}`);
    assert.equal(after.status, 200);
    assert.deepEqual(
      after.body,
      before.body,
      'the local carol is untouched (no email, groups or source from the provider)',
    );
    assert.equal(after.body.source, 'local');
    assert.equal(
      (await admin.call('GET', '/api/v1/users?limit=500')).body.items.filter(
        (u: { username: string }) => u.username === 'carol',
      ).length,
      1,
    );
    const local = await Api.login(cx.base, 'carol', 'carol-local-pw');
    const whoami = await local.call('GET', '/api/v1/auth/whoami');
    assert.equal(whoami.body.source, 'local');
    assert.deepEqual(whoami.body.groups, [], 'no groups from the provider');
  });
});

describe('OIDC with the identity provider down', () => {
  let cx: CxProcess;
  let idp: OidcPeer | undefined;
  let idpPort: number;
  let cxPort: number;
  const clientSecret = randomBytes(24).toString('base64url');

  before(async () => {
    [idpPort, cxPort] = await distinctFreePorts();
    // Nothing listens on idpPort: discovery fails, but only on first use, not at start.
    cx = await startCx({
      port: cxPort,
      env: oidcEnv({ issuer: `http://127.0.0.1:${idpPort}`, clientId: 'cx-test-client', clientSecret }),
    });
  });
  after(async () => {
    await cx?.stop();
    await idp?.close();
  });

  it('starts, answers 503 naming the issuer setting, keeps local login, and recovers once the provider is up', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/auth/oidc/login'],
      ['POST', '/api/v1/auth/oidc/device'],
    ] as const) {
      const answer = await raw(`${cx.base}${path}`, { method });
      assert.equal(answer.status, 503, `${method} ${path}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'CX_DEPENDENCY_UNAVAILABLE', JSON.stringify(answer.body));
      assert.match(answer.body.detail, /auth\.oidc\.issuer/);
      assert.match(answer.body.detail, /CX_OIDC_ISSUER/);
      assert.equal(answer.location, null);
    }
    assert.equal((await new Api(cx.base).call('GET', '/api/v1/auth/methods')).body.oidc, true);
    const admin = await Api.login(cx.base);
    assert.equal((await admin.call('GET', '/api/v1/auth/whoami')).body.username, 'admin');

    // The provider comes up on the configured address: the next login discovers it, without restarting cx.
    idp = await startOidcProvider({
      accounts: ACCOUNTS,
      redirectUris: [`http://127.0.0.1:${cxPort}${CALLBACK_PATH}`],
      groupsClaim: GROUPS_CLAIM,
      clientSecret,
      port: idpPort,
    });
    const start = await raw(`${cx.base}/api/v1/auth/oidc/login`);
    assert.equal(start.status, 302, JSON.stringify(start.body));
    const answer = await raw(await idp.browserLogin(start.location!, 'olivia', 'olivia-idp-pw'));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.user.username, 'olivia');
  });
});

describe('OIDC configuration errors', () => {
  it('refuses to start with an issuer but no client id, naming auth.oidc.clientId', async () => {
    await assert.rejects(startCx({ env: { CX_OIDC_ISSUER: 'https://idp.example.test' } }), (error: Error) => {
      assert.match(error.message, /^cx exited with [1-9]/, error.message);
      assert.match(error.message, /auth\.oidc\.clientId/, error.message);
      assert.match(error.message, /CX_OIDC_CLIENT_ID/, error.message);
      return true;
    });
  });

  it('refuses to start with an http:// issuer unless allowHttp, naming auth.oidc.issuer', async () => {
    await assert.rejects(
      startCx({
        env: { CX_OIDC_ISSUER: 'http://127.0.0.1:9/', CX_OIDC_CLIENT_ID: 'cx', CX_OIDC_CLIENT_SECRET: 'secret' },
      }),
      (error: Error) => {
        assert.match(error.message, /^cx exited with [1-9]/, error.message);
        assert.match(error.message, /auth\.oidc\.issuer/, error.message);
        assert.doesNotMatch(error.message, /auth\.oidc\.clientId/, error.message);
        return true;
      },
    );
  });
});
