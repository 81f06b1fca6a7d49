/**
 * LDAP directory settings managed at run time, in Chromium against cx started without any LDAP
 * configuration and the slapd peer: a wrong service-account password is refused by the directory
 * and nothing is saved; the right one is saved, LDAP sign-in turns on without a restart, and the
 * password is in no answer, page or audit record; saved again without the password, the saved one
 * is kept; over ldaps:// the CA certificate is shown back, and saving again with it untouched keeps
 * it. A non-admin is refused the settings. Skips without CX_TEST_CHROMIUM or CX_TEST_SLAPD.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
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
import { ADMIN_PASSWORD, Api, startCx, type CxProcess } from '../support/cx.js';
import type { SlapdPeer } from '../support/peers.js';

const browserPeer = chromiumPeer();
const slapd = process.env['CX_TEST_SLAPD'];
const skip =
  (!browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
  (!slapd && 'CX_TEST_SLAPD is not set (test/peers/slapd.sh)');

describe('web console: directory settings at run time (slapd)', { skip }, () => {
  let cx: CxProcess;
  let browser: Browser;
  let admin: Api;
  let peer: SlapdPeer;

  before(async () => {
    peer = JSON.parse(slapd!) as SlapdPeer;
    cx = await startCx();
    admin = await Api.login(cx.base);
    browser = await launchChromium(browserPeer!);
  });
  after(async () => {
    await browser?.close();
    await cx?.stop();
  });

  const aliceLogin = () =>
    fetch(`${cx.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-pw', provider: 'ldap' }),
    });

  it('tries the settings against the directory before saving them; LDAP sign-in follows at once; the password never comes back', async () => {
    const wrong = 'not-the-bind-pw-7Yq';
    assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.ldap, false, 'no LDAP to begin with');
    assert.equal((await admin.call('GET', '/api/v1/settings/ldap')).body.source, 'config');
    assert.equal((await aliceLogin()).status, 400, 'LDAP sign-in is off');
    const off = await admin.call('GET', '/api/v1/directory/groups?search=operat');
    assert.equal(off.status, 409, JSON.stringify(off.body));
    assert.match(off.body.detail, /LDAP is off.*CX_LDAP_URL.*PUT \/api\/v1\/settings\/ldap/, off.body.detail);

    const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
    const page = await context.newPage();
    const watch = new ConsoleWatch(page);
    const answers: string[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/v1/'))
        void response.text().then(
          (t) => answers.push(t),
          () => {},
        );
    });
    await page.goto('/admin/directory');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Directory (LDAP)' }).waitFor({ timeout: UI_WAIT_MS });
    await page.getByText('LDAP sign-in is off').waitFor();
    await page.getByLabel('Directory URL').fill(peer.url);
    await page.getByLabel('Service account DN').fill(peer.bindDn);
    await page.getByLabel('Service account password').fill(wrong);
    await page.getByLabel('User base DN').fill(peer.userBaseDn);
    await page.getByLabel('Group base DN').fill(peer.groupBaseDn);
    await axe(page, 'the directory page at 1280 px');

    // A wrong password: the directory refuses the bind, nothing is saved.
    watch.expect(/status of 422.*\/api\/v1\/settings\/ldap/);
    await page.getByRole('button', { name: 'Test and save' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save the directory settings?' });
    await dialog.getByRole('button', { name: 'Test and save' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'CX_CREDENTIAL_REJECTED' }).waitFor({ timeout: UI_WAIT_MS });
    assert.equal((await admin.call('GET', '/api/v1/settings/ldap')).body.source, 'config', 'nothing saved');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await page.getByLabel('Service account password').fill(peer.bindPassword);
    await page.getByRole('button', { name: 'Test and save' }).click();
    await dialog.getByRole('button', { name: 'Test and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await page.getByTestId('ldap-source').filter({ hasText: 'Saved by admin' }).waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await page.getByLabel('Service account password').inputValue(), '', 'the field is emptied');

    const saved = (await admin.call('GET', '/api/v1/settings/ldap')).body;
    assert.equal(saved.source, 'settings');
    assert.equal(saved.hasBindPassword, true);
    assert.equal(saved.bindDn, peer.bindDn);
    assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.ldap, true, 'LDAP sign-in is on, no restart');
    assert.equal((await aliceLogin()).status, 200, 'alice signs in from the directory');

    // Saved again without the password (same DN): the saved one is kept.
    await page.getByLabel('Group filter').fill('(member={userDn})');
    await page.getByRole('button', { name: 'Test and save' }).click();
    await dialog.getByRole('button', { name: 'Test and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    assert.equal((await aliceLogin()).status, 200);

    const audit = JSON.stringify((await admin.call('GET', '/api/v1/audit?limit=1000')).body);
    assert.ok(audit.includes('/api/v1/settings/ldap'), 'the change is audited');
    const shown = await page.content();
    for (const secret of [peer.bindPassword, wrong]) {
      assert.ok(!shown.includes(secret), 'the page shows no password');
      assert.ok(!answers.some((a) => a.includes(secret)), 'no answer carries the password');
      assert.ok(!audit.includes(secret), 'the audit log holds no password');
    }
    // Over ldaps:// with the directory's CA: the CA (no secret) is shown back, and saving again
    // with the field untouched keeps it.
    // (The form sends the PEM without the blank around it.)
    const ca = readFileSync(peer.caFile, 'utf8').trim();
    await page.getByLabel('Directory URL').fill(peer.ldapsUrl);
    await page.getByLabel('CA certificate').fill(ca);
    await page.getByRole('button', { name: 'Test and save' }).click();
    await dialog.getByRole('button', { name: 'Test and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const withCa = (await admin.call('GET', '/api/v1/settings/ldap')).body;
    assert.equal(withCa.url, peer.ldapsUrl);
    assert.equal(withCa.caCert, ca, 'the CA is answered as saved');
    await page.reload();
    await page.getByTestId('ldap-source').filter({ hasText: 'Saved by admin' }).waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await page.getByLabel('CA certificate').inputValue(), ca, 'the page shows the CA back');
    await screenshot(page, 'admin-directory');
    await page.getByLabel('User filter').fill('(uid={username})');
    await page.getByRole('button', { name: 'Test and save' }).click();
    await dialog.getByRole('button', { name: 'Test and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const again = (await admin.call('GET', '/api/v1/settings/ldap')).body;
    assert.equal(again.userFilter, '(uid={username})', 'the change is saved');
    assert.equal(again.caCert, ca, 'the untouched CA is kept');
    assert.equal((await aliceLogin()).status, 200, 'alice signs in over ldaps:// with the kept CA');
    assert.deepEqual(
      (await admin.call('GET', '/api/v1/directory/groups?search=operat')).body.items.map((g: { dn: string }) => g.dn),
      [`cn=cluster-operators,${peer.groupBaseDn}`],
      'the group search uses the saved settings',
    );

    // Revert: the saved settings are dropped, the configuration file's (no directory) apply again.
    await page.getByRole('button', { name: 'Revert to the configuration file' }).click();
    const revert = page.getByRole('dialog', { name: 'Revert to the configuration file?' });
    await revert.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await admin.call('GET', '/api/v1/settings/ldap')).body.source, 'settings', 'cancelled: still saved');
    await page.getByRole('button', { name: 'Revert to the configuration file' }).click();
    await revert.getByRole('button', { name: 'Revert' }).click();
    await revert.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await page.getByText('LDAP sign-in is off').waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await page.getByRole('button', { name: 'Revert to the configuration file' }).count(), 0);
    const reverted = (await admin.call('GET', '/api/v1/settings/ldap')).body;
    assert.equal(reverted.source, 'config');
    assert.equal(reverted.enabled, false);
    assert.equal((await admin.call('GET', '/api/v1/auth/methods')).body.ldap, false, 'LDAP sign-in is off again');
    assert.equal((await aliceLogin()).status, 400, 'alice can no longer sign in from the directory');
    const reverts = await admin.call(
      'GET',
      `/api/v1/audit?action=${encodeURIComponent('DELETE /api/v1/settings/ldap')}`,
    );
    assert.deepEqual(
      reverts.body.items.map((e: { actor: string; outcome: string }) => [e.actor, e.outcome]),
      [['admin', 'success']],
      'the revert is audited',
    );
    // Again: nothing saved, nothing changes, the same answer.
    assert.deepEqual((await admin.call('DELETE', '/api/v1/settings/ldap')).body, reverted);

    watch.assertNone();
    await context.close();

    // A non-admin: neither the link nor the settings.
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'nia', password: 'nia-password-1' })).status,
      201,
    );
    const nia = await Api.login(cx.base, 'nia', 'nia-password-1');
    assert.equal((await nia.call('GET', '/api/v1/settings/ldap')).status, 403);
    assert.equal((await nia.call('PUT', '/api/v1/settings/ldap', { url: peer.url, userBaseDn: 'dc=x' })).status, 403);
    assert.equal((await nia.call('DELETE', '/api/v1/settings/ldap')).status, 403);
    assert.equal((await nia.call('GET', '/api/v1/directory/groups?search=operat')).status, 403);
    const narrow = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
    const other = await narrow.newPage();
    await other.goto('/admin/directory');
    await signIn(other, 'nia', 'nia-password-1');
    await other.getByRole('heading', { name: 'Administrators only' }).waitFor({ timeout: UI_WAIT_MS });
    await narrow.close();
  });
});
