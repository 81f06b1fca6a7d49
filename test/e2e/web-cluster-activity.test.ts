/**
 * A cluster's page in Chromium: its past workflows, its events feed followed live (server-sent
 * events: nothing else refreshes it), and node actions, each confirmed. On sim (no Kubernetes API):
 * delete a node, the only node action there. On kwok (its own kube-apiserver): cordon, uncordon and
 * drain, and a pool's labels and taints replaced, checked on the nodes through the API. A viewer is offered no node action. Skips without
 * CX_TEST_CHROMIUM (and the kwok part without CX_TEST_KUBERNETES).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
  "web console: a cluster's workflows, events and node actions (sim)",
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

    it('lists past workflows, follows events live, deletes a node (confirmed); a viewer gets no node action', async () => {
      const sim = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'sim',
      );
      const created = await admin.call('POST', '/api/v1/clusters', {
        name: 'hist',
        provider: 'sim',
        kubernetesVersion: sim.kubernetesVersions[0],
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: 2 }],
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const id = created.body.cluster.id as string;
      assert.equal(
        (await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'])).status,
        'Succeeded',
      );

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      await page.goto(`/clusters/${encodeURIComponent(id)}`);
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('heading', { name: 'hist' }).waitFor({ timeout: UI_WAIT_MS });

      // Past workflows: the create run, as the API lists it.
      const runs = page.getByRole('region', { name: 'Workflows table' });
      await runs.getByRole('rowheader', { name: 'cluster.create' }).waitFor({ timeout: UI_WAIT_MS });
      assert.match(await runs.getByRole('row', { name: /cluster\.create/ }).innerText(), /Succeeded/);
      // Events: the feed's first page.
      const events = page.getByRole('list', { name: 'Cluster events, newest first' });
      await events.getByText('workflow cluster.create started by admin').waitFor({ timeout: UI_WAIT_MS });
      const before = await events.locator('li').count();

      // Sim has no Kubernetes API: delete is the only node action offered.
      const nodes = (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items as Array<{
        name: string;
        pool: string;
      }>;
      const worker = nodes.find((n) => n.pool === 'workers')!;
      assert.equal(await page.getByRole('button', { name: /^(Cordon|Uncordon|Drain) / }).count(), 0);
      const remove = page.getByRole('button', { name: `Delete ${worker.name}`, exact: true });
      await remove.click();
      const dialog = page.getByRole('dialog', { name: `Delete node ${worker.name}?` });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(
        (await admin.call('GET', `/api/v1/clusters/${id}`)).body.nodePools[0].count,
        2,
        'Cancel did nothing',
      );
      await remove.click();
      await dialog.getByRole('button', { name: 'Delete node' }).click();
      // The new run shows in the events without any reload: the stream brought it.
      await events.getByText('workflow cluster.scale started by admin').waitFor({ timeout: UI_WAIT_MS });
      assert.ok((await events.locator('li').count()) > before);
      await followed(page, 'cluster.scale');
      const after = (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items.map(
        (n: { name: string }) => n.name,
      );
      assert.ok(!after.includes(worker.name), 'that node is the one that went');
      assert.equal((await admin.call('GET', `/api/v1/clusters/${id}`)).body.nodePools[0].count, 1);
      await runs.getByRole('rowheader', { name: 'cluster.scale' }).waitFor({ timeout: UI_WAIT_MS });
      await axe(page, 'the cluster page with its workflows and events at 1280 px');
      await screenshot(page, 'cluster-activity');
      watch.assertNone();
      await context.close();

      // A viewer: the history and the events, no node action.
      const grant = await admin.call('POST', '/api/v1/grants', {
        subject: { kind: 'user', name: 'vic' },
        object: { kind: 'cluster', id },
        role: 'viewer',
      });
      assert.equal(grant.status, 201, JSON.stringify(grant.body));
      const narrow = await browser.newContext({ viewport: NARROW, baseURL: cx.base });
      const viewer = await narrow.newPage();
      const viewerWatch = new ConsoleWatch(viewer);
      await viewer.goto(`/clusters/${encodeURIComponent(id)}`);
      await signIn(viewer, 'vic', 'vic-password-1');
      await viewer.getByRole('rowheader', { name: 'cluster.scale' }).waitFor({ timeout: UI_WAIT_MS });
      await viewer.getByText('workflow cluster.scale started by admin').waitFor({ timeout: UI_WAIT_MS });
      assert.equal(await viewer.getByRole('button', { name: /Delete|Cordon|Drain/ }).count(), 0, 'no node action');
      await assertNoSideScroll(viewer, 'the cluster page');
      await axe(viewer, 'the cluster page with its workflows and events at 390 px');
      await screenshot(viewer, 'cluster-activity-viewer');
      viewerWatch.assertNone();
      await narrow.close();
    });
  },
);

describe(
  'web console: cordon, uncordon and drain a node (kwok)',
  {
    skip:
      (!browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
      (!kubernetes && 'CX_TEST_KUBERNETES is not set (test/peers/kubernetes.sh)'),
  },
  () => {
    const work = tempDir('web-nodes');
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

    it("cordons, uncordons and drains a node, relabels a pool's nodes, each confirmed and followed to its end", async () => {
      const peer = JSON.parse(kubernetes!) as { kubeApiserver: Record<string, string> };
      const created = await admin.call('POST', '/api/v1/clusters', {
        name: 'kw-nodes',
        provider: 'kwok',
        kubernetesVersion: Object.keys(peer.kubeApiserver).sort()[0],
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: 2 }],
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const done = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
      assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
      const id = created.body.cluster.id as string;
      const nodes = async () =>
        (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items as Array<{
          name: string;
          pool: string;
          unschedulable?: boolean;
          labels?: Record<string, string>;
          taints?: Array<{ key: string; value?: string; effect: string }>;
        }>;
      const node = async (name: string) => (await nodes()).find((n) => n.name === name)!;
      const worker = (
        (await admin.call('GET', `/api/v1/clusters/${id}/nodes`)).body.items as Array<{
          name: string;
          pool: string;
        }>
      ).find((n) => n.pool === 'workers')!.name;

      const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base });
      const page = await context.newPage();
      const watch = new ConsoleWatch(page);
      await page.goto(`/clusters/${encodeURIComponent(id)}`);
      await signIn(page, 'admin', ADMIN_PASSWORD);
      await page.getByRole('heading', { name: 'kw-nodes' }).waitFor({ timeout: UI_WAIT_MS });

      await page.getByRole('button', { name: `Cordon ${worker}`, exact: true }).click({ timeout: UI_WAIT_MS });
      await page
        .getByRole('dialog', { name: `Cordon node ${worker}?` })
        .getByRole('button', { name: 'Cordon' })
        .click();
      await followed(page, 'node.cordon');
      assert.equal((await node(worker)).unschedulable, true);
      // Cordoned, it is offered uncordon instead.
      await page.getByRole('button', { name: `Uncordon ${worker}`, exact: true }).click({ timeout: UI_WAIT_MS });
      await page
        .getByRole('dialog', { name: `Uncordon node ${worker}?` })
        .getByRole('button', { name: 'Uncordon' })
        .click();
      await followed(page, 'node.uncordon');
      assert.equal((await node(worker)).unschedulable, false);

      await page.getByRole('button', { name: `Drain ${worker}`, exact: true }).click({ timeout: UI_WAIT_MS });
      await page
        .getByRole('dialog', { name: `Drain node ${worker}?` })
        .getByRole('button', { name: 'Drain' })
        .click();
      await followed(page, 'node.drain');
      await until(
        'the drained node to be cordoned',
        async () => ((await node(worker)).unschedulable ? true : undefined),
        UI_WAIT_MS,
      );
      await page.getByRole('button', { name: `Uncordon ${worker}`, exact: true }).waitFor({ timeout: UI_WAIT_MS });

      // The pool's labels and taints, replaced on each of its nodes: an entry that is not key=value is
      // refused in the dialog, with nothing started.
      await page.getByRole('button', { name: 'Relabel workers' }).click();
      const relabel = page.getByRole('dialog', { name: 'Labels and taints of pool workers' });
      await relabel.getByLabel(/^Labels/).fill('tier');
      await relabel.getByRole('button', { name: 'Apply to its nodes' }).click();
      await relabel
        .getByRole('alert')
        .getByText(/Labels: “tier” is not key=value/)
        .waitFor({ timeout: UI_WAIT_MS });
      const started = async () =>
        (await admin.call('GET', `/api/v1/workflows?cluster=${id}`)).body.items.filter(
          (r: { workflow: string }) => r.workflow === 'nodepool.update-scheduling',
        ).length;
      assert.equal(await started(), 0, 'nothing was started');
      await relabel.getByLabel(/^Labels/).fill('tier=web');
      await relabel.getByLabel(/^Taints/).fill('dedicated=web:NoSchedule');
      await relabel.getByRole('button', { name: 'Apply to its nodes' }).click();
      await followed(page, 'nodepool.update-scheduling');
      const pool = (await admin.call('GET', `/api/v1/clusters/${id}`)).body.nodePools[0];
      assert.deepEqual(
        [pool.labels, pool.taints],
        [{ tier: 'web' }, [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }]],
      );
      const workers = (await nodes()).filter((n) => n.pool === 'workers');
      assert.equal(workers.length, 2);
      for (const n of workers) {
        assert.equal(n.labels?.['tier'], 'web', `${n.name} carries the label`);
        assert.ok(
          n.taints?.some((t) => t.key === 'dedicated' && t.value === 'web' && t.effect === 'NoSchedule'),
          `${n.name} carries the taint: ${JSON.stringify(n.taints)}`,
        );
      }
      await page
        .getByRole('region', { name: 'Pools table' })
        .getByText('tier=web, dedicated=web:NoSchedule')
        .waitFor({ timeout: UI_WAIT_MS });
      watch.assertNone();
      await context.close();
    });
  },
);
