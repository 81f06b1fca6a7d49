/** The test identity provider (test/support/oidc-provider.ts) works end to end with openid-client as the relying party. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import * as oidc from 'openid-client';
import { startOidcProvider, type OidcPeer } from './oidc-provider.js';

const REDIRECT_URI = 'http://127.0.0.1:49152/auth/oidc/callback';
const SCOPE = 'openid profile email groups';

let peer: OidcPeer;
let config: oidc.Configuration;

before(async () => {
  peer = await startOidcProvider({
    accounts: [
      { username: 'alice', password: 'alice-pw', email: 'alice@example.test', groups: ['cx-admins', 'devs'] },
      { username: 'bob', password: 'bob-pw', groups: [] },
    ],
    redirectUris: [REDIRECT_URI],
    groupsClaim: 'roles',
    deviceInterval: 1,
  });
  config = await oidc.discovery(new URL(peer.issuer), peer.clientId, peer.clientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
});
after(async () => {
  await peer?.close();
});

async function authorizationRequest(): Promise<{ url: string; verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, verifier, state };
}

it('code flow with PKCE yields an id_token and userinfo with preferred_username, email and the groups claim', async () => {
  const { url, verifier, state } = await authorizationRequest();
  const callback = await peer.browserLogin(url, 'alice', 'alice-pw');
  assert.ok(callback.startsWith(`${REDIRECT_URI}?`), `redirected to the client: ${callback}`);
  assert.equal(new URL(callback).searchParams.get('state'), state);

  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  const claims = tokens.claims();
  assert.ok(claims);
  assert.equal(claims.iss, peer.issuer);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims['preferred_username'], 'alice');
  assert.equal(claims['email'], 'alice@example.test');
  assert.deepEqual(claims['roles'], ['cx-admins', 'devs']);
  assert.equal(claims['groups'], undefined, 'the groups claim is named by groupsClaim');

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
  assert.equal(userinfo.preferred_username, 'alice');
  assert.equal(userinfo.email, 'alice@example.test');
  assert.deepEqual(userinfo['roles'], ['cx-admins', 'devs']);

  assert.ok(tokens.refresh_token, 'a refresh token is issued');
  // The same client may authenticate with client_secret_post as well as client_secret_basic.
  const postConfig = await oidc.discovery(
    new URL(peer.issuer),
    peer.clientId,
    undefined,
    oidc.ClientSecretPost(peer.clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
  const refreshed = await oidc.refreshTokenGrant(postConfig, tokens.refresh_token);
  assert.deepEqual(refreshed.claims()?.['roles'], ['cx-admins', 'devs']);
});

it('the authorization request without PKCE is refused', async () => {
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: SCOPE, state: 'no-pkce' });
  const callback = await peer.browserLogin(url.href, 'alice', 'alice-pw');
  const params = new URL(callback).searchParams;
  assert.equal(params.get('error'), 'invalid_request');
  assert.match(params.get('error_description') ?? '', /PKCE/);
});

it('browserLogin rejects a wrong password and an unknown user with a clear message', async () => {
  const { url } = await authorizationRequest();
  await assert.rejects(
    peer.browserLogin(url, 'alice', 'wrong'),
    /OIDC login as "alice" was rejected by the identity provider: .*Invalid username or password/,
  );
  const second = await authorizationRequest();
  await assert.rejects(peer.browserLogin(second.url, 'mallory', 'alice-pw'), /rejected by the identity provider/);
});

it('device flow: approveDevice lets the polling client get tokens with the groups claim', async () => {
  const device = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
  assert.equal(device.interval, 1, 'deviceInterval is advertised');
  await peer.approveDevice(device.user_code, 'alice', 'alice-pw');
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, device, undefined, {
    signal: AbortSignal.timeout(20_000),
  });
  const claims = tokens.claims();
  assert.equal(claims?.sub, 'alice');
  assert.equal(claims?.['preferred_username'], 'alice');
  assert.deepEqual(claims?.['roles'], ['cx-admins', 'devs']);
  assert.ok(tokens.access_token);

  const other = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
  await assert.rejects(
    peer.approveDevice(other.user_code, 'bob', 'not-bob-pw'),
    /OIDC login as "bob" was rejected by the identity provider/,
  );
  await assert.rejects(peer.approveDevice('BCDF-GHJK', 'bob', 'bob-pw'), /approveDevice: unexpected page/);
});
