/**
 * Single sign-on settings saved at run time, against real SQL (SQLite and MariaDB) and a discovery
 * document served on loopback: the config file's settings until an admin saves some; checked, then
 * the provider's issuer matched before anything is saved; the client secret sealed, never answered,
 * kept when left out for the same issuer and client. (Sign-in itself with saved settings runs
 * against the real oidc-provider in test/e2e/web-oidc-settings.test.ts.)
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { OidcConfig } from '@cx/config';
import { migrateLatest } from '@cx/migrations';
import { createLogger } from '@cx/service-kit';
import { testDatabases } from '../db/test-databases.js';
import { SecretBox } from '../secrets/secret-box.js';
import { checkOidcSettings, discoveryUrl, OidcSettings } from './oidc-settings.js';

/** The configuration file's auth.oidc with nothing set (its defaults). */
const NO_OIDC: OidcConfig = {
  scopes: 'openid profile email',
  usernameClaim: 'preferred_username',
  groupsClaim: 'groups',
  allowHttp: false,
};
const REDIRECT = 'http://127.0.0.1:8080/api/v1/auth/oidc/callback';
const SECRET = 'client-secret-Vq93kLw';

describe('single sign-on settings checks', () => {
  it('names each field that is wrong, before any provider is asked', () => {
    const base = { issuer: 'http://idp', clientId: 'cx', usernameClaim: 'sub', groupsClaim: 'groups' };
    assert.deepEqual(
      checkOidcSettings({ ...base, scopes: 'profile', allowHttp: false }).map((e) => e.field),
      ['body.issuer', 'body.scopes'],
    );
    assert.deepEqual(checkOidcSettings({ ...base, scopes: 'openid groups', allowHttp: true }), []);
  });

  it('finds the discovery document under the issuer, path and all', () => {
    assert.equal(discoveryUrl('https://idp.example').href, 'https://idp.example/.well-known/openid-configuration');
    assert.equal(
      discoveryUrl('https://idp.example/realms/cx/').href,
      'https://idp.example/realms/cx/.well-known/openid-configuration',
    );
  });
});

for (const target of testDatabases) {
  describe(`single sign-on settings on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let server: Server;
    let issuer: string;
    let settings: OidcSettings;
    let down = false;
    const box = new SecretBox('oidc-settings-test-key-0123456789abc');

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      // A provider's discovery document that names the issuer as 127.0.0.1 (so "localhost" is another one).
      server = createServer((request, response) => {
        if (down) return void response.writeHead(503).end();
        if (request.url !== '/.well-known/openid-configuration') return void response.writeHead(404).end();
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      settings = new OidcSettings(db, box, NO_OIDC, REDIRECT, createLogger({ level: 'silent', service: 'sm' }));
    });
    after(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await db?.destroy();
      await drop?.();
    });

    it('answers the config file until saved; refuses another issuer with nothing saved; saves the secret sealed', async () => {
      const view = await settings.view();
      assert.equal(view.source, 'config');
      assert.equal(view.enabled, false);
      assert.equal(view.redirectUri, REDIRECT);
      assert.equal(await settings.current(), null, 'no OIDC in the file: single sign-on is off');

      const request = { issuer, clientId: 'cx', clientSecret: SECRET, allowHttp: true };
      await assert.rejects(settings.put({ ...request, issuer: issuer.replace('127.0.0.1', 'localhost') }, 'admin'), {
        code: 'CX_CREDENTIAL_REJECTED',
        message: new RegExp(`names its issuer ${issuer}`),
      });
      await assert.rejects(settings.put({ ...request, issuer: `${issuer}/nowhere` }, 'admin'), {
        code: 'CX_CREDENTIAL_UNREACHABLE',
        message: /HTTP 404/,
      });
      await assert.rejects(settings.put({ ...request, issuer: 'http://127.0.0.1:1' }, 'admin'), {
        code: 'CX_CREDENTIAL_UNREACHABLE',
      });
      await assert.rejects(settings.put({ ...request, allowHttp: false }, 'admin'), { code: 'CX_INPUT_INVALID' });
      assert.equal((await settings.view()).source, 'config', 'nothing was saved');

      const saved = await settings.put({ ...request, scopes: 'openid groups' }, 'admin');
      assert.equal(saved.source, 'settings');
      assert.equal(saved.enabled, true);
      assert.equal(saved.hasClientSecret, true);
      assert.equal(saved.scopes, 'openid groups');
      assert.equal(saved.usernameClaim, 'preferred_username', "the file's default");
      assert.ok(!JSON.stringify(saved).includes(SECRET), 'the answer holds no secret');
      assert.ok(!JSON.stringify(await db('directory_settings').select()).includes(SECRET), 'the row holds it sealed');
      const current = await settings.current();
      assert.equal(current?.issuer, issuer, 'sign-in uses the saved settings');
      assert.equal(await settings.current(), current, 'rebuilt only when the row changes');

      // Left out, the secret is kept for the same issuer and client, and dropped for another client.
      const { clientSecret: _left, ...withoutSecret } = request;
      assert.equal((await settings.put(withoutSecret, 'admin2')).hasClientSecret, true);
      assert.notEqual(await settings.current(), current, 'a changed row makes a new sign-on');
      assert.equal((await settings.put({ ...withoutSecret, clientId: 'other' }, 'admin')).hasClientSecret, false);

      // The provider down at sign-in: a 503 naming the saved setting to check, not the file's key.
      down = true;
      try {
        await assert.rejects((await settings.current())!.signOn.startLogin(undefined), {
          code: 'CX_DEPENDENCY_UNAVAILABLE',
          message: /check issuer of the OIDC settings \(PUT \/api\/v1\/settings\/oidc\)/,
        });
      } finally {
        down = false;
      }
    });
  });
}
