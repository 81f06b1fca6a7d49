/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against a running
 * cx on the sim provider: sign-in by keyboard, the session cookie's attributes, the clusters list,
 * the create wizard followed live to Ready, scale and delete with confirmation, a user without
 * grants who sees nothing, axe scans at 1280 px and 390 px, and no console errors.
 *
 * Load figures (first load, cluster page) are measured and printed for docs/benchmarks.md, never
 * asserted. Skips when CX_TEST_CHROMIUM is not set (test/peers/chromium.sh; `npm test` sets it).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  WORKFLOW_WAIT_MS,
} from '../support/browser.js';
import { ADMIN_PASSWORD, Api, startCx, until, type CxProcess } from '../support/cx.js';

const peer = chromiumPeer();

describe(
  'web console in Chromium (sim)',
  { skip: !peer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)' },
  () => {
    let cx: CxProcess;
    let browser: Browser;
    let admin: Api;
    const figures: Record<string, number> = {};

    before(async () => {
      cx = await startCx();
      admin = await Api.login(cx.base);
      const dev = await admin.call('POST', '/api/v1/users', { username: 'dev', password: 'dev-password-1' });
      assert.equal(dev.status, 201, JSON.stringify(dev.body));
      browser = await launchChromium(peer!);
    });
    after(async () => {
      await browser?.close();
      await cx?.stop();
      if (Object.keys(figures).length) console.log(`web console load figures (ms): ${JSON.stringify(figures)}`);
    });

    async function open(viewport = WIDE): Promise<{ context: BrowserContext; page: Page; watch: ConsoleWatch }> {
      const context = await browser.newContext({ viewport, baseURL: cx.base });
      const page = await context.newPage();
      return { context, page, watch: new ConsoleWatch(page) };
    }

    it('signs in by keyboard into an HttpOnly cookie, shows who and their role, refuses a cookie-only cross-site POST, signs out', async () => {
      const { context, page, watch } = await open();
      const started = Date.now();
      await page.goto('/');
      await page.getByRole('heading', { name: 'Sign in to cx' }).waitFor();
      figures['firstLoadToSignInMs'] = Date.now() - started;
      const navigation = (await page.evaluate(
        "(([e]) => ({ domContentLoaded: e.domContentLoadedEventEnd, load: e.loadEventEnd }))(performance.getEntriesByType('navigation'))",
      )) as { domContentLoaded: number; load: number };
      figures['firstLoadDomContentLoadedMs'] = Math.round(navigation.domContentLoaded);
      figures['firstLoadEventMs'] = Math.round(navigation.load);
      await axe(page, 'the sign-in page at 1280 px');
      await screenshot(page, 'sign-in');

      // A wrong password: the API's problem detail is shown (the browser logs the 401 it answered).
      watch.expect(/status of 401.*\/ui\/session/);
      await signIn(page, 'admin', 'not-the-password');
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /CX_LOGIN_FAILED/);

      await page.getByLabel('Username').fill('');
      await page.getByLabel('Username').focus();
      await page.keyboard.type('admin');
      await page.keyboard.press('Tab');
      await page.keyboard.type(ADMIN_PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Clusters' }).waitFor();
      assert.equal(await page.getByTestId('whoami').innerText(), 'admin');
      assert.ok(await page.locator('header .badge', { hasText: 'admin' }).isVisible(), 'the role is shown');

      const [cookie] = (await context.cookies()).filter((c) => c.name === 'cx_session');
      assert.ok(cookie, 'signing in sets the session cookie');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.deepEqual(
        await page.evaluate('[document.cookie, localStorage.length, sessionStorage.length]'),
        ['', 0, 0],
        'no script of the page can read the token, and nothing is kept in web storage',
      );

      // The cookie alone (what a cross-site form would carry) does not change anything.
      const crossSite = await fetch(`${cx.base}/api/v1/clusters`, {
        method: 'POST',
        headers: {
          cookie: `cx_session=${cookie.value}`,
          'content-type': 'application/json',
          origin: 'https://evil.example',
        },
        body: JSON.stringify({
          name: 'forged',
          provider: 'sim',
          kubernetesVersion: '1.31.4',
          controlPlane: { count: 1 },
        }),
      });
      assert.equal(crossSite.status, 403);
      assert.equal((await admin.call('GET', '/api/v1/clusters')).body.items.length, 0, 'no cluster was created');
      // And in the browser: a page of another site (localhost is not 127.0.0.1's site) whose form posts
      // to cx's sign-out. The browser withholds the SameSite=Strict cookie, so cx sees no session.
      const evil = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end(
          `<form id="f" method="post" action="${cx.base}/api/v1/auth/logout"></form><script>document.getElementById('f').submit()</script>`,
        );
      });
      await new Promise<void>((listening) => evil.listen(0, '127.0.0.1', listening));
      try {
        const evilPage = await context.newPage();
        const [forged] = await Promise.all([
          evilPage.waitForResponse((response) => response.url().endsWith('/api/v1/auth/logout')),
          evilPage.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`),
        ]);
        assert.equal(forged.status(), 401, 'the cross-site form reached cx without the session');
        await evilPage.close();
      } finally {
        evil.close();
      }
      await page.reload();
      await page.getByRole('heading', { name: 'Clusters' }).waitFor();
      assert.equal(await page.getByTestId('whoami').innerText(), 'admin', 'still signed in');
      // The bearer API is as it was: the CLI's way works without any CSRF header.
      assert.equal((await admin.call('GET', '/api/v1/auth/whoami')).body.username, 'admin');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to cx' }).waitFor();
      assert.equal(
        (await context.cookies()).filter((c) => c.name === 'cx_session').length,
        0,
        'signing out drops the cookie',
      );
      const revoked = await fetch(`${cx.base}/api/v1/auth/whoami`, {
        headers: { authorization: `Bearer ${cookie.value}` },
      });
      assert.equal(revoked.status, 401, 'signing out revoked the token');
      watch.assertNone();
      await context.close();
    });

    it('creates a cluster in the wizard, follows it live to Ready, scales a pool, upgrades, adds and deletes a pool, deletes the cluster, each confirmed', async () => {
      const { context, page, watch } = await open();
      await page.goto('/');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('heading', { name: 'Clusters' }).waitFor();
      await page.getByRole('link', { name: 'New cluster' }).click();
      await page.getByRole('heading', { name: 'New cluster' }).waitFor();

      // Checked as typed, against the API's own schema.
      const name = page.getByLabel('Name', { exact: true });
      // Submitted empty: nothing is sent, the field and a summary say why.
      await page.getByRole('button', { name: 'Create cluster' }).click();
      await page.getByRole('alert').filter({ hasText: 'Some fields need attention' }).waitFor();
      assert.equal(await name.getAttribute('aria-invalid'), 'true');
      assert.equal((await admin.call('GET', '/api/v1/clusters')).body.items.length, 0);
      await name.fill('Web_1');
      assert.equal(await name.getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('.field', { has: name }).innerText(), /does not match/);
      await name.fill('web-1');
      assert.equal(await name.getAttribute('aria-invalid'), null);
      await page.getByLabel('Provider').selectOption('sim');
      const versions = await page.getByLabel('Kubernetes version').locator('option').allInnerTexts();
      const providers = (await admin.call('GET', '/api/v1/providers')).body.items as Array<{
        name: string;
        kubernetesVersions: string[];
      }>;
      assert.deepEqual(
        versions,
        providers.find((p) => p.name === 'sim')!.kubernetesVersions,
        'the versions are what sim offers',
      );
      // The oldest version, so that the cluster has an upgrade to take later.
      const byVersion = (a: string, b: string): number => {
        const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
        return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
      };
      const oldest = [...versions].sort(byVersion)[0]!;
      await page.getByLabel('Kubernetes version').selectOption(oldest);
      await page.getByLabel('Control-plane vCPUs').fill('4');
      await page.getByLabel(/Run workloads on the control-plane machines/).check();
      const pool = page.getByRole('group', { name: 'Pool 1' });
      await pool.getByLabel('Machines', { exact: true }).fill('1');
      await pool.getByLabel('Labels').fill('tier=web');
      await axe(page, 'the create wizard at 1280 px');
      await screenshot(page, 'wizard');
      await page.getByRole('button', { name: 'Create cluster' }).click();

      await page.waitForURL((url) => /^\/clusters\/[^/]+$/.test(url.pathname) && url.pathname !== '/clusters/new');
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.getByRole('heading', { name: 'web-1' }).waitFor();
      // The create workflow, live: its steps and progress appear, then Succeeded.
      const progress = page.getByRole('region', { name: 'Workflow cluster.create' });
      await progress.waitFor({ timeout: UI_WAIT_MS });
      await progress.locator('.badge', { hasText: 'Succeeded' }).first().waitFor({ timeout: WORKFLOW_WAIT_MS });
      await page.locator('.title-row .badge', { hasText: 'Ready' }).waitFor({ timeout: UI_WAIT_MS });
      const cluster = (await admin.call('GET', `/api/v1/clusters/${id}`)).body;
      assert.equal(cluster.status, 'Ready');
      assert.deepEqual(cluster.nodePools[0].labels, { tier: 'web' });
      assert.equal(cluster.controlPlane.vcpus, 4);
      assert.equal(cluster.controlPlane.schedulable, true);

      // The cluster page, loaded afresh: measured until its nodes are listed.
      const started = Date.now();
      await page.goto(`/clusters/${encodeURIComponent(id)}`);
      await page.getByRole('heading', { name: 'Nodes' }).waitFor();
      await page.locator('table').nth(1).locator('tbody tr').first().waitFor({ timeout: UI_WAIT_MS });
      figures['clusterPageToNodesMs'] = Date.now() - started;
      const nodes = (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items;
      assert.equal(
        await page.locator('table').nth(1).locator('tbody tr').count(),
        nodes.length,
        'every node is listed',
      );
      await axe(page, 'the cluster page at 1280 px');
      await screenshot(page, 'cluster');

      // The kubeconfig link is offered when the cluster has a Kubernetes API.
      const kubeconfig = page.getByRole('link', { name: 'Download kubeconfig' });
      assert.equal(await kubeconfig.count(), cluster.apiEndpoint ? 1 : 0);

      // Scale workers to 2, confirmed in a dialog.
      await page.getByRole('button', { name: 'Scale workers' }).click();
      const scaleDialog = page.getByRole('dialog', { name: /Scale pool workers/ });
      await scaleDialog.getByLabel(/Machines/).fill('2');
      await scaleDialog.getByRole('button', { name: 'Scale' }).click();
      await page.getByRole('region', { name: 'Workflow cluster.scale' }).waitFor({ timeout: UI_WAIT_MS });
      await page
        .getByRole('region', { name: 'Workflow cluster.scale' })
        .locator('h3 .badge', { hasText: 'Succeeded' })
        .waitFor({ timeout: WORKFLOW_WAIT_MS });
      await page
        .locator('tr', { has: page.getByRole('rowheader', { name: 'workers', exact: true }) })
        .locator('td')
        .first()
        .filter({ hasText: '2' })
        .waitFor({ timeout: UI_WAIT_MS });
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.nodePools[0].count, 2);
      // Machines n/m: the ready nodes of the three now wanted (one control plane, two workers).
      const ready = (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items.filter(
        (n: { status: string }) => n.status === 'Ready',
      ).length;
      await page
        .getByTestId('nodes-ready')
        .filter({ hasText: `${ready} of 3` })
        .waitFor({ timeout: UI_WAIT_MS });

      // Upgrade to the first version offered (newer, at most one minor up), confirmed.
      await page.getByRole('button', { name: 'Upgrade Kubernetes' }).click();
      const upgradeDialog = page.getByRole('dialog', { name: /Upgrade web-1/ });
      const target = await upgradeDialog.getByLabel('Version').inputValue();
      assert.ok(byVersion(target, oldest) > 0, `${target} is newer than ${oldest}`);
      await upgradeDialog.getByRole('button', { name: 'Upgrade' }).click();
      await page
        .getByRole('region', { name: 'Workflow cluster.upgrade' })
        .locator('h3 .badge', { hasText: 'Succeeded' })
        .waitFor({ timeout: WORKFLOW_WAIT_MS });
      await page.locator('dl.facts dd', { hasText: target }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.kubernetesVersion, target);

      // Add a tainted pool, then delete it, each confirmed.
      await page.getByRole('button', { name: 'Add a pool' }).click();
      const addDialog = page.getByRole('dialog', { name: /Add a worker pool/ });
      await addDialog.getByLabel('Pool name').fill('extra');
      await addDialog.getByLabel('Taints').fill('dedicated=batch:NoSchedule');
      await addDialog.getByRole('button', { name: 'Add pool' }).click();
      const settled = async (want: (pools: Array<{ name: string; taints?: unknown[] }>) => boolean) =>
        until(
          'the pools to settle',
          async () => {
            const now = (await admin.call('GET', `/api/v1/clusters/${id}`)).body;
            return now.status === 'Ready' && want(now.nodePools) ? now : undefined;
          },
          WORKFLOW_WAIT_MS,
        );
      const withExtra = await settled((pools) => pools.some((p) => p.name === 'extra'));
      assert.deepEqual(withExtra.nodePools.find((p: { name: string }) => p.name === 'extra').taints, [
        { key: 'dedicated', value: 'batch', effect: 'NoSchedule' },
      ]);
      const extraRow = page.getByRole('rowheader', { name: 'extra', exact: true });
      await extraRow.waitFor({ timeout: UI_WAIT_MS });
      await page.getByRole('button', { name: 'Delete pool extra' }).click();
      await page
        .getByRole('dialog', { name: /Delete pool extra/ })
        .getByRole('button', { name: 'Delete pool' })
        .click();
      await settled((pools) => !pools.some((p) => p.name === 'extra'));
      await extraRow.waitFor({ state: 'detached', timeout: UI_WAIT_MS });

      // Delete, confirmed. By keyboard first: Enter opens the dialog with focus inside it, Escape
      // closes it, focus returns to the button, and nothing happened.
      const deleteButton = page.getByRole('button', { name: 'Delete cluster' });
      await deleteButton.focus();
      await page.keyboard.press('Enter');
      const deleteDialog = page.getByRole('dialog', { name: /Delete cluster web-1/ });
      await deleteDialog.waitFor();
      assert.ok(
        await deleteDialog.evaluate((dialog) => dialog.contains(dialog.ownerDocument.activeElement)),
        'focus is in the dialog',
      );
      await page.keyboard.press('Escape');
      await deleteDialog.waitFor({ state: 'hidden' });
      assert.ok(
        await deleteButton.evaluate((button) => button.ownerDocument.activeElement === button),
        'focus is back on the button',
      );
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.status, 'Ready');
      await deleteButton.click();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.status, 'Ready');
      await page.getByRole('button', { name: 'Delete cluster' }).click();
      // Once deleted, the page's next refresh of the cluster is a 404 (the page says so).
      watch.expect(new RegExp(`status of 404.*/api/v1/clusters/${id}`));
      await page
        .getByRole('dialog', { name: /Delete cluster web-1/ })
        .getByRole('button', { name: 'Delete' })
        .click();
      await until(
        'the cluster to be gone',
        async () => ((await admin.call('GET', `/api/v1/clusters/${id}`)).status === 404 ? true : undefined),
        WORKFLOW_WAIT_MS,
      );
      // The page leaves for the list once the delete workflow has succeeded.
      await page.waitForURL((url) => url.pathname === '/clusters', { timeout: UI_WAIT_MS });
      await page.getByRole('heading', { name: 'Clusters' }).waitFor();
      await page.getByText('There are no clusters yet.').waitFor({ timeout: UI_WAIT_MS });
      watch.assertNone();
      await context.close();
    });

    it('creates a cluster from a template in the wizard: only the name is asked, the template gives the rest', async () => {
      const sim = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'sim',
      );
      const template = await admin.call('POST', '/api/v1/cluster-templates', {
        name: 'small',
        description: 'one control plane, two workers',
        provider: 'sim',
        kubernetesVersion: sim.kubernetesVersions[0],
        controlPlane: { count: 1 },
        nodePools: [{ name: 'apps', count: 2 }],
      });
      assert.equal(template.status, 201, JSON.stringify(template.body));
      const { context, page, watch } = await open();
      await page.goto('/clusters/new');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByLabel('Template').selectOption({ label: 'small — one control plane, two workers' });
      const summary = page.getByRole('region', { name: 'Template small' });
      assert.match(await summary.innerText(), /apps × 2/);
      assert.equal(await page.getByLabel('Provider').count(), 0, 'the template gives the provider');
      await page.getByLabel('Name', { exact: true }).fill('from-template');
      await page.getByRole('button', { name: 'Create cluster' }).click();
      await page.getByRole('heading', { name: 'from-template' }).waitFor({ timeout: UI_WAIT_MS });
      await page.locator('.title-row .badge', { hasText: 'Ready' }).waitFor({ timeout: WORKFLOW_WAIT_MS });
      await page.locator('dl.facts dd', { hasText: 'small (version 1)' }).waitFor();
      const made = (await admin.call('GET', '/api/v1/clusters')).body.items.find(
        (c: { name: string }) => c.name === 'from-template',
      );
      assert.deepEqual(
        made.nodePools.map((p: { name: string; count: number }) => [p.name, p.count]),
        [['apps', 2]],
      );
      assert.equal(made.template.name, 'small');

      // The API's refusal is shown as it comes: a second cluster of that name.
      watch.expect(/status of 409.*\/api\/v1\/clusters/);
      await page.goto('/clusters/new');
      await page.getByLabel('Template').selectOption({ label: 'small — one control plane, two workers' });
      await page.getByLabel('Name', { exact: true }).fill('from-template');
      await page.getByRole('button', { name: 'Create cluster' }).click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor({ timeout: UI_WAIT_MS });
      assert.match(await refusal.innerText(), /from-template/);
      assert.match(await refusal.innerText(), /CX_NAME_TAKEN/);
      assert.match(await refusal.innerText(), /request [0-9a-f-]{36}/, 'with the request id to find it in the logs');
      watch.assertNone();
      await context.close();
    });

    it('shows a user without grants no cluster and no action, a viewer no action, and fits 390 px', async () => {
      const created = await admin.call('POST', '/api/v1/clusters', {
        name: 'not-for-dev',
        provider: 'sim',
        kubernetesVersion: (await admin.call('GET', '/api/v1/providers')).body.items.find(
          (p: { name: string }) => p.name === 'sim',
        ).kubernetesVersions[0],
        controlPlane: { count: 1 },
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const { context, page, watch } = await open(NARROW);
      await page.goto('/');
      await signIn(page, 'dev', 'dev-password-1');
      await page.getByRole('heading', { name: 'Clusters' }).waitFor();
      await page.getByText('You see no clusters').waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByRole('link', { name: 'New cluster' }).count(), 0, 'no create action');
      assert.equal(await page.getByRole('row').count(), 0, 'no cluster row');
      assert.equal(await page.getByTestId('whoami').innerText(), 'dev');
      assert.ok(await page.locator('header .badge', { hasText: 'user' }).isVisible());
      await assertNoSideScroll(page, 'the clusters page');
      await axe(page, 'the clusters page at 390 px');

      // The cluster's own address shows the API's refusal, and no action.
      watch.expect(new RegExp(`status of 404.*/api/v1/clusters/${created.body.cluster.id}`));
      await page.goto(`/clusters/${encodeURIComponent(created.body.cluster.id)}`);
      await page.getByRole('heading', { name: 'Cluster not found' }).waitFor({ timeout: UI_WAIT_MS });
      assert.match(await page.getByRole('alert').innerText(), /CX_NOT_FOUND/);
      assert.equal(await page.getByRole('button', { name: /Delete|Scale/ }).count(), 0);
      await page.goto('/clusters/new');
      await page.getByText('You may not create clusters').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Create cluster' }).count(), 0);

      // A viewer of the cluster sees it, but is offered no action on it.
      const grant = await admin.call('POST', '/api/v1/grants', {
        subject: { kind: 'user', name: 'dev' },
        object: { kind: 'cluster', id: created.body.cluster.id },
        role: 'viewer',
      });
      assert.equal(grant.status, 201, JSON.stringify(grant.body));
      await page.goto('/');
      await page.getByRole('link', { name: 'not-for-dev' }).click();
      await page.getByRole('heading', { name: 'Nodes' }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByRole('button', { name: /Delete|Scale|Upgrade/ }).count(), 0, 'no action');
      assert.equal(await page.getByRole('columnheader', { name: 'Actions' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'New cluster' }).count(), 0);
      watch.assertNone();
      await context.close();
    });

    it('shows the admin the same pages at 390 px without sideways scrolling or serious axe violations', async () => {
      const { context, page, watch } = await open(NARROW);
      await page.goto('/');
      await page.getByRole('heading', { name: 'Sign in to cx' }).waitFor();
      await assertNoSideScroll(page, 'the sign-in page');
      await axe(page, 'the sign-in page at 390 px');
      await screenshot(page, 'sign-in');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('link', { name: 'not-for-dev' }).waitFor({ timeout: UI_WAIT_MS });
      await assertNoSideScroll(page, 'the clusters list');
      // Each row's health is what the node health monitor last reported through the API.
      const listed = (await admin.call('GET', '/api/v1/clusters')).body.items as Array<{
        id: string;
        name: string;
        healthStatus: { state: string } | null;
      }>;
      for (const { id, name } of listed)
        await until(
          `the list to show the health the API reports for ${name}`,
          async () => {
            const reported = (await admin.call('GET', `/api/v1/clusters/${id}`)).body.healthStatus?.state;
            const cell = await page
              .getByRole('row', { name: new RegExp(`^${name} `) })
              .getByRole('cell')
              .last()
              .innerText();
            return cell.startsWith(reported ?? 'not checked yet') ? true : undefined;
          },
          UI_WAIT_MS,
        );
      // The list follows the API by itself: a cluster created elsewhere appears without a reload.
      const other = await admin.call('POST', '/api/v1/clusters', {
        name: 'made-elsewhere',
        provider: 'sim',
        kubernetesVersion: (await admin.call('GET', '/api/v1/clusters')).body.items[0].kubernetesVersion,
        controlPlane: { count: 1 },
      });
      assert.equal(other.status, 202, JSON.stringify(other.body));
      await page.getByRole('link', { name: 'made-elsewhere' }).waitFor({ timeout: UI_WAIT_MS });
      // Search and the status filter narrow it.
      await page.getByLabel('Search').fill('elsewhere');
      assert.deepEqual(await page.getByRole('rowheader').allInnerTexts(), ['made-elsewhere']);
      await page.getByLabel('Search').fill('no-such-cluster');
      await page.getByText('No cluster matches these filters.').waitFor();
      await page.getByLabel('Search').fill('');
      await page.getByLabel('Status').selectOption('Ready');
      for (const status of await page.locator('tbody .badge').allInnerTexts()) assert.equal(status, 'Ready');
      await page.getByLabel('Status').selectOption('');
      await axe(page, 'the clusters list at 390 px');
      await screenshot(page, 'clusters');
      await page.setViewportSize(WIDE);
      await screenshot(page, 'clusters');
      await page.setViewportSize(NARROW);
      await page.getByRole('link', { name: 'not-for-dev' }).click();
      await page.getByRole('heading', { name: 'not-for-dev' }).waitFor();
      await page.getByRole('heading', { name: 'Nodes' }).waitFor();
      await assertNoSideScroll(page, 'the cluster page');
      await axe(page, 'the cluster page at 390 px');
      await screenshot(page, 'cluster');
      await page.goto('/clusters/new');
      await page.getByRole('heading', { name: 'New cluster' }).waitFor();
      await assertNoSideScroll(page, 'the create wizard');
      await axe(page, 'the create wizard at 390 px');
      await screenshot(page, 'wizard');
      watch.assertNone();
      await context.close();
    });
  },
);
