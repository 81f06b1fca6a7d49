/**
 * End to end on booted machines (issue 19): cx creates, through its public API, a bare-metal
 * cluster of one control plane and one worker on two VM hosts of test/peers/machines.sh, each
 * behind a real Redfish BMC (sushy-tools); the hosts boot the air-gapped node image, read their
 * NoCloud seed from the virtual CD cx inserts, and run kubeadm with cx's configuration. Then real
 * kubectl, with the kubeconfig cx hands a user, sees two Ready nodes of the requested version; a
 * Deployment's pod runs on the worker and answers through a NodePort Service; the API answers at
 * the control-plane VIP (keepalived + haproxy static pods); the workers scale to two; the cluster
 * is deleted and its hosts are powered off and free again.
 *
 * Not part of `npm test` (it takes 10 to 30 minutes under emulation): `npm run peers -- machines`,
 * then `npm run test:machines` (scripts/test-machines.mjs starts the hosts and runs this file).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { tempDir } from '../support/cx.js';
import { MachinesRun, seconds } from './support.js';

describe('a bare-metal cluster on booted machines', () => {
  const m = new MachinesRun();
  const { peer, vip, timings } = m;
  const work = tempDir('machines');
  const version = peer.image.kubernetesVersion;
  let clusterId = '';
  let kubeconfig = '';
  /** Set once the cluster is Ready: the later checks need it. */
  let ready = false;
  const k = (...args: string[]): Promise<string> => m.k(kubeconfig, ...args);

  before(() => m.start(1));
  after(() => m.stop());

  it(
    'creates a cluster of 1 control plane + 1 worker that becomes Ready; kubectl sees 2 Ready nodes of the requested version',
    { timeout: 40 * 60_000 },
    async () => {
      const started = Date.now();
      const created = await m.admin.call('POST', '/api/v1/clusters', {
        name: 'bm',
        provider: 'baremetal',
        kubernetesVersion: version,
        controlPlane: { count: 1, vipPool: 'machines-vips' },
        nodePools: [{ name: 'workers', count: 1 }],
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      clusterId = created.body.cluster.id as string;
      const runBody = await m.follow(created.body.workflow.id, started, 35 * 60_000, 'create');
      timings['create: POST to Ready'] = seconds(Date.now() - started);
      for (const step of runBody.steps as Array<{ name: string; startedAt?: string; finishedAt?: string }>)
        if (step.startedAt && step.finishedAt)
          timings[`create step ${step.name}`] = seconds(Date.parse(step.finishedAt) - Date.parse(step.startedAt));
      assert.equal(runBody.status, 'Succeeded', await m.diagnose(created.body.workflow.id));
      const cluster = (await m.admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
      assert.equal(cluster.status, 'Ready');
      assert.equal(cluster.apiVip, vip);

      const answer = await m.admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      kubeconfig = join(work, 'bm.kubeconfig');
      writeFileSync(kubeconfig, answer.body as string, { mode: 0o600 });
      await m.waitForNodes(
        kubeconfig,
        ['bm-cp-0', 'bm-workers-0'].map((name) => ({ name, ready: 'True', kubelet: `v${version}` })),
        5 * 60_000,
      );
      timings['create: POST to kubectl seeing 2 Ready nodes'] = seconds(Date.now() - started);
      ready = true;
    },
  );

  it(
    "the API answers at the control-plane VIP, kept by cx's keepalived and haproxy static pods",
    { timeout: 5 * 60_000 },
    async () => {
      assert.ok(ready, 'not run: the cluster did not become Ready');
      const server = /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
      assert.equal(server, `https://${vip}:8443`, "the user's kubeconfig reaches the API through the VIP");
      const pods = JSON.parse(await k('get', 'pods', '-n', 'kube-system', '-o', 'json')).items as any[];
      for (const name of ['keepalived', 'haproxy']) {
        const pod = pods.find((p) => p.metadata.name === `${name}-bm-cp-0`);
        assert.ok(pod, `no static pod ${name}-bm-cp-0 in kube-system: ${pods.map((p) => p.metadata.name).join(', ')}`);
        assert.equal(pod.status.phase, 'Running', `${name}: ${JSON.stringify(pod.status.containerStatuses)}`);
      }
      // Straight at the VIP (not through kubectl's client): /readyz answers anonymous callers.
      const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1]!, 'base64');
      const agent = new Agent({ connect: { ca } });
      try {
        const readyz = await request(`https://${vip}:8443/readyz`, { dispatcher: agent });
        assert.equal(readyz.statusCode, 200);
        assert.equal(await readyz.body.text(), 'ok');
      } finally {
        await agent.close();
      }
    },
  );

  it(
    "a Deployment's pod runs on the worker and answers through a NodePort Service",
    { timeout: 15 * 60_000 },
    async () => {
      assert.ok(ready, 'not run: the cluster did not become Ready');
      const started = Date.now();
      const manifest = join(work, 'hello.json');
      const labels = { app: 'hello' };
      writeFileSync(
        manifest,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'hello', namespace: 'default' },
              spec: {
                replicas: 1,
                selector: { matchLabels: labels },
                template: {
                  metadata: { labels },
                  spec: {
                    nodeSelector: { 'kubernetes.io/hostname': 'bm-workers-0' },
                    containers: [
                      {
                        name: 'hello',
                        image: peer.image.workloadImage,
                        imagePullPolicy: 'Never',
                        command: [
                          '/bin/busybox',
                          'sh',
                          '-c',
                          '/bin/busybox mkdir -p /www && echo "hello from $(/bin/busybox hostname)" > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www',
                        ],
                        ports: [{ containerPort: 8080 }],
                        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 2 },
                      },
                    ],
                  },
                },
              },
            },
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'hello', namespace: 'default' },
              spec: { type: 'NodePort', selector: labels, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] },
            },
          ],
        }),
      );
      await k('apply', '-f', manifest);
      await k('rollout', 'status', 'deployment/hello', '--timeout=600s');
      const pod = JSON.parse(await k('get', 'pods', '-l', 'app=hello', '-o', 'json')).items[0];
      assert.equal(pod.spec.nodeName, 'bm-workers-0');
      assert.equal(pod.status.phase, 'Running');
      timings['workload: apply to Ready'] = seconds(Date.now() - started);
      // From the host, at the worker's address: kube-proxy on the worker forwards to the pod.
      const hosts = (await m.admin.call('GET', '/api/v1/hosts')).body.items as Array<{
        addresses: string[];
        claim: { machineName: string } | null;
      }>;
      const workerAddress = hosts.find((h) => h.claim?.machineName === 'bm-workers-0')?.addresses[0];
      assert.ok(workerAddress, 'no host holds bm-workers-0');
      let body = '';
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        body = await fetch(`http://${workerAddress}:30080/`, { signal: AbortSignal.timeout(5_000) })
          .then((r) => r.text())
          .catch((error: Error) => `(${error.message})`);
        if (body.startsWith('hello from')) break;
        await sleep(2_000);
      }
      assert.equal(body.trim(), `hello from ${pod.metadata.name}`);
    },
  );

  it('scales the workers to 2: the new host boots and its node turns Ready', { timeout: 35 * 60_000 }, async () => {
    assert.ok(ready, 'not run: the cluster did not become Ready');
    const started = Date.now();
    const scaled = await m.admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, { count: 2 });
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    const runBody = await m.follow(scaled.body.workflow.id, started, 30 * 60_000, 'scale');
    timings['scale: PATCH to Ready'] = seconds(Date.now() - started);
    assert.equal(runBody.status, 'Succeeded', await m.diagnose(scaled.body.workflow.id));
    const nodes = JSON.parse(await k('get', 'nodes', '-o', 'json')).items as any[];
    assert.deepEqual(
      nodes
        .filter((n) =>
          n.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
        )
        .map((n) => n.metadata.name)
        .sort(),
      ['bm-cp-0', 'bm-workers-0', 'bm-workers-1'],
    );
  });

  it('deletes the cluster: every host is powered off and free again', { timeout: 10 * 60_000 }, async () => {
    assert.ok(clusterId, 'not run: no cluster was created');
    const started = Date.now();
    const deleting = await m.admin.call('DELETE', `/api/v1/clusters/${clusterId}`);
    assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
    const runBody = await m.admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded', 'Failed'], 8 * 60_000);
    timings['delete: DELETE to gone'] = seconds(Date.now() - started);
    assert.equal(runBody.status, 'Succeeded', await m.diagnose(deleting.body.workflow.id));
    assert.equal((await m.admin.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404);
    const hosts = (await m.admin.call('GET', '/api/v1/hosts')).body.items as Array<{ name: string; state: string }>;
    assert.deepEqual(hosts.map((h) => [h.name, h.state]).sort(), peer.systems.map((s) => [s.name, 'available']).sort());
    for (const system of peer.systems) assert.equal(await m.power(system.id), 'Off', `${system.name} is still on`);
  });
});
