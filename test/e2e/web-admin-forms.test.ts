/**
 * The administration pages' create and delete forms in a real browser (Chromium) against a running
 * cx on the sim provider and the Redfish peer (sushy-tools): a resource group with quotas, an IP
 * pool in seed syntax, a bare-metal host whose BMC cx checks, a cluster template and a two-node
 * pair of sim clusters are each created through their form and seen in their list, then deleted
 * once confirmed; the resource group (description and quotas) and the template (description, version
 * preset) are edited too. A field the API's request schema refuses is marked as it is typed and the form
 * sends nothing; a request the API refuses shows its problem detail and creates nothing. axe finds
 * no serious violation in each dialog at 1280 px and 390 px; screenshots are kept in
 * test-results/screenshots/. Skips without CX_TEST_CHROMIUM or CX_TEST_REDFISH.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
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
import { ADMIN_PASSWORD, Api, startCx, type CxProcess } from '../support/cx.js';
import { redfishPeer } from '../support/infrastructure.js';

const peer = chromiumPeer();
const skip =
  (!peer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
  (!process.env['CX_TEST_REDFISH'] && 'CX_TEST_REDFISH is not set (test/peers/redfish.sh)');

describe('web console: create and delete forms of the administration pages (sim, Redfish)', { skip }, () => {
  let cx: CxProcess;
  let browser: Browser;
  let admin: Api;
  let version: string;

  before(async () => {
    cx = await startCx();
    admin = await Api.login(cx.base);
    version = (await admin.call('GET', '/api/v1/providers')).body.items.find((p: { name: string }) => p.name === 'sim')
      .kubernetesVersions[0];
    browser = await launchChromium(peer!);
  });
  after(async () => {
    await browser?.close();
    await cx?.stop();
  });

  async function open(
    section: string,
    viewport = WIDE,
  ): Promise<{ context: BrowserContext; page: Page; watch: ConsoleWatch }> {
    const context = await browser.newContext({ viewport, baseURL: cx.base });
    const page = await context.newPage();
    const watch = new ConsoleWatch(page);
    await page.goto(`/admin/${section}`);
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('navigation', { name: 'Administration' }).waitFor({ timeout: UI_WAIT_MS });
    await page.getByText('Loading…').waitFor({ state: 'detached', timeout: UI_WAIT_MS });
    return { context, page, watch };
  }

  const items = async (path: string): Promise<{ name: string }[]> => (await admin.call('GET', path)).body.items;

  /** The field's own problem, as the form shows it beside the field. */
  const problemOf = async (field: Locator): Promise<string> => {
    const id = (await field.getAttribute('aria-describedby'))?.split(' ').find((i) => i.endsWith('-problem'));
    assert.ok(id, 'the field points at its problem');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    return field.page().locator(`[id="${id}"]`).innerText();
  };

  /** Deletes a listed row's item through its confirmation; Cancel first changes nothing. */
  async function deleteRow(page: Page, name: string, what: string): Promise<void> {
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    const confirm = page.getByRole('dialog', { name: `Delete ${what} ${name}?` });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.getByRole('row', { name: new RegExp(`^${name}`) }).count(), 1, 'Cancel keeps it');
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    await confirm.getByRole('button', { name: `Delete ${what}` }).click();
    await page.getByRole('row', { name: new RegExp(`^${name}`) }).waitFor({ state: 'detached', timeout: UI_WAIT_MS });
  }

  it('creates a resource group with quotas and edits them; a bad name or quota is marked as typed and sends nothing; a taken name shows the API problem', async () => {
    const { context, page, watch } = await open('resource-groups');
    await page.getByText('There are no resource groups yet.').waitFor({ timeout: UI_WAIT_MS });
    await page.getByRole('button', { name: 'New resource group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New resource group' });
    await dialog.getByLabel('Name', { exact: true }).fill('Team_A');
    assert.match(await problemOf(dialog.getByLabel('Name', { exact: true })), /does not match/);
    await dialog.getByLabel('Clusters quota').fill('-1');
    assert.equal(await problemOf(dialog.getByLabel('Clusters quota')), 'at least 0');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    assert.match(
      await dialog.getByRole('alert').innerText(),
      /Correct these fields first: name.*clusters \(at least 0\)/s,
    );
    assert.deepEqual(await items('/api/v1/resource-groups'), [], 'nothing was created');
    await axe(page, 'the new resource group dialog at 1280 px');
    await screenshot(page, 'admin-resource-group-form');

    await dialog.getByLabel('Name', { exact: true }).fill('team-a');
    await dialog.getByLabel('Description').fill('the A team');
    await dialog.getByLabel('Clusters quota').fill('3');
    await dialog.getByLabel('Memory (MiB) quota').fill('65536');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /^team-a/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /0 of 3/);
    assert.match(await row.innerText(), /0 of 65536/);
    const [group] = (await admin.call('GET', '/api/v1/resource-groups')).body.items;
    assert.deepEqual(group.quotas, { clusters: 3, memoryMiB: 65536 });

    // The same name again: the API's refusal, as it comes, and still one group.
    watch.expect(/status of 409.*\/api\/v1\/resource-groups/);
    await page.getByRole('button', { name: 'New resource group' }).click();
    assert.equal(await dialog.getByLabel('Name', { exact: true }).inputValue(), '', 'the form starts empty again');
    await dialog.getByLabel('Name', { exact: true }).fill('team-a');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    assert.match(await dialog.getByRole('alert').innerText(), /CX_NAME_TAKEN/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await items('/api/v1/resource-groups')).length, 1);

    // Edited: the form shows the group as it is; a bad quota is marked and nothing is sent; then the
    // description and quotas are replaced (an emptied quota is no limit) and the name stays.
    const patches: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH') patches.push(r.url());
    });
    await page.getByRole('button', { name: 'Edit team-a' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit resource group team-a' });
    assert.equal(await edit.getByLabel('Clusters quota').inputValue(), '3', 'the form starts from the group');
    assert.equal(await edit.getByLabel('Description').inputValue(), 'the A team');
    await edit.getByLabel('Nodes quota').fill('-2');
    assert.equal(await problemOf(edit.getByLabel('Nodes quota')), 'at least 0');
    await edit.getByRole('button', { name: 'Save group' }).click();
    await edit
      .getByRole('alert')
      .getByText(/Correct these fields first: nodes/)
      .waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(patches, [], 'a form with a marked field sends nothing');
    await axe(page, 'the edit resource group dialog at 1280 px');
    await edit.getByLabel('Nodes quota').fill('12');
    await edit.getByLabel('Clusters quota').fill('');
    await edit.getByLabel('Description').fill('team A, resized');
    await edit.getByRole('button', { name: 'Save group' }).click();
    await edit.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await row.getByText('0 of 12').waitFor({ timeout: UI_WAIT_MS });
    const edited = (await admin.call('GET', '/api/v1/resource-groups')).body.items[0];
    assert.deepEqual(
      [edited.name, edited.description, edited.quotas],
      ['team-a', 'team A, resized', { nodes: 12, memoryMiB: 65536 }],
    );
    assert.equal(patches.length, 1);
    await page.getByRole('button', { name: 'Edit team-a' }).click();
    assert.equal(await edit.getByLabel('Clusters quota').inputValue(), '', 'opened again: the group as it now is');
    assert.equal(await edit.getByLabel('Nodes quota').inputValue(), '12');
    await edit.getByRole('button', { name: 'Cancel' }).click();

    await deleteRow(page, 'team-a', 'resource group');
    assert.deepEqual(await items('/api/v1/resource-groups'), []);
    watch.assertNone();
    await context.close();
  });

  it('creates an IP pool from seed-syntax ranges; ranges the API refuses show its problem and create nothing', async () => {
    const { context, page, watch } = await open('ip-pools');
    await page.getByRole('button', { name: 'New IP pool' }).click();
    const dialog = page.getByRole('dialog', { name: 'New IP pool' });
    await dialog.getByLabel('Name', { exact: true }).fill('vips');
    await dialog.getByRole('button', { name: 'Create pool' }).click();
    assert.match(await problemOf(dialog.getByLabel('Ranges')), /required/);
    assert.match(await dialog.getByRole('alert').innerText(), /ranges \(required\)/);

    watch.expect(/status of 400.*\/api\/v1\/ip-pools/);
    await dialog.getByLabel('Ranges').fill('10.1.1.9-3');
    await dialog.getByRole('button', { name: 'Create pool' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'invalid ranges' }).waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(await items('/api/v1/ip-pools'), [], 'nothing was created');

    await dialog.getByLabel('Ranges').fill('10.1.1.5-8,42.42.42.42');
    await dialog.getByLabel('Description').fill('control-plane VIPs');
    await dialog.getByRole('button', { name: 'Create pool' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /^vips/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /10\.1\.1\.5-8,42\.42\.42\.42/);
    assert.match(await row.innerText(), /0 of 5/);

    // An overlapping pool: refused by the API, nothing created.
    watch.expect(/status of 409.*\/api\/v1\/ip-pools/);
    await page.getByRole('button', { name: 'New IP pool' }).click();
    await dialog.getByLabel('Name', { exact: true }).fill('other');
    await dialog.getByLabel('Ranges').fill('10.1.1.7');
    await dialog.getByRole('button', { name: 'Create pool' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: /overlap/ })
      .waitFor({ timeout: UI_WAIT_MS });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(
      (await items('/api/v1/ip-pools')).map((p) => p.name),
      ['vips'],
    );

    await deleteRow(page, 'vips', 'IP pool');
    watch.assertNone();
    await context.close();
  });

  it('registers a bare-metal host after cx checks its BMC; a wrong BMC password shows the problem and stores nothing', async () => {
    const bmc = redfishPeer();
    const system = bmc.systems[3] ?? bmc.systems[0]!;
    const { context, page, watch } = await open('hosts');
    await page.getByRole('button', { name: 'New host' }).click();
    const dialog = page.getByRole('dialog', { name: 'New bare-metal host' });
    await dialog.getByLabel('Name', { exact: true }).fill('rack1-u7');
    await dialog.getByLabel('BMC address').fill(bmc.url);
    await dialog.getByLabel('BMC username').fill(bmc.username);
    await dialog.getByLabel('BMC password').fill('not-the-bmc-password');
    await dialog.getByLabel('BMC CA certificate').fill(readFileSync(bmc.caFile, 'utf8'));
    await dialog.getByLabel('Redfish system id').fill(system.id);
    await dialog.getByLabel('Boot MAC').fill('not-a-mac');
    assert.match(await problemOf(dialog.getByLabel('Boot MAC')), /does not match/);
    await dialog.getByLabel('Boot MAC').fill(system.mac);
    await dialog.getByLabel('Node addresses').fill('192.0.2.150');
    await dialog.getByLabel('Labels').fill('cx/pool=workers, rack=1');
    await dialog.getByLabel('vCPUs').fill('8');
    await dialog.getByLabel('Memory (MiB)').fill('100');
    assert.equal(await problemOf(dialog.getByLabel('Memory (MiB)')), 'at least 256');
    await dialog.getByLabel('Memory (MiB)').fill('16384');
    await axe(page, 'the new host dialog at 1280 px');

    watch.expect(/status of 422.*\/api\/v1\/hosts/);
    await dialog.getByRole('button', { name: 'Check and save' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'CX_CREDENTIAL_REJECTED' }).waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(await items('/api/v1/hosts'), [], 'nothing was stored');

    await dialog.getByLabel('BMC password').fill(bmc.password);
    await dialog.getByRole('button', { name: 'Check and save' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /^rack1-u7/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /available/);
    assert.match(await row.innerText(), /8 vCPU, 16384 MiB, 100 GiB/);
    const [host] = (await admin.call('GET', '/api/v1/hosts')).body.items;
    assert.deepEqual(host.labels, { 'cx/pool': 'workers', rack: '1' });
    assert.equal(host.bmc.systemId, system.id);
    assert.ok(!(await page.content()).includes(bmc.password), 'the page shows no BMC password');

    await deleteRow(page, 'rack1-u7', 'host');
    watch.assertNone();
    await context.close();
  });

  it('creates a cluster template with presets and edits it; a bad pool name is marked and sends nothing', async () => {
    const { context, page, watch } = await open('templates');
    await page.getByRole('button', { name: 'New template' }).click();
    const dialog = page.getByRole('dialog', { name: 'New cluster template' });
    await dialog.getByLabel('Name', { exact: true }).fill('small');
    await dialog.getByLabel('Provider').selectOption('sim');
    await dialog.getByLabel('Kubernetes version').fill(version);
    await dialog.getByLabel('Control-plane nodes').selectOption('1');
    await dialog.getByLabel('Pool name').fill('Workers!');
    await dialog.getByLabel('Pool nodes').fill('2');
    assert.match(await problemOf(dialog.getByLabel('Pool name')), /does not match/);
    await dialog.getByRole('button', { name: 'Create template' }).click();
    assert.match(await dialog.getByRole('alert').innerText(), /poolName/);
    assert.deepEqual(await items('/api/v1/cluster-templates'), [], 'nothing was created');

    await dialog.getByLabel('Pool name').fill('workers');
    await dialog.getByRole('button', { name: 'Create template' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /^small/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /sim/);
    assert.match(await row.innerText(), /workers × 2/);
    const [template] = (await admin.call('GET', '/api/v1/cluster-templates')).body.items;
    assert.equal(template.kubernetesVersion, version);
    assert.equal(template.controlPlane.count, 1);

    // Edited: nothing changed sends nothing; then a description, and the version preset removed, the
    // other presets kept.
    const patches: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH') patches.push(r.url());
    });
    await page.getByRole('button', { name: 'Edit small' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit template small' });
    assert.equal(
      await edit.getByLabel('Kubernetes version').inputValue(),
      version,
      'the form starts from the template',
    );
    await edit.getByRole('button', { name: 'Save template' }).click();
    await edit.getByRole('alert').getByText('Nothing was changed.').waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(patches, []);
    await axe(page, 'the edit template dialog at 1280 px');
    await edit.getByLabel('Description').fill('one control-plane node, two workers');
    await edit.getByLabel('Kubernetes version').fill('');
    await edit.getByRole('button', { name: 'Save template' }).click();
    await edit.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    await row.getByText('one control-plane node, two workers').waitFor({ timeout: UI_WAIT_MS });
    const edited = (await admin.call('GET', '/api/v1/cluster-templates')).body.items[0];
    assert.deepEqual(
      [
        edited.version,
        edited.description,
        edited.kubernetesVersion,
        edited.controlPlane.count,
        edited.nodePools.map((p: { name: string; count: number }) => [p.name, p.count]),
      ],
      [2, 'one control-plane node, two workers', undefined, 1, [['workers', 2]]],
    );
    assert.equal(patches.length, 1);

    await deleteRow(page, 'small', 'template');
    watch.assertNone();
    await context.close();
  });

  it('pairs two single-node sim clusters; the same cluster twice is marked and sends nothing', async () => {
    const ids: string[] = [];
    for (const name of ['edge-a', 'edge-b']) {
      const created = await admin.call('POST', '/api/v1/clusters', {
        name,
        provider: 'sim',
        kubernetesVersion: version,
        controlPlane: { count: 1 },
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const run = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], WORKFLOW_WAIT_MS);
      assert.equal(run.status, 'Succeeded');
      ids.push(created.body.cluster.id);
    }
    const { context, page, watch } = await open('pairs');
    await page.getByRole('button', { name: 'New pair' }).click();
    const dialog = page.getByRole('dialog', { name: 'New two-node pair' });
    await dialog.getByLabel('Name', { exact: true }).fill('edge');
    await dialog.getByLabel('Side a cluster').selectOption({ label: 'edge-a' });
    await dialog.getByLabel('Side b cluster').selectOption({ label: 'edge-a' });
    // The agents of these sim clusters are not run here: loopback addresses nobody answers at.
    await dialog.getByLabel('Side a agent URL').fill('http://127.0.0.1:9');
    await dialog.getByLabel('Side b agent URL').fill('http://127.0.0.1:9');
    await dialog.getByLabel('Singletons').fill('apps/db');
    await dialog.getByRole('button', { name: 'Create pair' }).click();
    assert.equal(await problemOf(dialog.getByLabel('Side b cluster')), 'must differ from side a');
    assert.deepEqual(await items('/api/v1/pairs'), [], 'nothing was created');

    await dialog.getByLabel('Side b cluster').selectOption({ label: 'edge-b' });
    await dialog.getByLabel('Singletons').fill('apps');
    assert.match(await problemOf(dialog.getByLabel('Singletons')), /not namespace\/name/);
    await dialog.getByLabel('Singletons').fill('apps/db');
    await axe(page, 'the new pair dialog at 1280 px');
    await dialog.getByRole('button', { name: 'Create pair' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
    const row = page.getByRole('row', { name: /^edge/ });
    await row.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await row.innerText(), /edge-a.*edge-b/s);
    const [pair] = (await admin.call('GET', '/api/v1/pairs')).body.items;
    assert.deepEqual([pair.sides.a.clusterId, pair.sides.b.clusterId], ids);
    assert.deepEqual(
      pair.singletons.map((s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`),
      ['apps/db'],
    );

    await deleteRow(page, 'edge', 'pair');
    assert.deepEqual(await items('/api/v1/pairs'), []);
    watch.assertNone();
    await context.close();
  });

  it('shows each create dialog without serious axe violations at 390 px, fitting it', async () => {
    const { context, page, watch } = await open('resource-groups', NARROW);
    for (const [section, button] of [
      ['resource-groups', 'New resource group'],
      ['ip-pools', 'New IP pool'],
      ['hosts', 'New host'],
      ['templates', 'New template'],
      ['pairs', 'New pair'],
    ] as const) {
      await page.goto(`/admin/${section}`);
      await page.getByRole('navigation', { name: 'Administration' }).waitFor({ timeout: UI_WAIT_MS });
      await page.getByText('Loading…').waitFor({ state: 'detached', timeout: UI_WAIT_MS });
      await page.getByRole('button', { name: button }).click();
      await page.getByRole('dialog').waitFor();
      await assertNoSideScroll(page, `the ${section} create dialog`);
      await axe(page, `the ${section} create dialog at 390 px`);
      await screenshot(page, `admin-${section}-form`);
    }
    watch.assertNone();
    await context.close();
  });
});
