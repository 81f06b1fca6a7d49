/**
 * The web console's kubeconfig download, in Chromium, for a cluster that has a Kubernetes API: a
 * kwok cluster with its own kube-apiserver (the sim provider's clusters have none, and the console
 * offers no download for them). The downloaded file is the caller's kubeconfig, and kubectl lists
 * the cluster's nodes with it. Skips without CX_TEST_CHROMIUM or CX_TEST_KUBERNETES.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { chromiumPeer, ConsoleWatch, launchChromium, signIn, UI_WAIT_MS, WIDE } from '../support/browser.js';
import { ADMIN_PASSWORD, Api, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';

const run = promisify(execFile);
const browserPeer = chromiumPeer();
const kubernetes = process.env['CX_TEST_KUBERNETES'];
const skip =
  (!browserPeer && 'CX_TEST_CHROMIUM is not set (test/peers/chromium.sh)') ||
  (!kubernetes && 'CX_TEST_KUBERNETES is not set (test/peers/kubernetes.sh)');

describe('web console: kubeconfig download (kwok)', { skip }, () => {
  const work = tempDir('web-kubeconfig');
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

  it("downloads the signed-in user's kubeconfig, which kubectl uses to list the nodes", async () => {
    const peer = JSON.parse(kubernetes!) as { kubeApiserver: Record<string, string>; kubectl?: string };
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'kw-web',
      provider: 'kwok',
      kubernetesVersion: Object.keys(peer.kubeApiserver).sort()[0],
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const done = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
    const id = created.body.cluster.id as string;
    const cluster = (await admin.call('GET', `/api/v1/clusters/${id}`)).body;

    const context = await browser.newContext({ viewport: WIDE, baseURL: cx.base, acceptDownloads: true });
    const page = await context.newPage();
    const watch = new ConsoleWatch(page);
    await page.goto(`/clusters/${encodeURIComponent(id)}`);
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'kw-web' }).waitFor({ timeout: UI_WAIT_MS });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download kubeconfig' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'kw-web.kubeconfig.yaml');
    const file = join(work, 'downloaded.kubeconfig');
    await download.saveAs(file);
    const kubeconfig = readFileSync(file, 'utf8');
    assert.match(kubeconfig, /^kind: Config$/m);
    assert.ok(kubeconfig.includes(`server: ${cluster.apiEndpoint}`), 'it names the cluster API');

    const { stdout } = await run(
      peer.kubectl ?? 'kubectl',
      ['--kubeconfig', file, '--request-timeout=20s', 'get', 'nodes', '-o', 'name'],
      { encoding: 'utf8' },
    );
    assert.equal(stdout.trim().split('\n').length, 2, stdout);
    watch.assertNone();
    await context.close();
  });
});
