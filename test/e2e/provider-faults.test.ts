/** Provider failures as a user sees them: transient ones are absorbed, lasting ones are explained. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Api, DEMO_CLUSTER, simMachines, startCx, type CxProcess } from '../support/cx.js';

describe('a flaky provider (CX_SIM_FAILURE_RATE=0.3)', () => {
  let cx: CxProcess | undefined;
  after(async () => {
    await cx?.stop();
  });

  it('still brings the cluster to Ready and deletes it, retrying what failed', async () => {
    cx = await startCx({ env: { CX_SIM_FAILURE_RATE: '0.3' } });
    const api = await Api.login(cx.base);
    const created = await api.call('POST', '/api/v1/clusters', { name: 'flaky', ...DEMO_CLUSTER });
    assert.equal(created.status, 202);
    const run = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(run.status, 'Succeeded', JSON.stringify(run));
    assert.equal(simMachines(cx.dataDir, created.body.cluster.id).length, 5);
    const deleted = await api.call('DELETE', `/api/v1/clusters/${created.body.cluster.id}`);
    assert.equal(
      (await api.waitForWorkflow(deleted.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.equal(simMachines(cx.dataDir, created.body.cluster.id).length, 0);
  });
});

describe('a provider that keeps failing (CX_SIM_FAILURE_RATE=1)', () => {
  let cx: CxProcess | undefined;
  after(async () => {
    await cx?.stop();
  });

  it('fails the workflow with the provider error on its step and marks the cluster Failed with the reason', async () => {
    cx = await startCx({ env: { CX_SIM_FAILURE_RATE: '1', CX_WORKFLOWS_STEP_ATTEMPTS: '2' } });
    const api = await Api.login(cx.base);
    const created = await api.call('POST', '/api/v1/clusters', { name: 'doomed', ...DEMO_CLUSTER });
    assert.equal(created.status, 202);
    const run = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(run.status, 'Failed');
    const failedStep = run.steps.find((s: { status: string }) => s.status === 'Failed');
    assert.equal(failedStep.name, 'provision-machines');
    assert.equal(failedStep.error.code, 'CX_PROVIDER_UNAVAILABLE');
    assert.equal(failedStep.attempts, 2, 'the step was retried before the workflow failed');
    assert.equal(run.error.code, 'CX_PROVIDER_UNAVAILABLE');
    const cluster = await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}`);
    assert.equal(cluster.body.status, 'Failed');
    assert.match(cluster.body.statusMessage, /provision-machines|step 1/);
    assert.equal(cluster.body.activeWorkflowId, null, 'the cluster is released for a retry or a delete');
    // The machine whose operation failed shows it as its condition.
    const nodes = (await api.call('GET', `/api/v1/clusters/${created.body.cluster.id}/nodes`)).body.items as Array<{
      name: string;
      machine: { id: string; condition: { code: string; workflowId: string; message: string } | null };
    }>;
    const failing = nodes.find((n) => n.machine.id === failedStep.error.machineId);
    assert.ok(failing, `the failed machine is listed: ${JSON.stringify(nodes)}`);
    assert.equal(failing.machine.condition?.code, 'CX_PROVIDER_UNAVAILABLE');
    assert.equal(failing.machine.condition?.workflowId, run.id);
    assert.equal(failing.machine.condition?.message, failedStep.error.message);
  });
});
