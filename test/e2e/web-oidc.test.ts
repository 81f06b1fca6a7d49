/**
 * Single sign-on (OIDC) in the web console, in Chromium, against a real identity provider
 * (test/support/oidc-provider.ts): the sign-in page sends the browser to the provider, the
 * provider's own forms take the password, and the console comes back signed in — the token kept
 * in the HttpOnly cookie only, the fragment that carried it gone from the address. Skips without
 * CX_TEST_CHROMIUM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumPeer, ConsoleWatch, launchChromium, UI_WAIT_MS, WIDE } from '../support/browser.js';
import { freePort, startCx, type CxProcess } from '../support/cx.js';
import { startOidcProvider, type OidcPeer } from '../support/oidc-provider.js';

const browserPeer = chromiumPeer();

describe(
  'web console: single sign-on (OIDC)',
  { skip: !browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)' },
  () => {
    let idp: OidcPeer;
    let cx: CxProcess;
    let browser: Browser;

    before(async () => {
      const port = await freePort();
      idp = await startOidcProvider({
        accounts: [{ username: 'olivia', password: 'olivia-idp-pw', groups: ['platform'] }],
        redirectUris: [`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`],
      });
      cx = await startCx({
        port,
        env: {
          CX_OIDC_ISSUER: idp.issuer,
          CX_OIDC_CLIENT_ID: idp.clientId,
          CX_OIDC_CLIENT_SECRET: idp.clientSecret,
          CX_OIDC_SCOPES: 'openid profile email groups',
          CX_OIDC_ALLOW_HTTP: 'true',
        },
      });
      browser = await launchChromium(browserPeer!);
    });
    after(async () => {
      await browser?.close();
      await cx?.stop();
      await idp?.close();
    });

    it('signs olivia in through the identity provider into the session cookie', async () => {
      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page, cx.base);
      await page.goto('/');
      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      // The identity provider's own pages (another origin): its login form, then its consent.
      await page.waitForURL((url) => url.href.startsWith(idp.issuer));
      await page.locator('input[name=login]').fill('olivia');
      await page.locator('input[name=password]').fill('olivia-idp-pw');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const allow = page.getByRole('button', { name: 'Allow' });
      await Promise.race([allow.waitFor(), page.waitForURL((url) => url.href.startsWith(cx.base))]);
      if (await allow.isVisible()) await allow.click();

      await page.getByRole('heading', { name: 'Clusters' }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByTestId('whoami').innerText(), 'olivia');
      assert.equal(await page.locator('header .badge').getAttribute('title'), 'source: oidc');
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal(new URL(page.url()).hash, '', 'the token left the address');
      const [cookie] = (await context.cookies()).filter((c) => c.name === 'cx_session');
      assert.ok(cookie?.httpOnly, 'the token is in the HttpOnly session cookie');
      assert.deepEqual(await page.evaluate('[document.cookie, localStorage.length, sessionStorage.length]'), [
        '',
        0,
        0,
      ]);
      // Back in history is the page before the provider, not an address holding the token.
      await page.goBack();
      assert.doesNotMatch(page.url(), /token=/);
      watch.assertNone();
      await context.close();
    });
  },
);
