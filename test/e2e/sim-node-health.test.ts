/**
 * Node health of a `sim` cluster through the public API. A sim cluster has no Kubernetes API: cx
 * watches its nodes through the provider, which reports a powered-off machine's node NotReady. The
 * machine is powered off out-of-band, by another client of the same simulated infrastructure (as an
 * operator would in the hypervisor's console); cx must show the cluster Unhealthy, start a
 * `node.remediate` workflow that fences and replaces the machine, and end Healthy. When too many
 * machines go off at once it must remediate nothing and say why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimProvider } from '@cx/providers-sim';
import { Api, simMachines, startCx, until as waitUntil, type CxProcess } from '../support/cx.js';

describe('node health of a sim cluster: watched through the provider, remediated, storm guard', () => {
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let infrastructure: SimProvider;

  const cluster = async (): Promise<any> => (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
  const machine = (name: string): { spec: { machineId: string }; providerId: string; powerState: string } => {
    const found = simMachines(cx.dataDir, clusterId).find((m) => m.spec.name === name) as
      { spec: { machineId: string }; providerId: string; powerState: string } | undefined;
    assert.ok(found, `sim machine ${name} does not exist`);
    return found;
  };
  const powerOff = (name: string): Promise<void> =>
    infrastructure.setPower(clusterId, machine(name).spec.machineId, 'off');
  const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
    waitUntil(what, probe, timeoutMs, { intervalMs: 100, context: cluster });
  const remediations = async (): Promise<
    Array<{ at: string; action: string; details: { machine: string; workflowId: string; reason: string } }>
  > => (await admin.call('GET', `/api/v1/audit?actor=cx:node-health&targetId=${clusterId}`)).body.items;

  before(async () => {
    cx = await startCx({ env: { CX_HA_HEALTH_INTERVAL_SECONDS: '1' } });
    admin = await Api.login(cx.base);
    infrastructure = new SimProvider({ dataDir: join(cx.dataDir, 'sim') });
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'simheal',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 3 }],
      health: { unhealthyTimeoutSeconds: 5 },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    clusterId = created.body.cluster.id;
    assert.equal(
      (await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
  });
  after(async () => {
    await cx?.stop();
  });

  it('shows a machine powered off out-of-band as Unhealthy, fences and replaces it, and is Healthy again', async () => {
    const healthy = await until(
      'a Healthy status',
      async () => {
        const c = await cluster();
        return c.healthStatus?.state === 'Healthy' ? c : undefined;
      },
      15_000,
    );
    assert.equal(healthy.apiEndpoint, null, 'a sim cluster has no Kubernetes API');
    const before = machine('simheal-workers-1');

    await powerOff('simheal-workers-1');
    const offAt = Date.now();
    const unhealthy = await until(
      'an Unhealthy status',
      async () => {
        const status = (await cluster()).healthStatus;
        return ['Unhealthy', 'Remediating'].includes(status?.state) ? status : undefined;
      },
      10_000,
    );
    assert.deepEqual(
      unhealthy.unhealthy.map((u: { name: string }) => u.name),
      ['simheal-workers-1'],
    );
    assert.match(
      unhealthy.message,
      /simheal-workers-1: node Ready=False for \d+ s \(the sim provider reports it NotReady: machine powered off or not booted\)/,
    );

    const audit = await until(
      'a remediation in the audit log',
      async () =>
        (await remediations()).find((e) => e.action === 'node.remediate' && e.details.machine === 'simheal-workers-1'),
      20_000,
    );
    assert.ok(Date.now() - offAt >= 5_000, 'remediation started before the unhealthy timeout');
    const workflow = await admin.waitForWorkflow(audit.details.workflowId, ['Succeeded', 'Failed'], 60_000);
    assert.equal(workflow.status, 'Succeeded', JSON.stringify(workflow.steps));
    assert.equal(workflow.workflow, 'node.remediate');
    assert.deepEqual(
      workflow.steps.map((s: { name: string }) => s.name),
      ['fence', 'mark-out-of-service', 'recover-machine', 'wait-nodes-ready', 'clear-out-of-service', 'mark-ready'],
    );

    // Replaced: the provider made a new machine under the same name and id, powered on.
    const after = machine('simheal-workers-1');
    assert.equal(after.spec.machineId, before.spec.machineId);
    assert.notEqual(after.providerId, before.providerId, 'the machine was not replaced');
    assert.equal(after.powerState, 'on');
    const back = await until(
      'a Healthy status again',
      async () => {
        const c = await cluster();
        return c.healthStatus?.state === 'Healthy' && c.status === 'Ready' ? c : undefined;
      },
      15_000,
    );
    assert.equal(back.activeWorkflowId, null);
    const nodes = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items as Array<{
      name: string;
      status: string;
    }>;
    assert.equal(nodes.find((n) => n.name === 'simheal-workers-1')?.status, 'Ready');
  });

  it('remediates nothing when more machines go off than maxUnhealthy allows, and says why', async () => {
    // 4 machines, maxUnhealthy 40 % = 1: two machines off are a storm.
    const stormStarted = new Date().toISOString();
    await Promise.all(['simheal-workers-0', 'simheal-workers-2'].map(powerOff));
    const storm = await until(
      'a Storm status',
      async () => {
        const status = (await cluster()).healthStatus;
        return status?.state === 'Storm' ? status : undefined;
      },
      10_000,
    );
    assert.match(storm.message, /2 of 4 nodes are unhealthy, more than maxUnhealthy \(40% = 1\): nothing is fenced/);
    // Well past the unhealthy timeout: still no workflow, and both machines still as they were.
    await sleep(7_000);
    const c = await cluster();
    assert.equal(c.activeWorkflowId, null);
    assert.equal(c.healthStatus.state, 'Storm');
    assert.deepEqual(
      (await remediations()).filter((e) => e.at >= stormStarted),
      [],
      'a remediation was started during the storm',
    );
  });
});
