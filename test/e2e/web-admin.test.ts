/**
 * The console's administration pages in a real browser (Debian's Chromium driven by playwright-core)
 * against a running cx on the sim provider: an admin creates a local user and grants her a role on a
 * cluster, she signs in and sees that cluster only; the admin disables her, then enables her with a
 * new password (checked by signing in through the API); groups and their members; a credential checked
 * against the vcsim peer whose password no answer or page ever shows; the audit log's filters and
 * pages; a non-admin who neither sees the pages nor gets their data; axe at 1280 px and 390 px; no
 * console errors. Skips without CX_TEST_CHROMIUM or CX_TEST_VCSIM (`npm test` sets both).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
import { ADMIN_PASSWORD, Api, startCx, until, type CxProcess } from '../support/cx.js';
import { vsphereCredential } from '../support/infrastructure.js';

const peer = chromiumPeer();
const skip =
  (!peer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
  (!process.env['CX_TEST_VCSIM'] && 'CX_TEST_VCSIM is not set (test/peers/vcsim.sh)');

const SECTIONS = [
  ['users', 'Users'],
  ['groups', 'Groups'],
  ['grants', 'Grants'],
  ['resource-groups', 'Resource groups'],
  ['credentials', 'Credentials'],
  ['ip-pools', 'IP pools'],
  ['hosts', 'Hosts'],
  ['templates', 'Cluster templates'],
  ['pairs', 'Pairs'],
  ['audit', 'Audit log'],
  ['directory', 'Directory (LDAP)'],
  ['single-sign-on', 'Single sign-on (OIDC)'],
] as const;

describe('web console: administration in Chromium (sim)', { skip }, () => {
  let cx: CxProcess;
  let browser: Browser;
  let admin: Api;
  const clusters: Record<string, string> = {};

  before(async () => {
    cx = await startCx();
    admin = await Api.login(cx.base);
    const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
      (p: { name: string }) => p.name === 'sim',
    ).kubernetesVersions[0];
    for (const name of ['for-ann', 'not-for-ann']) {
      const created = await admin.call('POST', '/api/v1/clusters', {
        name,
        provider: 'sim',
        kubernetesVersion: version,
        controlPlane: { count: 1 },
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      clusters[name] = created.body.cluster.id;
    }
    browser = await launchChromium(peer!);
  });
  after(async () => {
    await browser?.close();
    await cx?.stop();
  });

  async function open(viewport = WIDE): Promise<{ context: BrowserContext; page: Page; watch: ConsoleWatch }> {
    const context = await browser.newContext({ viewport, baseURL: cx.base });
    const page = await context.newPage();
    return { context, page, watch: new ConsoleWatch(page) };
  }

  it('an admin creates a user and grants her a role on one cluster; she sees that cluster only, and no administration', async () => {
    const { context, page, watch } = await open();
    await page.goto('/');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('rowheader', { name: 'admin' }).waitFor({ timeout: UI_WAIT_MS });

    // A too-short password: the browser's own check stops it, nothing is sent.
    await page.getByRole('button', { name: 'New local user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New local user' });
    await dialog.getByLabel('Username').fill('ann');
    await dialog.getByLabel('Password').fill('short');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    assert.equal(
      await dialog
        .getByLabel('Password')
        .evaluate((input) => (input as unknown as { validity: { valid: boolean } }).validity.valid),
      false,
    );
    await dialog.getByLabel('Password').fill('ann-password-1');
    await dialog.getByLabel('Display name').fill('Ann Example');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('rowheader', { name: /^ann/ }).waitFor({ timeout: UI_WAIT_MS });
    const ann = (await admin.call('GET', '/api/v1/users')).body.items.find(
      (u: { username: string }) => u.username === 'ann',
    );
    assert.equal(ann.displayName, 'Ann Example');
    assert.equal(ann.role, 'user');

    // A second ann: the API's refusal, as it comes.
    watch.expect(/status of 409.*\/api\/v1\/users/);
    await page.getByRole('button', { name: 'New local user' }).click();
    await dialog.getByLabel('Password').fill('ann-password-2');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    assert.match(await dialog.getByRole('alert').innerText(), /CX_NAME_TAKEN/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Grant her operator on one cluster: a cluster must be chosen first.
    await page.getByRole('link', { name: 'Grants' }).click();
    await page.getByRole('heading', { name: 'Grants' }).waitFor();
    await page.getByRole('button', { name: 'Grant a role' }).click();
    const grant = page.getByRole('dialog', { name: 'Grant a role' });
    await grant.getByLabel('Username').fill('ann');
    await grant.getByLabel('Role').selectOption('operator');
    await grant.getByLabel('On').selectOption('cluster');
    await grant.getByRole('combobox', { name: /^Cluster/ }).selectOption({ label: 'for-ann' });
    await grant.getByRole('button', { name: 'Grant' }).click();
    await grant.waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /ann.*operator.*cluster for-ann/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    const grants = (await admin.call('GET', '/api/v1/grants')).body.items.filter(
      (g: { subject: { name: string } }) => g.subject.name === 'ann',
    );
    assert.deepEqual(
      grants.map((g: { object: unknown; role: string }) => [g.object, g.role]),
      [[{ kind: 'cluster', id: clusters['for-ann'] }, 'operator']],
    );

    // Ann signs in: that cluster only, no administration link, and its pages give her nothing.
    const mine = await open(NARROW);
    const apiRequests: string[] = [];
    mine.page.on('request', (request) => apiRequests.push(new URL(request.url()).pathname));
    await mine.page.goto('/');
    await signIn(mine.page, 'ann', 'ann-password-1');
    await mine.page.getByRole('link', { name: 'for-ann' }).waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(await mine.page.getByRole('rowheader').allInnerTexts(), ['for-ann']);
    assert.equal(await mine.page.getByRole('link', { name: 'Administration' }).count(), 0);
    await mine.page.goto('/admin/users');
    await mine.page.getByRole('heading', { name: 'Administrators only' }).waitFor();
    assert.equal(await mine.page.getByRole('table').count(), 0);
    await axe(mine.page, 'an admin page opened by a non-admin at 390 px');
    // (Her own grants are read by every page: they decide what the console offers her.)
    for (const section of ['users', 'groups', 'credentials', 'ip-pools', 'hosts', 'audit'])
      assert.ok(!apiRequests.includes(`/api/v1/${section}`), `the page asked nothing of /api/v1/${section}`);
    // And the API itself refuses her the admin data, whatever a page would do.
    const asAnn = await Api.login(cx.base, 'ann', 'ann-password-1');
    for (const url of [
      '/api/v1/users',
      '/api/v1/groups',
      '/api/v1/credentials',
      '/api/v1/audit',
      '/api/v1/hosts',
      '/api/v1/ip-pools',
    ])
      assert.equal((await asAnn.call('GET', url)).status, 403, `${url} refuses a non-admin`);
    const [mineGrant] = (await asAnn.call('GET', '/api/v1/grants')).body.items;
    assert.equal(mineGrant.subject.name, 'ann', 'she sees her own grant only');
    mine.watch.assertNone();
    await mine.context.close();

    // Revoked (confirmed): the grant is gone, and so is her cluster.
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page
      .getByRole('dialog', { name: /Revoke ann's operator role/ })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await row.waitFor({ state: 'detached', timeout: UI_WAIT_MS });
    assert.deepEqual((await asAnn.call('GET', '/api/v1/clusters')).body.items, []);

    // Edited: a dialog with no change sends nothing; disabled, the API refuses her sign-in; enabled
    // again with a new password, only that one signs her in.
    const annRow = () => page.getByRole('row', { name: /^ann/ });
    const signsIn = async (password: string): Promise<number> =>
      (
        await fetch(`${cx.base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'ann', password }),
        })
      ).status;
    const annNow = async () =>
      (await admin.call('GET', '/api/v1/users')).body.items.find((u: { username: string }) => u.username === 'ann');
    const patches: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH') patches.push(new URL(r.url()).pathname);
    });
    await page.getByRole('link', { name: 'Users' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit user ann' });
    await page.getByRole('button', { name: 'Edit ann' }).click();
    await edit.getByRole('button', { name: 'Save user' }).click();
    await edit.getByRole('alert').getByText('Nothing was changed.').waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(patches, [], 'nothing sent');
    await axe(page, 'the edit user dialog at 1280 px');
    await edit.getByLabel(/Disabled/).check();
    await edit.getByRole('button', { name: 'Save user' }).click();
    await edit.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await annRow().locator('.badge', { hasText: 'disabled' }).waitFor({ timeout: UI_WAIT_MS });
    assert.equal((await annNow()).disabled, true);
    assert.equal(await signsIn('ann-password-1'), 401, 'a disabled user may not sign in');
    await page.getByRole('button', { name: 'Edit ann' }).click();
    assert.equal(await edit.getByLabel(/Disabled/).isChecked(), true, 'the form starts from the user as she is');
    await edit.getByLabel(/Disabled/).uncheck();
    await edit.getByLabel(/New password/).fill('ann-password-new');
    await edit.getByRole('button', { name: 'Save user' }).click();
    await edit.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await annRow().locator('.badge', { hasText: 'disabled' }).waitFor({ state: 'detached', timeout: UI_WAIT_MS });
    assert.deepEqual([(await annNow()).disabled, (await annNow()).role], [false, 'user']);
    assert.equal(await signsIn('ann-password-1'), 401, 'the old password no longer signs in');
    assert.equal(await signsIn('ann-password-new'), 200, 'the new one does');
    assert.equal(patches.length, 2);

    // Unlock and delete, each confirmed; Cancel changes nothing.
    await page.getByRole('button', { name: 'Unlock ann' }).click();
    await page.getByRole('dialog', { name: 'Unlock ann?' }).getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('dialog', { name: 'Unlock ann?' }).waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Delete ann' }).click();
    await page.getByRole('dialog', { name: 'Delete user ann?' }).getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await annRow().count(), 1);
    await page.getByRole('button', { name: 'Delete ann' }).click();
    await page.getByRole('dialog', { name: 'Delete user ann?' }).getByRole('button', { name: 'Delete user' }).click();
    await annRow().waitFor({ state: 'detached', timeout: UI_WAIT_MS });
    assert.equal(await signsIn('ann-password-new'), 401, 'she can no longer sign in');
    watch.assertNone();
    await context.close();
  });

  it('manages local groups and their members, each removal confirmed', async () => {
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'bob', password: 'bob-password-1' })).status,
      201,
    );
    const { context, page, watch } = await open();
    await page.goto('/admin/groups');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await page.getByText('There are no local groups yet.').waitFor({ timeout: UI_WAIT_MS });
    await page.getByRole('button', { name: 'New group' }).click();
    const create = page.getByRole('dialog', { name: 'New local group' });
    await create.getByLabel('Name').fill('Ops Team');
    watch.expect(/status of 400.*\/api\/v1\/groups/);
    await create.getByRole('button', { name: 'Create group' }).click();
    assert.match(await create.getByRole('alert').innerText(), /name/);
    await create.getByLabel('Name').fill('ops');
    await create.getByLabel('Description').fill('the on-call people');
    await create.getByRole('button', { name: 'Create group' }).click();
    await create.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Add a member to ops' }).click();
    const add = page.getByRole('dialog', { name: 'Add a member to ops' });
    await add.getByLabel('Username').fill('bob');
    await add.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('button', { name: 'Remove bob from ops' }).waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual((await admin.call('GET', '/api/v1/groups/ops')).body.members, ['bob']);
    await page.getByRole('button', { name: 'Remove bob from ops' }).click();
    await page.getByRole('dialog', { name: 'Remove bob from ops?' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('button', { name: 'Remove bob from ops' }).waitFor({ state: 'detached', timeout: UI_WAIT_MS });
    assert.deepEqual((await admin.call('GET', '/api/v1/groups/ops')).body.members, []);
    await page.getByRole('button', { name: 'Delete ops' }).click();
    await page.getByRole('dialog', { name: 'Delete group ops?' }).getByRole('button', { name: 'Delete group' }).click();
    await page.getByText('There are no local groups yet.').waitFor({ timeout: UI_WAIT_MS });
    watch.assertNone();
    await context.close();
  });

  it('creates a credential checked against vcsim; its password is in no answer and on no page', async () => {
    const body = vsphereCredential('vc-web');
    const password = body['password'] as string;
    const wrong = 'wrong-password-Zq81';
    const { context, page, watch } = await open();
    const answers: string[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/v1/'))
        void response.text().then(
          (t) => answers.push(t),
          () => {},
        );
    });
    await page.goto('/admin/credentials');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByText('There are no infrastructure credentials yet.').waitFor({ timeout: UI_WAIT_MS });
    await page.getByRole('button', { name: 'New credential' }).click();
    const dialog = page.getByRole('dialog', { name: 'New infrastructure credential' });
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('vc-web');
    await dialog.getByRole('combobox', { name: /^Provider/ }).selectOption('vsphere');
    await dialog.getByLabel('Endpoint').fill(body['endpoint'] as string);
    await dialog.getByLabel('Username').fill(body['username'] as string);
    await dialog.getByLabel('CA certificate').fill(body['caCert'] as string);
    // Settings that are not JSON: said before anything is sent.
    await dialog.getByLabel('Settings').fill('{datacenter');
    await dialog.getByLabel('Password').fill(wrong);
    await dialog.getByRole('button', { name: 'Check and save' }).click();
    assert.match(await dialog.getByRole('alert').innerText(), /Settings are not JSON/);
    await dialog.getByLabel('Settings').fill(JSON.stringify(body['settings']));
    // A wrong password: vcsim refuses the login, and nothing is stored.
    watch.expect(/status of 422.*\/api\/v1\/credentials/);
    await dialog.getByRole('button', { name: 'Check and save' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'CX_CREDENTIAL_REJECTED' }).waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual((await admin.call('GET', '/api/v1/credentials')).body.items, []);
    await dialog.getByLabel('Password').fill(password);
    await dialog.getByRole('button', { name: 'Check and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /vc-web/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /vsphere/);
    assert.match(await row.innerText(), /own CA/);
    // Reopened, the form no longer holds the password.
    await page.getByRole('button', { name: 'New credential' }).click();
    assert.equal(await dialog.getByLabel('Password').inputValue(), '');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.goto('/admin/audit');
    await page.getByRole('table', { name: /Audit records/ }).waitFor({ timeout: UI_WAIT_MS });
    const shown = await page.content();
    for (const secret of [password, wrong]) {
      assert.ok(!shown.includes(secret), 'no page shows the password');
      assert.ok(!answers.some((a) => a.includes(secret)), 'no answer carries the password');
    }
    assert.ok(answers.length > 0);
    // Deleted, confirmed.
    await page.goto('/admin/credentials');
    await page.getByRole('button', { name: 'Delete vc-web' }).click();
    await page
      .getByRole('dialog', { name: 'Delete credential vc-web?' })
      .getByRole('button', { name: 'Delete credential' })
      .click();
    await page.getByText('There are no infrastructure credentials yet.').waitFor({ timeout: UI_WAIT_MS });
    watch.assertNone();
    await context.close();
  });

  it('filters the audit log and pages through it', async () => {
    // Enough records for more than one page of 50: 30 groups made and removed.
    for (let i = 0; i < 30; i++) {
      assert.equal((await admin.call('POST', '/api/v1/groups', { name: `g-${i}` })).status, 201);
      assert.equal((await admin.call('DELETE', `/api/v1/groups/g-${i}`)).status, 204);
    }
    const { context, page, watch } = await open();
    await page.goto('/admin/audit');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    const table = page.getByRole('table', { name: /Audit records, page 1/ });
    await table.waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await table.locator('tbody tr').count(), 50);
    const first = await table.locator('tbody tr').first().innerText();
    assert.ok(await page.getByRole('button', { name: 'Previous page' }).isDisabled());
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('table', { name: /Audit records, page 2/ }).waitFor();
    await until(
      'page 2 to show other records',
      async () => ((await page.locator('tbody tr').first().innerText()) !== first ? true : undefined),
      UI_WAIT_MS,
    );
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('table', { name: /Audit records, page 1/ }).waitFor();
    await until(
      'page 1 again',
      async () => ((await page.locator('tbody tr').first().innerText()) === first ? true : undefined),
      UI_WAIT_MS,
    );

    // Filtered by action prefix and actor: only those records, the API's own answer.
    await page.getByLabel('Action').fill('POST /api/v1/groups*');
    await page.getByLabel('Who').fill('admin');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const expected = (
      await admin.call('GET', `/api/v1/audit?action=${encodeURIComponent('POST /api/v1/groups*')}&actor=admin&limit=50`)
    ).body.items.map((e: { action: string }) => e.action);
    assert.ok(expected.length > 0);
    await until(
      'the filtered records',
      async () => {
        const actions = await page.locator('tbody th').allInnerTexts();
        return JSON.stringify(actions) === JSON.stringify(expected) ? true : undefined;
      },
      UI_WAIT_MS,
    );
    // Failures only, and none in the future.
    await page.getByLabel('Action').fill('');
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByLabel('From').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No audit record matches these filters.').waitFor({ timeout: UI_WAIT_MS });
    watch.assertNone();
    await context.close();
  });

  it("shows a resource group's quotas and usage and an IP pool as the API has them", async () => {
    const group = await admin.call('POST', '/api/v1/resource-groups', { name: 'team-q', quotas: { clusters: 5 } });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    const pool = await admin.call('POST', '/api/v1/ip-pools', { name: 'vips', ranges: '192.0.2.10-19' });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
    const { context, page, watch } = await open();
    await page.goto('/admin/resource-groups');
    await signIn(page, 'admin', ADMIN_PASSWORD);
    const row = page.getByRole('row', { name: /team-q/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /0 of 5/, 'clusters used of the quota');
    assert.match(await row.innerText(), /0 \(no limit\)/, 'no quota on the rest');
    await page.getByRole('link', { name: 'IP pools' }).click();
    const pools = page.getByRole('row', { name: /vips/ });
    await pools.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await pools.innerText(), /192\.0\.2\.10-19/);
    assert.match(await pools.innerText(), /0 of 10/);
    watch.assertNone();
    await context.close();
  });

  it('shows every admin page without serious axe violations at 1280 px and 390 px, fitting 390 px (screenshots in test-results/screenshots/)', async () => {
    // A grant to show (the earlier ones were revoked): a directory group viewing everything.
    const grant = await admin.call('POST', '/api/v1/grants', {
      subject: { kind: 'group', name: 'cn=platform,ou=groups,dc=example,dc=org' },
      object: { kind: 'global' },
      role: 'viewer',
    });
    assert.equal(grant.status, 201, JSON.stringify(grant.body));
    for (const viewport of [WIDE, NARROW]) {
      const { context, page, watch } = await open(viewport);
      await page.goto('/admin');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('link', { name: 'Administration' }).waitFor();
      for (const [section, title] of SECTIONS) {
        await page.goto(`/admin/${section}`);
        await page.getByRole('heading', { name: title, exact: true }).waitFor();
        await page.getByText('Loading…').waitFor({ state: 'detached', timeout: UI_WAIT_MS });
        assert.equal(await page.getByRole('alert').count(), 0, `${section} shows no problem`);
        if (viewport === NARROW) await assertNoSideScroll(page, `the ${section} page`);
        await axe(page, `the ${section} page at ${viewport.width} px`);
        await screenshot(page, `admin-${section}`);
      }
      // A dialog too.
      await page.goto('/admin/grants');
      await page.getByRole('button', { name: 'Grant a role' }).click();
      await axe(page, `the grant dialog at ${viewport.width} px`);
      watch.assertNone();
      await context.close();
    }
  });
});
