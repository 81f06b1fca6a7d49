/**
 * The create wizard's topology, health policy and quota, and a cluster's operations, in Chromium.
 * On sim: a request over the resource group's quota is refused in the form (nothing is sent), a
 * single-node cluster with its health policy is created and checked through the API, the actions
 * sim cannot do are not offered (OS upgrade, certificate rotation, addons, ha-configs, etcd
 * snapshots), the CA is rotated by keyboard alone (confirmed, followed live), and a viewer is
 * offered none of it; a two-node pair is created from the wizard (both sides followed, then the
 * pair declared), a refused side or a refused declaration saying what was created. On kwok (its
 * own kube-apiserver): the `cx kubeconfig` command, an etcd snapshot taken and restored,
 * certificates rotated, an addon installed with its settings and removed, an ha-config created and
 * deleted, the workers moved onto a new OS image, a failed OS upgrade rolled back, the Kubernetes
 * Dashboard's link and token (checked on the tenant's API server); a cluster created in the wizard
 * with an addon chosen there, installed by its create. Axe at 1280 and 390 px; screenshots go to
 * test-results/screenshots.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
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
import { ADMIN_PASSWORD, Api, startCx, stopKwokControlPlanes, tempDir, until, type CxProcess } from '../support/cx.js';
import { kubernetesPeer, workersDeployment } from '../support/kwok.js';

const run = promisify(execFile);
const browserPeer = chromiumPeer();
const kubernetes = process.env['CX_TEST_KUBERNETES'];

/** Waits for the run of `workflow` the page follows to succeed. */
async function followed(page: Page, workflow: string): Promise<void> {
  await page
    .getByRole('region', { name: `Workflow ${workflow}` })
    .locator('h3 .badge', { hasText: 'Succeeded' })
    .waitFor({ timeout: WORKFLOW_WAIT_MS });
}

