/**
 * A tenant Kubernetes API that stops answering in the middle of a workflow (issue 4, "bad input and
 * faults"): its kube-apiserver (kwok runtime) is frozen with SIGSTOP, so connections are accepted
 * and never answered — the worst kind of outage for a client. The step must not hang: each request
 * is abandoned after `sddc.tenantTimeoutSeconds`, the operation and then the step are retried with
 * backoff, the workflow shows it while it happens, and it fails with a clear reason once the
 * step's attempts are spent. When the API answers again, a retry of the workflow succeeds.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Api, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';

describe('a tenant API that stops answering mid-workflow', () => {
  const raw = process.env['CX_TEST_KUBERNETES'];
  const work = tempDir('tenant-faults');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let haConfigId = '';

  /** The pid of the cluster's kube-apiserver, from the kwok runtime's state (one cluster in this cx). */
  function apiserverPid(): number {
    const runtime = join(cx.dataDir, 'kwok');
    for (const dir of existsSync(runtime) ? readdirSync(runtime) : []) {
      const state = join(runtime, dir, 'state.json');
      if (existsSync(state)) {
        const pid = (JSON.parse(readFileSync(state, 'utf8')) as { pids: { apiserver?: number } }).pids.apiserver;
        if (pid) return pid;
      }
    }
    throw new Error(`no kube-apiserver pid under ${runtime}`);
  }

  before(async () => {
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    const binariesFile = join(work, 'binaries.json');
    writeFileSync(binariesFile, raw);
    cx = await startCx({
      env: {
        CX_KWOK_BINARIES_FILE: binariesFile,
        CX_SDDC_TENANT_TIMEOUT_SECONDS: '2',
        CX_WORKFLOWS_STEP_ATTEMPTS: '3',
        // Nothing else talks to the frozen API meanwhile.
        CX_HA_HEALTH_MONITOR: 'false',
      },
    });
    admin = await Api.login(cx.base);
    const version = Object.keys((JSON.parse(raw) as { kubeApiserver: Record<string, string> }).kubeApiserver)
      .sort()
      .at(-1)!;
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'frozen',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    clusterId = created.body.cluster.id;
    assert.equal(
      (await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000)).status,
      'Succeeded',
    );
    const ha = await admin.call('POST', '/api/v1/ha-configs', { clusterId, name: 'ingress', virtualIps: '192.0.2.70' });
    assert.equal(ha.status, 202, JSON.stringify(ha.body));
    haConfigId = ha.body.haConfig.id;
    assert.equal(
      (await admin.waitForWorkflow(ha.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('retries with backoff while showing why, fails with a clear reason, and succeeds on retry once the API is back', async () => {
    const pid = apiserverPid();
    process.kill(pid, 'SIGSTOP');
    let workflowId = '';
    try {
      const apply = await admin.call('POST', `/api/v1/ha-configs/${haConfigId}/apply`);
      assert.equal(apply.status, 202, JSON.stringify(apply.body));
      workflowId = apply.body.workflow.id;
      // While it retries, the running step says what is wrong.
      const deadline = Date.now() + 60_000;
      let seen = '';
      while (!/did not answer within 2 s/.test(seen) && Date.now() < deadline) {
        const run = (await admin.call('GET', `/api/v1/workflows/${workflowId}`)).body;
        assert.ok(
          ['Pending', 'Running'].includes(run.status),
          `the workflow ended before it showed a retry: ${JSON.stringify(run)}`,
        );
        seen = run.steps.map((s: { message: string | null }) => s.message ?? '').join(' | ');
        await sleep(250);
      }
      assert.match(
        seen,
        /attempt 1 failed \(CX_PROVIDER_UNAVAILABLE: the tenant Kubernetes API did not answer within 2 s/,
      );
      assert.match(seen, /retrying/);
      const failed = await admin.waitForWorkflow(workflowId, ['Succeeded', 'Failed'], 240_000);
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.error.code, 'CX_PROVIDER_UNAVAILABLE');
      assert.match(failed.error.message, /did not answer within 2 s/);
      const step = failed.steps.find((s: { status: string }) => s.status === 'Failed');
      assert.equal(step.attempts, 3, 'every attempt of the step was used');
      assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Failed');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const retried = await admin.call('POST', `/api/v1/workflows/${workflowId}/retry`);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((await admin.waitForWorkflow(workflowId, ['Succeeded', 'Failed'], 120_000)).status, 'Succeeded');
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Ready');
  });
});
