/**
 * Signing in to the web console with a directory (LDAP) account, in Chromium, against cx using the
 * slapd peer: the console offers the choice because GET /auth/methods says LDAP is on, shows who
 * signed in and where from, and offers the actions a grant to one of the person's directory groups
 * allows. Skips without CX_TEST_CHROMIUM or CX_TEST_SLAPD.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { axe, chromiumPeer, ConsoleWatch, launchChromium, signIn, UI_WAIT_MS, WIDE } from '../support/browser.js';
import { Api, ADMIN_PASSWORD, startCx, type CxProcess } from '../support/cx.js';
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

  it('an admin grants her LDAP group a role, found by the directory search; alice signs in from the directory and may create clusters', async () => {
    const operators = `cn=cluster-operators,${peer.groupBaseDn}`;
    // The admin grants the role in the console, finding the group by part of its name, by keyboard.
    const adminContext = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
    const adminPage = await adminContext.newPage();
    const adminWatch = new ConsoleWatch(adminPage);
    await adminPage.goto('/admin/grants');
    await signIn(adminPage, 'admin', ADMIN_PASSWORD);
    await adminPage.getByRole('heading', { name: 'Grants' }).waitFor();
    await adminPage.getByRole('button', { name: 'Grant a role' }).click();
    const dialog = adminPage.getByRole('dialog', { name: 'Grant a role' });
    await dialog.getByRole('combobox', { name: /^To/ }).selectOption('group');
    const groupField = dialog.getByRole('combobox', { name: 'Group name or DN' });
    await groupField.pressSequentially('operat');
    const found = dialog.getByRole('listbox', { name: 'Groups found' }).getByRole('option');
    const option = found.filter({ hasText: 'cluster-operators' });
    // Keystrokes a moment apart may each be searched (debounced, not throttled): wait for the last.
    await dialog.getByText('1 group found.').waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await found.count(), 1, 'only the group whose name holds "operat"');
    assert.equal(await groupField.getAttribute('aria-expanded'), 'true');
    await axe(adminPage, 'the grant dialog with groups found');
    // Escape closes the suggestions, not the dialog; an arrow key opens them again.
    await groupField.press('Escape');
    assert.equal(await found.count(), 0, 'Escape closes the suggestions');
    assert.ok(await dialog.isVisible(), 'and leaves the dialog open');
    await groupField.press('ArrowDown');
    await option.waitFor();
    await groupField.press('ArrowDown');
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    await groupField.press('Enter');
    assert.equal(await groupField.inputValue(), operators, 'the group is granted by its DN');
    assert.equal(await found.count(), 0, 'the suggestions close');
    assert.ok(await dialog.isVisible(), 'Enter took the suggestion, it did not submit the dialog');
    await dialog.getByLabel('Role').selectOption('operator');
    await dialog.getByLabel('On').selectOption('global');
    await dialog.getByRole('button', { name: 'Grant' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await adminPage
      .getByRole('row', { name: /cluster-operators.*operator.*all of cx/ })
      .waitFor({ timeout: UI_WAIT_MS });
    const grants = (await admin.call('GET', '/api/v1/grants')).body.items as Array<{
      subject: unknown;
      object: unknown;
      role: string;
    }>;
    assert.deepEqual(
      grants
        .filter((g) => JSON.stringify(g.subject).includes('cluster-operators'))
        .map((g) => [g.subject, g.object, g.role]),
      [[{ kind: 'group', name: operators }, { kind: 'global' }, 'operator']],
    );
    adminWatch.assertNone();
    await adminContext.close();

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