describe(
  'web console: the wizard’s topology, health policy and quota; a cluster’s operations (sim)',
  { skip: !browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)' },
  () => {
    let cx: CxProcess;
    let browser: Browser;
    let admin: Api;

    before(async () => {
      cx = await startCx();
      admin = await Api.login(cx.base);
      assert.equal(
        (await admin.call('POST', '/api/v1/users', { username: 'vic', password: 'vic-password-1' })).status,
        201,
      );
      browser = await launchChromium(browserPeer!);
    });
    after(async () => {
      await browser?.close();
      await cx?.stop();
    });

    it('refuses a request over the quota in the form, creates one with its topology and health policy, rotates the CA', async () => {
      const group = await admin.call('POST', '/api/v1/resource-groups', {
        name: 'small',
        quotas: { nodes: 3, clusters: 2 },
      });
      assert.equal(group.status, 201, JSON.stringify(group.body));

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      const creates: string[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/clusters') creates.push(r.url());
      });
      await page.goto('/clusters/new');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByLabel('Name', { exact: true }).fill('solo', { timeout: UI_WAIT_MS });
      await page.getByLabel('Resource group', { exact: true }).selectOption({ label: 'small' });
      // The VIP field follows the provider's capabilities.controlPlaneVip.
      const providers = (await admin.call('GET', '/api/v1/providers')).body.items as Array<{
        name: string;
        capabilities?: { controlPlaneVip?: boolean };
      }>;
      const vip = page.getByLabel('Control-plane VIP from IP pool');
      const withVip = providers.find((p) => p.capabilities?.controlPlaneVip);
      if (withVip) {
        await page.getByLabel('Provider', { exact: true }).selectOption(withVip.name);
        await vip.waitFor({ timeout: UI_WAIT_MS });
        // An administrator picks from the IP pools (none here): "No VIP" is the one choice.
        assert.deepEqual(await vip.locator('option').allInnerTexts(), ['No VIP']);
      }
      await page.getByLabel('Provider', { exact: true }).selectOption('sim');
      assert.equal(await vip.count(), 0, 'sim has no control-plane VIP: the field is not offered');

      // HA: three control-plane machines and a pool of one = 4 machines, over the quota of 3.
      await page.getByLabel('Topology', { exact: true }).selectOption({ label: 'HA control plane + pools' });
      assert.equal(await page.getByLabel('Control-plane machines', { exact: true }).inputValue(), '3');
      const quota = page.getByTestId('quota');
      await quota.getByText('machines: 3 of 3 left; this cluster needs 4').waitFor({ timeout: UI_WAIT_MS });
      await page
        .getByRole('alert')
        .getByText(/Over the quota of machines/)
        .waitFor({ timeout: UI_WAIT_MS });
      await axe(page, 'the wizard refusing a request over the quota at 1280 px');
      await screenshot(page, 'wizard-over-quota');
      await page.getByRole('button', { name: 'Create cluster' }).click();
      assert.deepEqual(creates, [], 'a request over the quota is not sent');
      assert.equal((await admin.call('GET', '/api/v1/clusters')).body.items.length, 0);

      // Single node: one machine, no pool, workloads on it.
      await page.getByLabel('Topology', { exact: true }).selectOption({ label: 'Single node' });
      assert.equal(await page.getByLabel('Control-plane machines', { exact: true }).inputValue(), '1');
      assert.equal(await page.getByRole('group', { name: 'Pool 1' }).count(), 0, 'no worker pool');
      await quota.getByText('machines: 3 of 3 left; this cluster needs 1').waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByText(/Over the quota/).count(), 0);

      // The health policy, checked as typed against the API's schema.
      const timeout = page.getByLabel('Unhealthy after (seconds NotReady)');
      await timeout.fill('3');
      await page.getByText('at least 5').waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await timeout.getAttribute('aria-invalid'), 'true');
      await timeout.fill('60');
      const storm = page.getByLabel('At most unhealthy at once');
      await storm.fill('half');
      await page.getByText(/a count \(2\) or a percentage/).waitFor({ timeout: UI_WAIT_MS });
      await storm.fill('1');
      await page.getByLabel('Remediation', { exact: true }).selectOption('reboot');
      assert.equal(await page.getByRole('alert').count(), 0, 'nothing left to fix');
      await page.getByRole('button', { name: 'Create cluster' }).click();
      await page.getByRole('heading', { name: 'solo' }).waitFor({ timeout: UI_WAIT_MS });
      await followed(page, 'cluster.create');
      assert.equal(creates.length, 1);

      const cluster = (await admin.call('GET', '/api/v1/clusters')).body.items[0];
      assert.equal(cluster.name, 'solo');
      assert.equal(cluster.resourceGroupId, group.body.id);
      assert.deepEqual(
        [cluster.controlPlane.count, cluster.controlPlane.schedulable, cluster.nodePools.length],
        [1, true, 0],
      );
      assert.deepEqual(
        [cluster.health.unhealthyTimeoutSeconds, cluster.health.maxUnhealthy, cluster.health.remediation],
        [60, 1, 'reboot'],
      );
      await page
        .getByTestId('health')
        .getByText(/remediation reboot, after 60 s NotReady/)
        .waitFor();

      // Sim: no OS image, no certificate rotation, no Kubernetes API, no snapshots; the CA rotates.
      for (const name of ['Upgrade the OS', 'Rotate certificates', 'Install an addon', 'Take a snapshot'])
        assert.equal(await page.getByRole('button', { name }).count(), 0, `${name} is not offered on sim`);
      for (const name of ['Addons', 'HA configs', 'etcd snapshots', 'Access'])
        assert.equal(await page.getByRole('heading', { name, exact: true }).count(), 0, `no ${name} section`);
      // By keyboard alone: Enter opens the dialog with focus inside it, Escape closes it (nothing
      // started) and gives focus back; Tab reaches the confirmation, Enter starts the rotation.
      const rotate = page.getByRole('button', { name: 'Rotate the CA' });
      await rotate.focus({ timeout: UI_WAIT_MS });
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Rotate the CA of solo?' });
      await dialog.waitFor({ timeout: UI_WAIT_MS });
      const focused = async (): Promise<{ inDialog: boolean; text: string }> =>
        (await page.evaluate(
          "({ inDialog: !!document.activeElement?.closest('dialog[open]'), text: document.activeElement?.textContent ?? '' })",
        )) as { inDialog: boolean; text: string };
      assert.equal((await focused()).inDialog, true, 'focus moves into the dialog');
      await axe(page, 'the rotate-CA dialog at 1280 px');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: UI_WAIT_MS });
      assert.deepEqual(await focused(), { inDialog: false, text: 'Rotate the CA' }, 'focus is back on the button');
      const runs = async () =>
        (await admin.call('GET', `/api/v1/workflows?cluster=${cluster.id}`)).body.items.map(
          (w: { workflow: string }) => w.workflow,
        );
      assert.ok(!(await runs()).includes('cluster.rotate-ca'), 'Escape started nothing');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ timeout: UI_WAIT_MS });
      for (let tabs = 0; tabs < 4 && (await focused()).text !== 'Rotate the CA'; tabs++)
        await page.keyboard.press('Tab');
      assert.deepEqual(await focused(), { inDialog: true, text: 'Rotate the CA' }, 'Tab reaches the confirmation');
      await page.keyboard.press('Enter');
      await followed(page, 'cluster.rotate-ca');
      assert.ok((await runs()).includes('cluster.rotate-ca'));
      await screenshot(page, 'cluster-sim');
      watch.assertNone();
      await context.close();

      // A viewer: the page, no operation.
      const grant = await admin.call('POST', '/api/v1/grants', {
        subject: { kind: 'user', name: 'vic' },
        object: { kind: 'cluster', id: cluster.id },
        role: 'viewer',
      });
      assert.equal(grant.status, 201, JSON.stringify(grant.body));
      const narrow = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const viewer = await narrow.newPage();
      const viewerWatch = new ConsoleWatch(viewer);
      await viewer.goto(`/clusters/${encodeURIComponent(cluster.id)}`);
      await signIn(viewer, 'vic', 'vic-password-1');
      await viewer.getByRole('heading', { name: 'solo' }).waitFor({ timeout: UI_WAIT_MS });
      await viewer.getByTestId('health').waitFor();
      assert.equal(
        await viewer.getByRole('button', { name: /Rotate|Upgrade|Snapshot|addon|Delete/ }).count(),
        0,
        'a viewer is offered no operation',
      );
      await assertNoSideScroll(viewer, 'the cluster page');
      await axe(viewer, 'the cluster page as a viewer at 390 px');
      await screenshot(viewer, 'cluster-sim-viewer');
      viewerWatch.assertNone();
      await narrow.close();

      // The wizard at 390 px, with its new fields.
      const small = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const wizard = await small.newPage();
      await wizard.goto('/clusters/new');
      await signIn(wizard, 'admin', ADMIN_PASSWORD);
      await wizard.getByLabel('Topology', { exact: true }).selectOption({ label: 'Three-node converged' });
      await wizard.getByLabel('Resource group', { exact: true }).selectOption({ label: 'small' });
      await wizard.getByTestId('quota').getByText('machines: 2 of 3 left; this cluster needs 3').waitFor();
      await assertNoSideScroll(wizard, 'the wizard');
      await axe(wizard, 'the wizard at 390 px');
      await screenshot(wizard, 'wizard-topology');
      await small.close();
    });

    it('creates a two-node pair from the wizard: both sides followed, the pair declared; a refused side says what exists', async () => {
      const sim = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'sim',
      );
      const taken = await admin.call('POST', '/api/v1/clusters', {
        name: 'duo-taken',
        provider: 'sim',
        kubernetesVersion: sim.kubernetesVersions.at(-1),
        controlPlane: { count: 1 },
      });
      assert.equal(taken.status, 202, JSON.stringify(taken.body));
      const clusterNames = async (): Promise<string[]> =>
        ((await admin.call('GET', '/api/v1/clusters')).body.items as Array<{ name: string }>).map((c) => c.name).sort();
      const pairs = async (): Promise<any[]> => (await admin.call('GET', '/api/v1/pairs')).body.items;
      const before = await clusterNames();

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      const creates: string[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/clusters') creates.push(r.url());
      });
      await page.goto('/clusters/new');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByLabel('Name', { exact: true }).fill('duo', { timeout: UI_WAIT_MS });
      await page.getByLabel('Provider', { exact: true }).selectOption('sim');
      await page.getByLabel('Topology', { exact: true }).selectOption({ label: 'Two-node pair' });
      await page.getByLabel('Pair name', { exact: true }).waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByLabel('Side a cluster').getAttribute('placeholder'), 'duo-a');
      // No singleton yet: marked, and nothing is sent.
      await page.getByRole('button', { name: 'Create pair' }).click();
      await page.getByText('at least one Deployment, namespace/name').waitFor({ timeout: UI_WAIT_MS });
      assert.deepEqual(creates, []);
      await page.getByLabel('Singletons').fill('apps/db');
      // The agents of these sim clusters are not run here: loopback addresses nobody answers at.
      await page.getByLabel('Side a agent URL').fill('http://127.0.0.1:9');
      await page.getByLabel('Side b agent URL').fill('http://127.0.0.1:9');
      // Side b's name is taken: side a is created, side b refused, and the page says so.
      watch.expect(/status of 409.*\/api\/v1\/clusters/);
      await page.getByLabel('Side b cluster').fill('duo-taken');
      await page.getByRole('button', { name: 'Create pair' }).click();
      const creating = page.getByRole('region', { name: 'Creating pair duo' });
      await creating
        .getByRole('alert')
        .getByText(/Side a, duo-a, was created and stays; side b \(duo-taken\) was refused/)
        .waitFor({ timeout: UI_WAIT_MS });
      await creating.getByText(/already exists/).waitFor({ timeout: UI_WAIT_MS });
      assert.deepEqual(await clusterNames(), [...before, 'duo-a'].sort());
      assert.deepEqual(await pairs(), [], 'no pair declared');

      // Back to the form, the sides named anew: both created, followed, and the pair declared.
      await creating.getByRole('button', { name: 'Back to the form' }).click();
      await page.getByLabel('Side a cluster').fill('duo-1');
      await page.getByLabel('Side b cluster').fill('duo-2');
      await page.getByRole('button', { name: 'Create pair' }).click();
      const again = page.getByRole('region', { name: 'Creating pair duo' });
      for (const side of ['Side a: duo-1', 'Side b: duo-2'])
        await again
          .getByRole('region', { name: side })
          .getByRole('region', { name: 'Workflow cluster.create' })
          .waitFor({ timeout: UI_WAIT_MS });
      await axe(page, 'the wizard creating a pair at 1280 px');
      const declared = again.getByRole('region', { name: 'Pair duo' });
      await declared.getByText('Pair duo declared').waitFor({ timeout: WORKFLOW_WAIT_MS });
      await screenshot(page, 'wizard-pair-1280');
      for (const side of ['Side a: duo-1', 'Side b: duo-2'])
        await again
          .getByRole('region', { name: side })
          .locator('h3 .badge', { hasText: 'Succeeded' })
          .waitFor({ timeout: UI_WAIT_MS });

      const clusters = (await admin.call('GET', '/api/v1/clusters')).body.items as Array<any>;
      const side = (name: string) => clusters.find((c) => c.name === name);
      for (const name of ['duo-1', 'duo-2']) {
        assert.equal(side(name)?.status, 'Ready', name);
        assert.deepEqual([side(name).controlPlane.count, side(name).nodePools.length], [1, 0], 'single-node');
      }
      const [pair] = await pairs();
      assert.equal(pair.name, 'duo');
      assert.deepEqual([pair.sides.a.clusterId, pair.sides.b.clusterId], [side('duo-1').id, side('duo-2').id]);
      assert.deepEqual(
        pair.singletons.map((s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`),
        ['apps/db'],
      );
      await declared.getByRole('link', { name: 'duo-1' }).first().waitFor();

      // A declaration refused (the pair's name is taken): both clusters exist and are Ready, and the page says so.
      watch.expect(/status of 409.*\/api\/v1\/pairs/);
      await page.goto('/clusters/new');
      await page.getByLabel('Name', { exact: true }).fill('duo', { timeout: UI_WAIT_MS });
      await page.getByLabel('Provider', { exact: true }).selectOption('sim');
      await page.getByLabel('Topology', { exact: true }).selectOption({ label: 'Two-node pair' });
      await page.getByLabel('Side a cluster').fill('duo-3');
      await page.getByLabel('Side b cluster').fill('duo-4');
      await page.getByLabel('Side a agent URL').fill('http://127.0.0.1:9');
      await page.getByLabel('Side b agent URL').fill('http://127.0.0.1:9');
      await page.getByLabel('Singletons').fill('apps/db');
      await page.getByRole('button', { name: 'Create pair' }).click();
      const refusedPair = page.getByRole('region', { name: 'Creating pair duo' });
      await refusedPair
        .getByText(/Both clusters are Ready \(duo-3, duo-4\), but the pair was not declared/)
        .waitFor({ timeout: WORKFLOW_WAIT_MS });
      await refusedPair
        .getByText(/a pair named duo exists|already in use/)
        .first()
        .waitFor({ timeout: UI_WAIT_MS });
      await refusedPair.getByRole('button', { name: 'Declare the pair again' }).waitFor();
      assert.deepEqual(
        (await pairs()).map((p) => p.name),
        ['duo'],
        'the refused declaration stored nothing',
      );
      assert.ok((await clusterNames()).includes('duo-3') && (await clusterNames()).includes('duo-4'));
      watch.assertNone();
      await context.close();
    });
  },
);

describe(
  'web console: etcd snapshots, certificate rotation, addons, ha-configs, OS upgrade and rollback, the dashboard (kwok)',
  {
    skip:
      (!browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
      (!kubernetes && 'CX_TEST_KUBERNETES is not set (test/peers/kubernetes.sh)'),
  },
  () => {
    const work = tempDir('web-ops');
    let cx: CxProcess;
    let browser: Browser;
    let admin: Api;

    before(async () => {
      const binariesFile = join(work, 'binaries.json');
      writeFileSync(binariesFile, kubernetes!);
      cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binariesFile } });
      admin = await Api.login(cx.base);
      browser = await launchChromium(browserPeer!);
    });
    after(async () => {
      await browser?.close();
      await cx?.stop();
      stopKwokControlPlanes(cx?.dataDir);
    });

    it('snapshots and restores etcd, rotates certificates, installs and removes an addon, creates and deletes an ha-config, upgrades the OS and rolls a failed upgrade back, each confirmed and followed; opens the dashboard', async () => {
      const peer = JSON.parse(kubernetes!) as { kubeApiserver: Record<string, string> };
      const created = await admin.call('POST', '/api/v1/clusters', {
        name: 'kw-ops',
        provider: 'kwok',
        kubernetesVersion: Object.keys(peer.kubeApiserver).sort()[0],
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: 1, labels: { role: 'edge' } }],
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const done = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
      assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
      const id = created.body.cluster.id as string;

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      await page.goto(`/clusters/${encodeURIComponent(id)}`);
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('heading', { name: 'kw-ops' }).waitFor({ timeout: UI_WAIT_MS });
      await page.getByTestId('kubeconfig-command').getByText('cx kubeconfig kw-ops --merge').waitFor();
      await page.getByText('No addon installed.').waitFor({ timeout: UI_WAIT_MS });
      await page.getByText('No ha-config.').waitFor({ timeout: UI_WAIT_MS });
      await page.getByRole('button', { name: 'Upgrade the OS' }).waitFor({ timeout: UI_WAIT_MS });

      // etcd: take a snapshot (confirmed), then restore it.
      await page.getByText('No snapshot yet.').waitFor({ timeout: UI_WAIT_MS });
      await page.getByRole('button', { name: 'Take a snapshot' }).click();
      await page
        .getByRole('dialog', { name: "Take a snapshot of kw-ops's etcd?" })
        .getByRole('button', { name: 'Take snapshot' })
        .click();
      await followed(page, 'etcd.snapshot');
      const snapshots = (await admin.call('GET', `/api/v1/clusters/${id}/etcd-snapshots`)).body.items;
      assert.equal(snapshots.length, 1);
      const table = page.getByRole('region', { name: 'etcd snapshots table' });
      await table.getByText(String(snapshots[0].revision), { exact: true }).waitFor({ timeout: UI_WAIT_MS });
      await axe(page, 'the kwok cluster page with its operations at 1280 px');
      await screenshot(page, 'cluster-kwok');
      await table.getByRole('button', { name: /^Restore snapshot of / }).click();
      await page
        .getByRole('dialog', { name: "Restore kw-ops's etcd from this snapshot?" })
        .getByRole('button', { name: 'Restore' })
        .click();
      await followed(page, 'etcd.restore');

      await page.getByRole('button', { name: 'Rotate certificates' }).click({ timeout: UI_WAIT_MS });
      await page
        .getByRole('dialog', { name: 'Rotate the certificates of kw-ops?' })
        .getByRole('button', { name: 'Rotate certificates' })
        .click();
      await followed(page, 'cluster.rotate-certificates');
      // An addon from the catalog with its settings, followed until its Deployment is ready, then removed.
      await page.getByRole('button', { name: 'Install an addon' }).click({ timeout: UI_WAIT_MS });
      const install = page.getByRole('dialog', { name: 'Install an addon on kw-ops' });
      await install.getByLabel('Addon').selectOption('ingress-nginx');
      await install.getByLabel(/Settings/).fill('{not json');
      await install.getByRole('button', { name: 'Install' }).click();
      await install
        .getByRole('alert')
        .getByText(/not JSON/)
        .waitFor({ timeout: UI_WAIT_MS });
      await install.getByLabel(/Settings/).fill('{"serviceType": "NodePort"}');
      await install.getByRole('button', { name: 'Install' }).click();
      await followed(page, 'addon.install');
      const addons = page.getByRole('region', { name: 'Addons table' });
      await addons.getByRole('rowheader', { name: 'ingress-nginx' }).waitFor({ timeout: UI_WAIT_MS });
      await addons.getByRole('button', { name: 'Remove ingress-nginx' }).click();
      await page
        .getByRole('dialog', { name: 'Remove addon ingress-nginx from kw-ops?' })
        .getByRole('button', { name: 'Remove addon' })
        .click();
      await followed(page, 'addon.remove');
      await page.getByText('No addon installed.').waitFor({ timeout: UI_WAIT_MS });

      // An ha-config in the seed's syntax, applied, then deleted.
      await page.getByRole('button', { name: 'Create an ha-config' }).click();
      const ha = page.getByRole('dialog', { name: 'Float VIPs over nodes of kw-ops' });
      await ha.getByLabel('Name', { exact: true }).fill('web-vips');
      await ha.getByLabel(/Virtual IPs/).fill('192.0.2.10-11');
      await ha.getByLabel(/Node selector/).fill('role=edge');
      await ha.getByRole('button', { name: 'Create ha-config' }).click();
      await followed(page, 'ha-config.apply');
      const configs = page.getByRole('region', { name: 'HA configs table' });
      await configs.getByRole('rowheader', { name: 'web-vips' }).waitFor({ timeout: UI_WAIT_MS });
      const stored = (await admin.call('GET', `/api/v1/ha-configs?clusterId=${id}`)).body.items;
      assert.deepEqual(
        stored.map((c: { name: string; virtualIps: string }) => [c.name, c.virtualIps]),
        [['web-vips', '192.0.2.10-11']],
      );
      await configs.getByRole('button', { name: 'Delete ha-config web-vips' }).click();
      await page
        .getByRole('dialog', { name: 'Delete ha-config web-vips?' })
        .getByRole('button', { name: 'Delete ha-config' })
        .click();
      await followed(page, 'ha-config.remove');
      await page.getByText('No ha-config.').waitFor({ timeout: UI_WAIT_MS });

      // The workers onto a new OS image (kwok's nodes report it), confirmed and followed.
      await page.getByRole('button', { name: 'Upgrade the OS' }).click();
      const os = page.getByRole('dialog', { name: 'Move the workers of kw-ops onto a new OS image' });
      await os.getByLabel(/^Image/).fill('cx-os-2');
      await os.getByRole('button', { name: 'Upgrade the OS' }).click();
      await followed(page, 'cluster.os-upgrade');
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.osImage, 'cx-os-2');

      // A failed OS upgrade, rolled back from the page. A PodDisruptionBudget keeps the one pod on the
      // worker, so draining it after its replacement is Ready stays blocked, and the upgrade (started
      // through the API, for its short drain timeout; the dialog keeps the default 300 s) fails.
      const kubeconfig = join(work, 'kw-ops.kubeconfig');
      writeFileSync(kubeconfig, (await admin.call('GET', `/api/v1/clusters/${id}/kubeconfig`)).body as string, {
        mode: 0o600,
      });
      const kubectl = async (...args: string[]): Promise<string> =>
        (
          await run(kubernetesPeer().kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], {
            encoding: 'utf8',
          })
        ).stdout.trim();
      const budget = join(work, 'pinned-budget.json');
      writeFileSync(
        budget,
        JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'pinned', namespace: 'default' },
          spec: { minAvailable: 1, selector: { matchLabels: { app: 'pinned' } } },
        }),
      );
      await kubectl('apply', '-f', workersDeployment(work, 'pinned', 1), '-f', budget);
      await kubectl('rollout', 'status', 'deployment/pinned', '--timeout=60s');
      const nodeNames = async (): Promise<string[]> =>
        (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items
          .map((n: { name: string }) => n.name)
          .sort();
      const nodesBefore = await nodeNames();
      const tenantNodes = async (): Promise<string[]> =>
        (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ').filter(Boolean).sort();
      const tenantBefore = await tenantNodes();
      const failing = await admin.call('POST', `/api/v1/clusters/${id}/os-upgrade`, {
        image: 'cx-os-3',
        drainTimeoutSeconds: 2,
      });
      assert.equal(failing.status, 202, JSON.stringify(failing.body));
      const failed = await admin.waitForWorkflow(failing.body.workflow.id, ['Succeeded', 'Failed'], WORKFLOW_WAIT_MS);
      assert.equal(failed.status, 'Failed', JSON.stringify(failed.steps));
      assert.equal(
        failed.steps.find((s: { status: string }) => s.status === 'Failed')?.error?.code,
        'CX_DRAIN_BLOCKED',
        JSON.stringify(failed.steps),
      );
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.osImage, 'cx-os-3');
      assert.equal(
        (await tenantNodes()).length,
        tenantBefore.length + 1,
        'the replacement joined the tenant, the old worker is still there',
      );
      const rollBack = page.getByRole('button', { name: 'Roll back the OS upgrade' });
      await rollBack.click({ timeout: UI_WAIT_MS });
      const rollbackDialog = page.getByRole('dialog', { name: 'Roll back the last OS upgrade of kw-ops?' });
      await rollbackDialog.getByRole('button', { name: 'Cancel' }).click();
      assert.ok(
        !(await admin.call('GET', `/api/v1/workflows?cluster=${id}`)).body.items.some(
          (r: { workflow: string }) => r.workflow === 'cluster.os-upgrade-rollback',
        ),
        'Cancel started nothing',
      );
      await rollBack.click();
      await rollbackDialog.getByRole('button', { name: 'Roll back' }).click();
      await followed(page, 'cluster.os-upgrade-rollback');
      const rolledBack = (await admin.call('GET', `/api/v1/clusters/${id}`)).body;
      assert.deepEqual(
        [rolledBack.status, rolledBack.osImage, rolledBack.activeWorkflowId],
        ['Ready', 'cx-os-2', null],
        'the image the cluster had before',
      );
      assert.deepEqual(await nodeNames(), nodesBefore, 'the replacement went, the old worker stayed');
      await until(
        'the replacement to leave the tenant',
        async () => (JSON.stringify(await tenantNodes()) === JSON.stringify(tenantBefore) ? true : undefined),
        UI_WAIT_MS,
      );
      const nodesAfter = (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items as Array<{
        name: string;
        unschedulable?: boolean;
      }>;
      assert.ok(
        nodesAfter.every((n) => !n.unschedulable),
        `the old worker takes pods again: ${JSON.stringify(nodesAfter)}`,
      );
      await rollBack.waitFor({ state: 'detached', timeout: UI_WAIT_MS });

      // The Kubernetes Dashboard: installed from the page, then a link and a token of the admin's role,
      // which the tenant's API server honours.
      await page.getByRole('button', { name: 'Install an addon' }).click();
      await install.getByLabel('Addon').selectOption('dashboard');
      await install.getByLabel(/Settings/).fill('');
      await install.getByRole('button', { name: 'Install' }).click();
      await followed(page, 'addon.install');
      await page.getByRole('button', { name: 'Kubernetes Dashboard: get a link and a token' }).click({
        timeout: UI_WAIT_MS,
      });
      const link = page.getByRole('link', { name: 'Open the Kubernetes Dashboard' });
      await link.waitFor({ timeout: UI_WAIT_MS });
      const dashboard = await admin.call('GET', `/api/v1/clusters/${id}/dashboard`);
      assert.equal(dashboard.status, 200, JSON.stringify(dashboard.body));
      assert.equal(await link.getAttribute('href'), dashboard.body.url, 'the link the API gives');
      assert.match(
        dashboard.body.url,
        /^https:\/\/.+\/api\/v1\/namespaces\/kubernetes-dashboard\/services\/https:kubernetes-dashboard:\/proxy\/$/,
      );
      const token = (await page.locator('code.token').innerText()).trim();
      const server = await kubectl('config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.server}');
      const ca = join(work, 'kw-ops-ca.pem');
      writeFileSync(
        ca,
        Buffer.from(
          await kubectl('config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}'),
          'base64',
        ),
      );
      // An empty kubeconfig: the token alone authenticates (with the admin's certificate that would be used instead).
      const none = join(work, 'no-credentials.kubeconfig');
      writeFileSync(none, 'apiVersion: v1\nkind: Config\n');
      const canI = async (...args: string[]): Promise<string> =>
        (
          await run(
            kubernetesPeer().kubectl,
            [
              '--kubeconfig',
              none,
              '--server',
              server,
              '--certificate-authority',
              ca,
              '--token',
              token,
              'auth',
              'can-i',
              ...args,
            ],
            { encoding: 'utf8' },
          ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
        ).stdout.trim();
      assert.equal(await canI('create', 'namespaces'), 'yes', 'the token shown carries the admin role');
      await screenshot(page, 'cluster-kwok-access', page.getByRole('region', { name: 'Access' }));

      const runs = (await admin.call('GET', `/api/v1/workflows?cluster=${id}`)).body.items as Array<{
        workflow: string;
        status: string;
      }>;
      for (const workflow of [
        'etcd.snapshot',
        'etcd.restore',
        'cluster.rotate-certificates',
        'addon.install',
        'addon.remove',
        'ha-config.apply',
        'ha-config.remove',
        'cluster.os-upgrade',
        'cluster.os-upgrade-rollback',
      ])
        // (The OS upgrade twice: the first succeeded, the second failed on purpose and was rolled back.)
        assert.ok(
          runs.some((r) => r.workflow === workflow && r.status === 'Succeeded'),
          `${workflow} succeeded: ${JSON.stringify(runs.filter((r) => r.workflow === workflow))}`,
        );
      watch.assertNone();
      await context.close();

      const narrow = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const small = await narrow.newPage();
      await small.goto(`/clusters/${encodeURIComponent(id)}`);
      await signIn(small, 'admin', ADMIN_PASSWORD);
      await small.getByRole('region', { name: 'etcd snapshots table' }).waitFor({ timeout: UI_WAIT_MS });
      // The dashboard's token is one long word: it wraps rather than widening the page.
      await small
        .getByRole('button', { name: 'Kubernetes Dashboard: get a link and a token' })
        .click({ timeout: UI_WAIT_MS });
      await small.getByRole('link', { name: 'Open the Kubernetes Dashboard' }).waitFor({ timeout: UI_WAIT_MS });
      await assertNoSideScroll(small, 'the kwok cluster page');
      await axe(small, 'the kwok cluster page at 390 px');
      await screenshot(small, 'cluster-kwok');
      await narrow.close();
    });

    it('creates a cluster with an addon chosen in the wizard; the create installs it and its page lists it', async () => {
      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      await page.goto('/clusters/new');
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByLabel('Name', { exact: true }).fill('kw-addons', { timeout: UI_WAIT_MS });
      // sim's clusters run no Kubernetes API: no addon is offered for them.
      await page.getByLabel('Provider', { exact: true }).selectOption('sim');
      await page.getByText('sim clusters run no Kubernetes API').waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await page.getByRole('checkbox', { name: /^metrics-server / }).count(), 0);
      await page.getByLabel('Provider', { exact: true }).selectOption('kwok');
      await page.getByLabel('Topology', { exact: true }).selectOption({ label: 'Single node' });
      await page.getByRole('checkbox', { name: /^metrics-server / }).check({ timeout: UI_WAIT_MS });
      const sent: unknown[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/clusters') sent.push(r.postDataJSON());
      });
      await page.getByRole('button', { name: 'Create cluster' }).click();
      await page.getByRole('heading', { name: 'kw-addons' }).waitFor({ timeout: UI_WAIT_MS });
      assert.deepEqual((sent[0] as { addons?: unknown }).addons, [{ name: 'metrics-server' }]);
      // Followed on the page; awaited through the API too, with the steps named if it fails.
      const [run] = (await admin.call('GET', '/api/v1/workflows?cluster=kw-addons')).body.items;
      const done = await admin.waitForWorkflow(run.id, ['Succeeded', 'Failed'], 300_000);
      assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
      assert.ok(done.steps.some((step: { name: string }) => step.name === 'wait-addons-ready'));
      await followed(page, 'cluster.create');
      const cluster = (await admin.call('GET', '/api/v1/clusters/kw-addons')).body;
      assert.equal(cluster.status, 'Ready');
      const installed = (await admin.call('GET', `/api/v1/clusters/${cluster.id}/addons`)).body.items;
      assert.deepEqual(
        installed.map((a: { name: string; status: string }) => `${a.name} ${a.status}`),
        ['metrics-server Installed'],
      );
      await page.reload();
      const addons = page.getByRole('region', { name: 'Addons table' });
      const row = addons.getByRole('row', { name: /metrics-server/ });
      await row.waitFor({ timeout: UI_WAIT_MS });
      await row.getByText('Ready', { exact: true }).waitFor({ timeout: UI_WAIT_MS });
      watch.assertNone();
      await context.close();
    });
  },
);
