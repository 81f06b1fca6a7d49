/**
 * Single sign-on (OIDC) settings managed at run time, in Chromium, against cx started without any
 * OIDC configuration and a real identity provider (test/support/oidc-provider.ts): an issuer the
 * provider does not name itself is refused and nothing is saved; the right one is saved, and single
 * sign-on works at once without a restart; the client secret is in no answer, page or audit
 * record, and saving again without it keeps it. A non-admin is refused the settings. Skips without
 * CX_TEST_CHROMIUM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  assertNoSideScroll,
  axe,
  chromiumPeer,
  ConsoleWatch,
  launchChromium,
  NARROW,
  screenshot,
  signIn,
  UI_WAIT_MS,
  WIDE,
} from '../support/browser.js';
import { ADMIN_PASSWORD, Api, freePort, startCx, type CxProcess } from '../support/cx.js';
import { startOidcProvider, type OidcPeer } from '../support/oidc-provider.js';

const browserPeer = chromiumPeer();

describe(
  'web console: single sign-on settings at run time (oidc-provider)',
  { skip: !browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)' },
  () => {
    let idp: OidcPeer;
    let cx: CxProcess;
    let browser: Browser;
    let admin: Api;

    before(async () => {
      const port = await freePort();
      idp = await startOidcProvider({
        accounts: [{ username: 'olivia', password: 'olivia-idp-pw', groups: ['platform'] }],
        redirectUris: [`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`],
      });
      cx = await startCx({ port });
      admin = await Api.login(cx.base);
      browser = await launchChromium(browserPeer!);
    });
    after(async () => {
      await browser?.close();
      await cx?.stop();
      await idp?.close();
    });

    it('checks the provider before saving; single sign-on follows at once; the client secret never comes back', async () => {
      assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.oidc, false, 'no OIDC to begin with');
      const before = (await admin.call('GET', '/api/v1/settings/oidc')).body;
      assert.equal(before.source, 'config');
      assert.equal(before.enabled, false);
      assert.equal(before.redirectUri, `${cx.base}/api/v1/auth/oidc/callback`);

      // Refused through the API, nothing saved: no openid scope (400), an unknown key (400).
      const noOpenid = await admin.call('PUT', '/api/v1/settings/oidc', {
        issuer: idp.issuer,
        clientId: idp.clientId,
        scopes: 'profile',
        allowHttp: true,
      });
      assert.equal(noOpenid.status, 400, JSON.stringify(noOpenid.body));
      assert.match(noOpenid.body.detail, /body\.scopes must include openid/);
      const httpRefused = await admin.call('PUT', '/api/v1/settings/oidc', {
        issuer: idp.issuer,
        clientId: idp.clientId,
      });
      assert.equal(httpRefused.status, 400);
      assert.match(httpRefused.body.detail, /body\.issuer must be https/);

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page, cx.base);
      const answers: string[] = [];
      page.on('response', (response) => {
        if (response.url().includes('/api/v1/'))
          void response.text().then(
            (t) => answers.push(t),
            () => {},
          );
      });
      await page.goto('/admin/single-sign-on');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('heading', { name: 'Single sign-on (OIDC)' }).waitFor({ timeout: UI_WAIT_MS });
      await page.getByText('Single sign-on is off').waitFor();
      assert.equal(await page.getByTestId('redirect-uri').innerText(), before.redirectUri);
      // The provider answers on 127.0.0.1 and names itself so: "localhost" is another issuer.
      const wrongIssuer = idp.issuer.replace('127.0.0.1', 'localhost');
      await page.getByLabel('Issuer URL').fill(wrongIssuer);
      await page.getByLabel('Allow an http:// issuer').check();
      await page.getByLabel('Client id').fill(idp.clientId);
      await page.getByLabel('Client secret').fill(idp.clientSecret);
      await page.getByLabel('Scopes').fill('openid profile email groups');
      await axe(page, 'the single sign-on page at 1280 px');
      await screenshot(page, 'admin-single-sign-on');

      watch.expect(/status of 422.*\/api\/v1\/settings\/oidc/);
      await page.getByRole('button', { name: 'Check and save' }).click();
      const dialog = page.getByRole('dialog', { name: 'Save the single sign-on settings?' });
      await dialog.getByRole('button', { name: 'Check and save' }).click();
      const refusal = dialog.getByRole('alert').filter({ hasText: 'CX_CREDENTIAL_REJECTED' });
      await refusal.waitFor({ timeout: UI_WAIT_MS });
      assert.match(await refusal.innerText(), /names its issuer http:\/\/127\.0\.0\.1/);
      assert.equal((await admin.call('GET', '/api/v1/settings/oidc')).body.source, 'config', 'nothing saved');
      assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.oidc, false, 'still no OIDC');
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      await page.getByLabel('Issuer URL').fill(idp.issuer);
      await page.getByRole('button', { name: 'Check and save' }).click();
      await dialog.getByRole('button', { name: 'Check and save' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
      await page.getByTestId('oidc-source').filter({ hasText: 'Saved by admin' }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByLabel('Client secret').inputValue(), '', 'the field is emptied');
      const saved = (await admin.call('GET', '/api/v1/settings/oidc')).body;
      assert.equal(saved.source, 'settings');
      assert.equal(saved.issuer, idp.issuer);
      assert.equal(saved.hasClientSecret, true);
      assert.equal(saved.scopes, 'openid profile email groups');

      // Saved again with the secret field untouched: the saved secret is kept (the sign-in below needs it).
      await page.getByLabel('Username claim').fill('preferred_username');
      await page.getByRole('button', { name: 'Check and save' }).click();
      await dialog.getByRole('button', { name: 'Check and save' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
      assert.equal((await admin.call('GET', '/api/v1/settings/oidc')).body.hasClientSecret, true);
      assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.oidc, true, 'OIDC is on, no restart');

      const audit = JSON.stringify((await admin.call('GET', '/api/v1/audit?limit=1000')).body);
      assert.ok(audit.includes('/api/v1/settings/oidc'), 'the change is audited');
      await page.reload();
      await page.getByTestId('oidc-source').filter({ hasText: 'Saved by admin' }).waitFor({ timeout: UI_WAIT_MS });
      const shown = await page.content();
      assert.ok(!shown.includes(idp.clientSecret), 'the page shows no secret');
      assert.ok(answers.length > 0);
      assert.ok(!answers.some((a) => a.includes(idp.clientSecret)), 'no answer carries the secret');
      assert.ok(!audit.includes(idp.clientSecret), 'the audit log holds no secret');
      watch.assertNone();
      await context.close();

      // Olivia signs in through the provider with the settings saved at run time.
      const sso = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const olivia = await sso.newPage();
      const ssoWatch = new ConsoleWatch(olivia, cx.base);
      await olivia.goto('/');
      await olivia.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      await olivia.waitForURL((url) => url.href.startsWith(idp.issuer));
      await olivia.locator('input[name=login]').fill('olivia');
      await olivia.locator('input[name=password]').fill('olivia-idp-pw');
      await olivia.getByRole('button', { name: 'Sign in' }).click();
      const allow = olivia.getByRole('button', { name: 'Allow' });
      await Promise.race([allow.waitFor(), olivia.waitForURL((url) => url.href.startsWith(cx.base))]);
      if (await allow.isVisible()) await allow.click();
      await olivia.getByRole('heading', { name: 'Clusters' }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await olivia.getByTestId('whoami').innerText(), 'olivia');
      const users = (await admin.call('GET', '/api/v1/users')).body.items as { username: string; source: string }[];
      assert.equal(users.find((u) => u.username === 'olivia')?.source, 'oidc');
      ssoWatch.assertNone();
      await sso.close();

      // No directory to search: the group search offers the OIDC groups seen at sign-in.
      const groups = await admin.call('GET', '/api/v1/directory/groups?search=PLAT');
      assert.equal(groups.status, 200, JSON.stringify(groups.body));
      assert.deepEqual(groups.body, { items: [{ name: 'platform', dn: null, source: 'oidc' }], more: false });
      assert.deepEqual((await admin.call('GET', '/api/v1/directory/groups?search=nobody')).body, {
        items: [],
        more: false,
      });

      // Revert to the configuration file (no provider there): single sign-on is off again.
      const again = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const settingsPage = await again.newPage();
      const againWatch = new ConsoleWatch(settingsPage);
      await settingsPage.goto('/admin/single-sign-on');
      await signIn(settingsPage, 'admin', ADMIN_PASSWORD);
      await settingsPage
        .getByTestId('oidc-source')
        .filter({ hasText: 'Saved by admin' })
        .waitFor({ timeout: UI_WAIT_MS });
      await settingsPage.getByRole('button', { name: 'Revert to the configuration file' }).click();
      const revert = settingsPage.getByRole('dialog', { name: 'Revert to the configuration file?' });
      await revert.getByRole('button', { name: 'Revert' }).click();
      await revert.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
      await settingsPage.getByTestId('oidc-source').filter({ hasNotText: 'Saved by' }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await settingsPage.getByRole('button', { name: 'Revert to the configuration file' }).count(), 0);
      const reverted = (await admin.call('GET', '/api/v1/settings/oidc')).body;
      assert.equal(reverted.source, 'config');
      assert.equal(reverted.enabled, false);
      assert.equal(reverted.hasClientSecret, false, 'the saved secret went with the settings');
      assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.oidc, false, 'single sign-on is off again');
      const reverts = await admin.call(
        'GET',
        `/api/v1/audit?action=${encodeURIComponent('DELETE /api/v1/settings/oidc')}`,
      );
      assert.deepEqual(
        reverts.body.items.map((e: { actor: string; outcome: string }) => [e.actor, e.outcome]),
        [['admin', 'success']],
        'the revert is audited',
      );
      const off = await admin.call('GET', '/api/v1/directory/groups?search=plat');
      assert.equal(off.status, 409, 'neither LDAP nor OIDC is on: nothing to search');
      againWatch.assertNone();
      await again.close();
    });

    it('refuses the settings to a non-admin, in the API and on the page (390 px)', async () => {
      assert.equal(
        (await admin.call('POST', '/api/v1/users', { username: 'nia', password: 'nia-password-1' })).status,
        201,
      );
      const nia = await Api.login(cx.base, 'nia', 'nia-password-1');
      assert.equal((await nia.call('GET', '/api/v1/settings/oidc')).status, 403);
      const put = await nia.call('PUT', '/api/v1/settings/oidc', { issuer: 'https://idp.invalid', clientId: 'x' });
      assert.equal(put.status, 403);
      assert.equal((await nia.call('DELETE', '/api/v1/settings/oidc')).status, 403);

      const narrow = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const page = await narrow.newPage();
      await page.goto('/admin/single-sign-on');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByTestId('oidc-source').waitFor({ timeout: UI_WAIT_MS });
      await assertNoSideScroll(page, 'the single sign-on page');
      await axe(page, 'the single sign-on page at 390 px');
      await screenshot(page, 'admin-single-sign-on');
      await narrow.close();

      const other = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const asNia = await other.newPage();
      await asNia.goto('/admin/single-sign-on');
      await signIn(asNia, 'nia', 'nia-password-1');
      await asNia.getByRole('heading', { name: 'Administrators only' }).waitFor({ timeout: UI_WAIT_MS });
      await other.close();
    });
  },
);
