/**
 * Seed 003 on booted machines: a three-node converged cluster (three schedulable control planes
 * behind the control-plane VIP) on the three VM hosts of test/peers/machines.sh. One host's power
 * is cut at its BMC, behind cx's back: the API keeps answering at the VIP (the longest silence is
 * measured), cx's node health sees the node go, fences it through the host's Redfish BMC and powers
 * it on again (a control plane is rebooted, not replaced), and the node is Ready again. Then the
 * cluster is deleted and every host is free.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/cx.js';
import { MachinesRun, say, seconds } from './support.js';

describe('a three-node converged cluster on booted machines', () => {
  const m = new MachinesRun();
  const { peer, timings } = m;
  const work = tempDir('machines-converged');
  let clusterId = '';
  let kubeconfig = '';
  let ready = false;
  const k = (...args: string[]): Promise<string> => m.k(kubeconfig, ...args);
  const allReady = (timeoutMs: number): Promise<void> =>
    m.waitForNodes(
      kubeconfig,
      [0, 1, 2].map((i) => ({ name: `conv-cp-${i}`, ready: 'True', kubelet: `v${peer.image.kubernetesVersion}` })),
      timeoutMs,
    );

  before(() => m.start(3));
  after(() => m.stop());

  it(
    'creates three schedulable control planes behind the VIP; kubectl sees 3 Ready nodes',
    { timeout: 60 * 60_000 },
    async () => {
      const started = Date.now();
      const created = await m.admin.call('POST', '/api/v1/clusters', {
        name: 'conv',
        provider: 'baremetal',
        kubernetesVersion: peer.image.kubernetesVersion,
        controlPlane: { count: 3, schedulable: true, vipPool: 'machines-vips' },
        nodePools: [],
        health: { unhealthyTimeoutSeconds: 60, remediation: 'reboot' },
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      clusterId = created.body.cluster.id as string;
      const runBody = await m.follow(created.body.workflow.id, started, 55 * 60_000, 'converged create');
      timings['converged create: POST to Ready'] = seconds(Date.now() - started);
      assert.equal(runBody.status, 'Succeeded', await m.diagnose(created.body.workflow.id));
      const answer = await m.admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      kubeconfig = join(work, 'conv.kubeconfig');
      writeFileSync(kubeconfig, answer.body as string, { mode: 0o600 });
      await allReady(5 * 60_000);
      timings['converged create: POST to kubectl seeing 3 Ready nodes'] = seconds(Date.now() - started);
      ready = true;
    },
  );

  it(
    'keeps the API answering at the VIP when a node loses power; cx fences it by Redfish and powers it on, and it is Ready again',
    { timeout: 40 * 60_000 },
    async () => {
      assert.ok(ready, 'not run: the cluster did not become Ready');
      // conv-cp-0 leads the VIP (highest VRRP priority): cutting it makes the VIP move too.
      const victim = 'conv-cp-0';
      const hosts = (await m.admin.call('GET', '/api/v1/hosts')).body.items as Array<{
        name: string;
        claim: { machineName: string } | null;
      }>;
      const host = hosts.find((h) => h.claim?.machineName === victim);
      assert.ok(host, `no host holds ${victim}`);
      const system = peer.systems.find((s) => s.name === host.name)!;
      await m.forceOff(system.id);
      const cutAt = Date.now();
      say(`cut the power of ${host.name} (${victim})`);

      // The API through the VIP, every 3 s, until the node is back: the longest silence is the figure.
      let lastAnswer = cutAt;
      let longestSilenceMs = 0;
      let back = false;
      const probing = (async () => {
        while (!back) {
          const ok = await k('get', '--raw', '/readyz', '--request-timeout=5s').then(
            (text) => text.trim() === 'ok',
            () => false,
          );
          const now = Date.now();
          if (ok) {
            longestSilenceMs = Math.max(longestSilenceMs, now - lastAnswer);
            lastAnswer = now;
          }
          await sleep(3_000);
        }
      })();

      try {
        // cx notices (unhealthyTimeoutSeconds 60) and starts node.remediate for the machine.
        let remediation: { workflowId: string; reason: string } | undefined;
        const noticeBy = Date.now() + 10 * 60_000;
        while (!remediation && Date.now() < noticeBy) {
          const entries = (await m.admin.call('GET', `/api/v1/audit?actor=cx:node-health&targetId=${clusterId}`)).body
            .items as Array<{ action: string; details: { machine: string; workflowId: string; reason: string } }>;
          remediation = entries.find((e) => e.action === 'node.remediate' && e.details.machine === victim)?.details;
          if (!remediation) await sleep(5_000);
        }
        assert.ok(remediation, `cx started no node.remediate for ${victim} within 10 min of its power cut`);
        timings['power cut to remediation started'] = seconds(Date.now() - cutAt);
        say(`remediation ${remediation.workflowId}: ${remediation.reason}`);
        const runBody = await m.follow(remediation.workflowId, Date.now(), 30 * 60_000, 'remediation');
        assert.equal(runBody.status, 'Succeeded', await m.diagnose(remediation.workflowId));
        assert.deepEqual((runBody.steps as Array<{ name: string }>).map((s) => s.name).slice(0, 3), [
          'fence',
          'mark-out-of-service',
          'recover-machine',
        ]);
        timings['power cut to remediation done'] = seconds(Date.now() - cutAt);
        assert.equal(await m.power(system.id), 'On', `${host.name} was not powered on again`);
        await allReady(5 * 60_000);
        timings['power cut to kubectl seeing 3 Ready nodes'] = seconds(Date.now() - cutAt);
      } finally {
        back = true;
        await probing;
      }
      longestSilenceMs = Math.max(longestSilenceMs, Date.now() - lastAnswer);
      timings['longest silence of the API at the VIP'] = seconds(longestSilenceMs);
      say(`the API at the VIP was silent for at most ${seconds(longestSilenceMs)} s`);
      // The VIP moves in seconds and two etcd members keep quorum; what is left is the emulated
      // machines' slowness to elect a new etcd leader and haproxy's health checks (3 × 2 s).
      assert.ok(longestSilenceMs <= 120_000, `the API at the VIP was silent for ${seconds(longestSilenceMs)} s`);
    },
  );

  it('deletes the cluster: every host is powered off and free again', { timeout: 10 * 60_000 }, async () => {
    assert.ok(clusterId, 'not run: no cluster was created');
    const deleting = await m.admin.call('DELETE', `/api/v1/clusters/${clusterId}`);
    assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
    const runBody = await m.admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded', 'Failed'], 8 * 60_000);
    assert.equal(runBody.status, 'Succeeded', await m.diagnose(deleting.body.workflow.id));
    const hosts = (await m.admin.call('GET', '/api/v1/hosts')).body.items as Array<{ name: string; state: string }>;
    assert.deepEqual(hosts.map((h) => [h.name, h.state]).sort(), peer.systems.map((s) => [s.name, 'available']).sort());
  });
});
