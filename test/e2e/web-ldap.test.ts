/**
 * Signing in to the web console with a directory (LDAP) account, in Chromium, against cx using the
 * slapd peer: the console offers the choice because GET /auth/methods says LDAP is on, shows who
 * signed in and where from, and offers the actions a grant to one of the person's directory groups
 * allows. Skips without CX_TEST_CHROMIUM or CX_TEST_SLAPD.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { axe, chromiumPeer, ConsoleWatch, launchChromium, UI_WAIT_MS, WIDE } from '../support/browser.js';
import { Api, startCx, type CxProcess } from '../support/cx.js';
import type { SlapdPeer } from '../support/peers.js';

const browserPeer = chromiumPeer();
const slapd = process.env['CX_TEST_SLAPD'];
const skip =
  (!browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
  (!slapd && 'CX_TEST_SLAPD is not set (test/peers/slapd.sh)');

describe('web console: sign-in with an LDAP account', { skip }, () => {
  let cx: CxProcess;
  let browser: Browser;
  let admin: Api;
  let peer: SlapdPeer;

  before(async () => {
    peer = JSON.parse(slapd!) as SlapdPeer;
    cx = await startCx({
      env: {
        CX_LDAP_URL: peer.url,
        CX_LDAP_BIND_DN: peer.bindDn,
        CX_LDAP_BIND_PASSWORD: peer.bindPassword,
        CX_LDAP_USER_BASE_DN: peer.userBaseDn,
        CX_LDAP_GROUP_BASE_DN: peer.groupBaseDn,
      },
    });
    admin = await Api.login(cx.base);
    browser = await launchChromium(browserPeer!);
  });
  after(async () => {
    await browser?.close();
    await cx?.stop();
  });

  it('signs alice in from the directory; a grant to her LDAP group lets her create clusters', async () => {
    const operators = `cn=cluster-operators,${peer.groupBaseDn}`;
    const grant = await admin.call('POST', '/api/v1/grants', {
      subject: { kind: 'group', name: operators },
      object: { kind: 'global' },
      role: 'operator',
    });
    assert.equal(grant.status, 201, JSON.stringify(grant.body));

    const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
    const page = await context.newPage();
    const watch = new ConsoleWatch(page);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to cx' }).waitFor();
    await page.getByLabel('Account').selectOption({ label: 'Directory account (LDAP)' });
    await axe(page, 'the sign-in page with LDAP on');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice-pw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await page.getByTestId('whoami').innerText(), 'alice');
    assert.equal(await page.locator('header .badge').getAttribute('title'), 'source: ldap');
    await page.getByRole('link', { name: 'New cluster' }).click();
    await page.getByRole('heading', { name: 'New cluster' }).waitFor();
    await page.getByRole('button', { name: 'Create cluster' }).waitFor({ timeout: UI_WAIT_MS });
    watch.assertNone();
    await context.close();
  });
});
