/**
 * Node health, fencing and remediation through the public API, on a cluster of the kwok runtime
 * (real kube-apiserver, controller manager and scheduler; nodes simulated by kwok). A node "stops"
 * the way a dead kubelet does: kwok no longer keeps it and its Ready condition turns Unknown, while
 * the provider still reports the machine powered on. cx must fence it (power off, seen off) before
 * it taints it out of service, move its StatefulSet pod, replace the machine and clear the taint;
 * and when too many nodes stop at once it must fence nothing and say why.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Api, stopKwokControlPlanes, tempDir, until, type CxProcess } from '../support/cx.js';
import { createCluster, kubernetesPeer, startKwokCx } from '../support/kwok.js';

const run = promisify(execFile);

describe('node health: fence, out-of-service, replace; storm guard', () => {
  const work = tempDir('health-e2e');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let kubeconfig = '';
  let kubectl = 'kubectl';

  const k = async (...args: string[]): Promise<string> =>
    (await run(kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  const node = async (
    name: string,
  ): Promise<{
    metadata: { annotations?: Record<string, string> };
    spec: { taints?: Array<{ key: string; effect: string }> };
    status: { conditions: Array<{ type: string; status: string }> };
  }> => JSON.parse(await k('get', 'node', name, '-o', 'json'));
  const cluster = async (): Promise<any> => (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
  /** What a dead kubelet looks like: kwok stops keeping the node, and its Ready condition turns Unknown (as the node lifecycle controller would set it after its grace period). */
  async function stopKubelet(name: string): Promise<void> {
    // kwok keeps the nodes that carry its annotation or label; without either, nobody posts the node's status.
    await k('annotate', 'node', name, 'kwok.x-k8s.io/node-');
    await k('label', 'node', name, 'kwok.x-k8s.io/node-');
    const now = new Date().toISOString();
    await k(
      'patch',
      'node',
      name,
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify({
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      }),
    );
  }

  before(async () => {
    const peer = kubernetesPeer();
    kubectl = peer.kubectl;
    cx = await startKwokCx(peer, work, { env: { CX_HA_HEALTH_INTERVAL_SECONDS: '1' } });
    admin = await Api.login(cx.base);
    ({ clusterId, kubeconfig } = await createCluster(admin, work, {
      name: 'heal',
      provider: 'kwok',
      kubernetesVersion: peer.versions.at(-1),
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 3 }],
      health: { unhealthyTimeoutSeconds: 5 },
    }));
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('refuses a bad policy with a clear error and creates nothing', async () => {
    const before = (await admin.call('GET', '/api/v1/clusters')).body.items.length;
    const bad = await admin.call('POST', '/api/v1/clusters', {
      name: 'bad-health',
      provider: 'kwok',
      kubernetesVersion: '1.37.2',
      controlPlane: { count: 1 },
      health: { maxUnhealthy: '140%' },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body.fields), /body\.health\.maxUnhealthy/);
    const bmc = await admin.call('POST', '/api/v1/clusters', {
      name: 'bad-fencing',
      provider: 'kwok',
      kubernetesVersion: '1.37.2',
      controlPlane: { count: 1 },
      health: { fencing: 'ipmi' },
    });
    assert.equal(bmc.status, 400);
    assert.equal(bmc.body.fields[0].field, 'body.health.fencing');
    assert.equal((await admin.call('GET', '/api/v1/clusters')).body.items.length, before);
    const policy = (await cluster()).health;
    assert.deepEqual(policy, {
      unhealthyTimeoutSeconds: 5,
      startupTimeoutSeconds: 1200,
      remediation: 'replace',
      fencing: 'provider',
      maxUnhealthy: '40%',
    });
  });

  it('fences a stopped node before tainting it, moves its StatefulSet pod, replaces the machine and clears the taint', async () => {
    await until(
      'a Healthy status',
      async () => ((await cluster()).healthStatus?.state === 'Healthy' ? true : undefined),
      30_000,
    );
    // A StatefulSet whose one pod must not stay on a dead node. Control-plane nodes are tainted, so it lands on a worker.
    const manifest = join(work, 'db.yaml');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'default' },
        spec: {
          serviceName: 'db',
          replicas: 1,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: {
              containers: [{ name: 'db', image: 'registry.example/db:1' }],
              tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
            },
          },
        },
      }),
    );
    await k('apply', '-f', manifest);
    type Pod = { metadata: { uid: string }; spec: { nodeName?: string }; status: { phase: string } };
    const original = await until(
      'the StatefulSet pod Running',
      async () => {
        const pod = JSON.parse(await k('get', 'pod', 'db-0', '-o', 'json')) as Pod;
        return pod.status.phase === 'Running' && pod.spec.nodeName ? pod : undefined;
      },
      60_000,
    );
    const first = original.spec.nodeName!;
    assert.match(first, /^heal-workers-\d$/);

    await stopKubelet(first);
    const stoppedAt = Date.now();
    const audit = await until(
      'a remediation in the audit log',
      async () => {
        const entries = (await admin.call('GET', `/api/v1/audit?actor=cx:node-health&targetId=${clusterId}`)).body
          .items as Array<{ action: string; details: { machine: string; workflowId: string; reason: string } }>;
        return entries.find((e) => e.action === 'node.remediate' && e.details.machine === first);
      },
      30_000,
    );
    // The API server keeps condition times in whole seconds, so the timeout may end up to 1 s early.
    assert.ok(Date.now() - stoppedAt >= 4_000, 'remediation started before the unhealthy timeout');
    assert.match(audit.details.reason, /node Ready=Unknown for \d+ s/);

    const workflow = await admin.waitForWorkflow(audit.details.workflowId, ['Succeeded', 'Failed'], 120_000);
    assert.equal(workflow.status, 'Succeeded', JSON.stringify(workflow.steps));
    assert.equal(workflow.workflow, 'node.remediate');
    const steps = Object.fromEntries(
      (workflow.steps as Array<{ name: string; startedAt: string; finishedAt: string }>).map((s) => [s.name, s]),
    );
    assert.deepEqual(Object.keys(steps), [
      'fence',
      'mark-out-of-service',
      'recover-machine',
      'wait-nodes-ready',
      'clear-out-of-service',
      'mark-ready',
    ]);
    // The fence step finishes only once it has seen the machine off.
    assert.ok(
      Date.parse(steps['fence']!.finishedAt) <= Date.parse(steps['mark-out-of-service']!.startedAt),
      'tainted before the fence was confirmed',
    );

    // The pod runs elsewhere; the machine came back as a Ready node without the taint.
    const moved = await until(
      'db-0 Running on another node',
      async () => {
        const pod = JSON.parse(await k('get', 'pod', 'db-0', '-o', 'json')) as Pod;
        return pod.status.phase === 'Running' && pod.spec.nodeName && pod.spec.nodeName !== first ? pod : undefined;
      },
      60_000,
    );
    assert.notEqual(moved.metadata.uid, original.metadata.uid, 'db-0 is a new pod');
    const back = await node(first);
    assert.equal(back.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.ok(
      !(back.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/out-of-service'),
      JSON.stringify(back.spec.taints),
    );
    const after = await until(
      'a Healthy status again',
      async () => {
        const c = await cluster();
        return c.healthStatus?.state === 'Healthy' && c.status === 'Ready' ? c : undefined;
      },
      30_000,
    );
    assert.equal(after.activeWorkflowId, null);
  });

  it('moves nothing when the fence fails (BMC unreachable) and says why; a retry finishes once the BMC answers', async () => {
    await until(
      'a Healthy status',
      async () =>
        (await cluster()).healthStatus?.state === 'Healthy' && (await cluster()).status === 'Ready' ? true : undefined,
      60_000,
    );
    type Pod = { metadata: { uid: string }; spec: { nodeName?: string }; status: { phase: string } };
    const pod = JSON.parse(await k('get', 'pod', 'db-0', '-o', 'json')) as Pod;
    const host = pod.spec.nodeName!;
    // kwok's emulated BMC of that machine stops answering, then its kubelet dies.
    await k('annotate', 'node', host, 'cx.dev/bmc=unreachable');
    const started = new Date().toISOString();
    await stopKubelet(host);
    const audit = await until(
      'a remediation of the dead node',
      async () => {
        const entries = (
          await admin.call(
            'GET',
            `/api/v1/audit?actor=cx:node-health&targetId=${clusterId}&since=${encodeURIComponent(started)}`,
          )
        ).body.items as Array<{ action: string; details: { machine: string; workflowId: string } }>;
        return entries.find((e) => e.action === 'node.remediate' && e.details.machine === host);
      },
      30_000,
    );
    const failed = await admin.waitForWorkflow(audit.details.workflowId, ['Succeeded', 'Failed'], 180_000);
    assert.equal(failed.status, 'Failed', JSON.stringify(failed.steps));
    const fence = failed.steps.find((step: { name: string }) => step.name === 'fence');
    assert.equal(fence.status, 'Failed');
    assert.match(
      failed.error.message,
      new RegExp(`could not fence ${host}: the BMC of machine ${host} does not answer.*Nothing was moved`),
    );
    assert.ok(
      failed.steps.filter((step: { status: string }) => step.status === 'Succeeded').length === 0,
      'no step after the fence ran',
    );
    // Nothing moved: no taint, the pod is the same pod on the same node, the machine was not powered off.
    const stuck = await node(host);
    assert.ok(
      !(stuck.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/out-of-service'),
      JSON.stringify(stuck.spec.taints),
    );
    assert.notEqual(stuck.metadata.annotations?.['cx.dev/power'], 'off');
    const same = JSON.parse(await k('get', 'pod', 'db-0', '-o', 'json')) as Pod;
    assert.deepEqual([same.metadata.uid, same.spec.nodeName], [pod.metadata.uid, host]);
    const failedCluster = await cluster();
    assert.equal(failedCluster.status, 'Failed');
    assert.match(failedCluster.statusMessage, /could not fence/);
    // The BMC answers again: the retry fences, moves db-0 and brings the machine back.
    await k('annotate', 'node', host, 'cx.dev/bmc-');
    assert.equal((await admin.call('POST', `/api/v1/workflows/${audit.details.workflowId}/retry`)).status, 200);
    assert.equal(
      (await admin.waitForWorkflow(audit.details.workflowId, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    await until(
      'db-0 Running on another node',
      async () => {
        const moved = JSON.parse(await k('get', 'pod', 'db-0', '-o', 'json')) as Pod;
        return moved.status.phase === 'Running' && moved.spec.nodeName !== host ? true : undefined;
      },
      60_000,
    );
    await until(
      'a Healthy, Ready cluster again',
      async () => {
        const c = await cluster();
        return c.healthStatus?.state === 'Healthy' && c.status === 'Ready' ? true : undefined;
      },
      60_000,
    );
  });

  it('fences nothing when more nodes stop than maxUnhealthy allows, and says why', async () => {
    // 4 machines, maxUnhealthy 40 % = 1: two stopped workers are a storm.
    const workers = ['heal-workers-0', 'heal-workers-1', 'heal-workers-2'];
    const stormStarted = new Date().toISOString();
    await Promise.all(workers.slice(0, 2).map(stopKubelet));
    let seen: unknown;
    const storm = await until(
      'a Storm status',
      async () => {
        const c = await cluster();
        seen = c.healthStatus;
        return c.healthStatus?.state === 'Storm' ? c.healthStatus : undefined;
      },
      20_000,
    ).catch((error: Error) => assert.fail(`${error.message}; last health status: ${JSON.stringify(seen)}`));
    assert.match(storm.message, /2 of 4 nodes are unhealthy, more than maxUnhealthy \(40% = 1\): nothing is fenced/);
    // Well past the unhealthy timeout: still no workflow, and both machines are still powered on (kwok keeps the annotation).
    await sleep(8_000);
    const c = await cluster();
    assert.equal(c.activeWorkflowId, null);
    assert.equal(c.healthStatus.state, 'Storm');
    for (const name of workers.slice(0, 2)) {
      const stopped = await node(name);
      assert.notEqual(stopped.metadata.annotations?.['cx.dev/power'], 'off', `${name} was fenced during a storm`);
      assert.ok(!(stopped.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/out-of-service'));
    }
    const audit = (await admin.call('GET', `/api/v1/audit?actor=cx:node-health&targetId=${clusterId}`)).body
      .items as Array<{ at: string; details: { machine: string } }>;
    assert.ok(audit.length > 0, 'the audit log holds the earlier remediation');
    assert.deepEqual(
      audit.filter((e) => e.at >= stormStarted),
      [],
      'a remediation was started during the storm',
    );
  });
});
