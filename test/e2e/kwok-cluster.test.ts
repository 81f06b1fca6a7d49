/**
 * A tenant cluster on the kwok runtime, through the public API only, checked on the tenant's real
 * kube-apiserver with the real kubectl: nodes Ready at the requested version, workloads scheduled
 * and run by the tenant's own controller manager and scheduler, per-user kubeconfigs whose rights
 * follow the cx grant, and nothing left running after the delete.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { workersDeployment } from '../support/kwok.js';

const run = promisify(execFile);

interface KubernetesPeer {
  kubeApiserver: Record<string, string>;
  kubectl?: string;
}

function kubernetesPeer(): KubernetesPeer & { raw: string } {
  const raw = process.env['CX_TEST_KUBERNETES'];
  assert.ok(
    raw,
    'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
  );
  return { ...(JSON.parse(raw) as KubernetesPeer), raw };
}

describe('a cluster on the kwok runtime', () => {
  const peer = kubernetesPeer();
  const kubectl = peer.kubectl ?? 'kubectl';
  const versions = Object.keys(peer.kubeApiserver).sort();
  const version = versions[0]!;
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  const work = tempDir('kwok-e2e');

  const kubeconfigOf = async (api: Api): Promise<string> => {
    const answer = await api.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.match(answer.headers.get('content-type') ?? '', /yaml/);
    const file = join(work, `${Math.random().toString(36).slice(2)}.kubeconfig`);
    writeFileSync(file, answer.body as string, { mode: 0o600 });
    return file;
  };
  const kubectlAs = (kubeconfig: string, ...args: string[]) =>
    run(kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], { encoding: 'utf8' });

  before(async () => {
    const binariesFile = join(work, 'binaries.json');
    writeFileSync(binariesFile, peer.raw);
    cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binariesFile } });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
    // A failed test may leave a tenant control plane running.
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('offers kwok with the versions whose kube-apiserver was built', async () => {
    const providers = await admin.call('GET', '/api/v1/providers');
    const kwok = providers.body.items.find((p: { name: string }) => p.name === 'kwok');
    assert.ok(kwok, JSON.stringify(providers.body));
    assert.deepEqual([...kwok.kubernetesVersions].sort(), versions);
  });

  it('creates a cluster whose nodes are Ready on its own kube-apiserver', async () => {
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'kw',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [
        {
          name: 'workers',
          count: 2,
          labels: { tier: 'web' },
          taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
        },
      ],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    clusterId = created.body.cluster.id;
    const run = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
    assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
    assert.deepEqual(
      run.steps.map((s: { name: string }) => s.name),
      ['plan-machines', 'provision-machines', 'wait-nodes-ready', 'configure-access', 'mark-ready'],
    );
    const cluster = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.equal(cluster.status, 'Ready');
    assert.match(cluster.apiEndpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    const nodes = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items;
    assert.equal(nodes.length, 3);
    assert.ok(
      nodes.every(
        (n: { status: string; kubernetesVersion: string }) => n.status === 'Ready' && n.kubernetesVersion === version,
      ),
      JSON.stringify(nodes),
    );

    // On the tenant's API itself, as cx's admin: the same three nodes, Ready, at that version.
    const adminConfig = await kubeconfigOf(admin);
    const listed = JSON.parse((await kubectlAs(adminConfig, 'get', 'nodes', '-o', 'json')).stdout) as {
      items: Array<{
        metadata: { name: string };
        status: { conditions: Array<{ type: string; status: string }>; nodeInfo: { kubeletVersion: string } };
      }>;
    };
    assert.deepEqual(listed.items.map((n) => n.metadata.name).sort(), ['kw-cp-0', 'kw-workers-0', 'kw-workers-1']);
    for (const node of listed.items) {
      assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
      assert.equal(node.status.nodeInfo.kubeletVersion, `v${version}`);
    }
    // Pool labels and taints on the workers; the control plane runs no workloads unless asked.
    const taints = (
      await kubectlAs(
        adminConfig,
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.tier}:{.spec.taints[*].key}/{.spec.taints[*].effect} {end}',
      )
    ).stdout
      .trim()
      .split(' ')
      .sort();
    assert.deepEqual(taints, [
      'kw-cp-0=:node-role.kubernetes.io/control-plane/NoSchedule',
      'kw-workers-0=web:dedicated/NoSchedule',
      'kw-workers-1=web:dedicated/NoSchedule',
    ]);
  });

  it('runs a Deployment: its controller makes two pods, kube-scheduler puts them on the workers, kwok runs them', async () => {
    const adminConfig = await kubeconfigOf(admin);
    const manifest = join(work, 'deployment.yaml');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'apps' },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                // The workers' pool taint; the control plane's stays in the way.
                spec: {
                  containers: [{ name: 'web', image: 'registry.example/web:1' }],
                  tolerations: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
                },
              },
            },
          },
        ],
      }),
    );
    await kubectlAs(adminConfig, 'apply', '-f', manifest);
    await kubectlAs(adminConfig, '-n', 'apps', 'rollout', 'status', 'deployment/web', '--timeout=60s');
    const pods = JSON.parse(
      (await kubectlAs(adminConfig, '-n', 'apps', 'get', 'pods', '-l', 'app=web', '-o', 'json')).stdout,
    ) as { items: Array<{ spec: { nodeName?: string }; status: { phase: string } }> };
    assert.equal(pods.items.length, 2);
    for (const pod of pods.items) {
      assert.equal(pod.status.phase, 'Running');
      assert.match(pod.spec.nodeName ?? '', /^kw-workers-\d$/);
    }
    // Foreground: the garbage collector deletes the ReplicaSet and its pods first; nothing is left for the later tests.
    await kubectlAs(
      adminConfig,
      '-n',
      'apps',
      'delete',
      'deployment',
      'web',
      '--cascade=foreground',
      '--wait=true',
      '--timeout=60s',
    );
    assert.equal((await kubectlAs(adminConfig, 'get', 'pods', '--all-namespaces', '-o', 'name')).stdout.trim(), '');
  });

  it('runs the three-node converged topology: three schedulable control-plane nodes and no workers', async () => {
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'converged',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 3, schedulable: true },
      nodePools: [],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const creation = await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
    assert.equal(creation.status, 'Succeeded', JSON.stringify(creation.steps));
    const answer = await admin.call('GET', `/api/v1/clusters/${created.body.cluster.id}/kubeconfig`);
    const file = join(work, 'converged.kubeconfig');
    writeFileSync(file, answer.body as string, { mode: 0o600 });
    const nodes = (
      await kubectlAs(
        file,
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}:{.spec.taints}:{.status.conditions[?(@.type=="Ready")].status} {end}',
      )
    ).stdout
      .trim()
      .split(' ')
      .sort();
    assert.deepEqual(nodes, ['converged-cp-0::True', 'converged-cp-1::True', 'converged-cp-2::True']);
    const deleted = await admin.call('DELETE', `/api/v1/clusters/${created.body.cluster.id}`);
    const deletion = await admin.waitForWorkflow(deleted.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(deletion.status, 'Succeeded', JSON.stringify(deletion.steps));
  });

  it('hands each user a short-lived kubeconfig whose rights follow their grant', async () => {
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'vivian', password: 'vivian-password' })).status,
      201,
    );
    const vivian = await Api.login(cx.base, 'vivian', 'vivian-password');
    assert.equal(
      (await vivian.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).status,
      404,
      'no grant, no kubeconfig',
    );
    assert.equal(
      (
        await admin.call('POST', '/api/v1/grants', {
          subject: { kind: 'user', name: 'vivian' },
          object: { kind: 'cluster', id: clusterId },
          role: 'viewer',
        })
      ).status,
      201,
    );
    const config = await kubeconfigOf(vivian);
    assert.match(
      (
        await kubectlAs(
          config,
          'auth',
          'whoami',
          '-o',
          'jsonpath={.status.userInfo.username} {.status.userInfo.groups}',
        )
      ).stdout,
      /^vivian .*cx:viewer/,
    );
    assert.equal((await kubectlAs(config, 'auth', 'can-i', 'list', 'pods', '--all-namespaces')).stdout.trim(), 'yes');
    await kubectlAs(config, 'get', 'pods', '--all-namespaces');
    await assert.rejects(kubectlAs(config, 'create', 'namespace', 'not-for-viewers'), (error: { stderr: string }) =>
      /forbidden/i.test(error.stderr),
    );
    const certificate = (
      await kubectlAs(config, 'config', 'view', '--raw', '-o', 'jsonpath={.users[0].user.client-certificate-data}')
    ).stdout;
    const pem = join(work, 'vivian.pem');
    writeFileSync(pem, Buffer.from(certificate, 'base64'));
    const { stdout: enddate } = await run('openssl', ['x509', '-in', pem, '-noout', '-enddate'], { encoding: 'utf8' });
    const notAfter = Date.parse(enddate.replace('notAfter=', ''));
    assert.ok(notAfter <= Date.now() + 3600_000 + 60_000, `the certificate lives at most an hour (${enddate.trim()})`);
    // The admin persona is cluster-admin there.
    await kubectlAs(await kubeconfigOf(admin), 'create', 'namespace', 'made-by-admin');
  });

  it("scales a pool up and down (the named machine goes), with the tenant's nodes following", async () => {
    const adminConfig = await kubeconfigOf(admin);
    const nodeNames = async (): Promise<string[]> =>
      (await kubectlAs(adminConfig, 'get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).stdout
        .split(' ')
        .filter(Boolean)
        .sort();
    const up = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, { count: 4 });
    assert.equal(up.status, 202, JSON.stringify(up.body));
    assert.equal(
      (await admin.waitForWorkflow(up.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.deepEqual(await nodeNames(), ['kw-cp-0', 'kw-workers-0', 'kw-workers-1', 'kw-workers-2', 'kw-workers-3']);
    const down = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {
      count: 3,
      remove: ['kw-workers-1'],
    });
    assert.equal(down.status, 202, JSON.stringify(down.body));
    assert.equal(
      (await admin.waitForWorkflow(down.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.deepEqual(await nodeNames(), ['kw-cp-0', 'kw-workers-0', 'kw-workers-2', 'kw-workers-3']);
    const nodes = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items
      .map((n: { name: string }) => n.name)
      .sort();
    assert.deepEqual(nodes, ['kw-cp-0', 'kw-workers-0', 'kw-workers-2', 'kw-workers-3']);
  });

  it('upgrades one minor version, through a kill -9 of cx midway: the tenant kube-apiserver and every node move to it, workers drained first', async () => {
    const target = versions[1];
    assert.ok(target, 'the Kubernetes peers hold two consecutive minor versions');
    // Pods on the workers, which the upgrade must evict (drain) before it moves their node.
    const before = await kubeconfigOf(admin);
    const manifest = workersDeployment(work, 'tick', 2);
    await kubectlAs(before, 'apply', '-f', manifest);
    await kubectlAs(before, 'rollout', 'status', 'deployment/tick', '--timeout=60s');
    type PodList = { items: Array<{ metadata: { uid: string }; spec: { nodeName: string } }> };
    const ticks = async (config: string): Promise<PodList['items']> =>
      (JSON.parse((await kubectlAs(config, 'get', 'pods', '-l', 'app=tick', '-o', 'json')).stdout) as PodList).items;
    const onWorkers = (await ticks(before)).filter((p) => p.spec.nodeName.includes('-workers-'));
    assert.ok(onWorkers.length > 0, 'tick runs on a worker');
    const started = await admin.call('POST', `/api/v1/clusters/${clusterId}/upgrade`, { kubernetesVersion: target });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    // Crash cx once the control plane is moving; the tenant's processes run on, as machines would.
    const midway = await admin.waitForWorkflow(started.body.workflow.id, ['Running', 'Succeeded'], 60_000);
    assert.equal(midway.status, 'Running', 'cx is killed while the upgrade runs');
    await cx.crash();
    cx = await startCx({ dataDir: cx.dataDir, env: { CX_KWOK_BINARIES_FILE: join(work, 'binaries.json') } });
    admin = await Api.login(cx.base);
    const adminConfig = await kubeconfigOf(admin);
    const finished = await admin.waitForWorkflow(started.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished.steps));
    const server = JSON.parse((await kubectlAs(adminConfig, 'version', '-o', 'json')).stdout) as {
      serverVersion: { gitVersion: string };
    };
    assert.equal(server.serverVersion.gitVersion, `v${target}`);
    const kubelets = (
      await kubectlAs(adminConfig, 'get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}')
    ).stdout.split(' ');
    assert.ok(kubelets.length > 0 && kubelets.every((v) => v === `v${target}`), kubelets.join(' '));
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.kubernetesVersion, target);
    // Every pod that ran on a worker was evicted (a new pod stands in for it), and every node takes pods again.
    const uids = new Set((await ticks(adminConfig)).map((p) => p.metadata.uid));
    for (const pod of onWorkers)
      assert.ok(!uids.has(pod.metadata.uid), `pod ${pod.metadata.uid} on ${pod.spec.nodeName} was not drained`);
    const unschedulable = (
      await kubectlAs(
        adminConfig,
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.unschedulable} {end}',
      )
    ).stdout.trim();
    assert.doesNotMatch(unschedulable, /=true/, unschedulable);
    await kubectlAs(
      adminConfig,
      'delete',
      'deployment',
      'tick',
      '--cascade=foreground',
      '--wait=true',
      '--timeout=60s',
    );
  });

  it('drains a node before removing it: a PodDisruptionBudget blocks it visibly, and a retry finishes once it is relaxed', async () => {
    const adminConfig = await kubeconfigOf(admin);
    const manifest = join(work, 'web.yaml');
    const pod = (n: number): string =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: web-${n}, namespace: default, labels: {app: web}}\nspec: {nodeName: kw-workers-0, containers: [{name: web, image: nginx}]}\n`;
    writeFileSync(
      manifest,
      [
        pod(0),
        pod(1),
        'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: default}\nspec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n',
      ].join('---\n'),
    );
    await kubectlAs(adminConfig, 'apply', '-f', manifest);
    await kubectlAs(adminConfig, 'wait', '--for=condition=Ready', 'pod/web-0', 'pod/web-1', '--timeout=30s');
    // The tenant's disruption controller computes the budget: both pods healthy, both needed, none may go.
    await kubectlAs(
      adminConfig,
      'wait',
      '--for=jsonpath={.status.currentHealthy}=2',
      'poddisruptionbudget/web',
      '--timeout=30s',
    );
    const pdb = JSON.parse(
      (await kubectlAs(adminConfig, 'get', 'poddisruptionbudget', 'web', '-o', 'json')).stdout,
    ) as { status: Record<string, number> };
    assert.deepEqual(
      [pdb.status['desiredHealthy'], pdb.status['expectedPods'], pdb.status['disruptionsAllowed']],
      [2, 2, 0],
      JSON.stringify(pdb.status),
    );

    const scaled = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {
      count: 2,
      remove: ['kw-workers-0'],
      drainTimeoutSeconds: 3,
    });
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    const blocked = await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded', 'Failed'], 60_000);
    assert.equal(blocked.status, 'Failed');
    const step = blocked.steps.find((s: { name: string }) => s.name === 'remove-machines');
    assert.equal(step.error.code, 'CX_DRAIN_BLOCKED', JSON.stringify(step));
    assert.match(step.error.message, /kw-workers-0: 2 pod\(s\) left, blocked by PodDisruptionBudget default\/web/);
    assert.equal(
      (await kubectlAs(adminConfig, 'get', 'node', 'kw-workers-0', '-o', 'jsonpath={.spec.unschedulable}')).stdout,
      'true',
      'the node stays cordoned',
    );
    assert.match((await kubectlAs(adminConfig, 'get', 'pods', '-o', 'name')).stdout, /web-0/, 'nothing was evicted');

    await kubectlAs(adminConfig, 'delete', 'poddisruptionbudget', 'web');
    assert.equal((await admin.call('POST', `/api/v1/workflows/${scaled.body.workflow.id}/retry`)).status, 200);
    assert.equal(
      (await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
    assert.equal(
      (await kubectlAs(adminConfig, 'get', 'pods', '-o', 'name')).stdout.trim(),
      '',
      'the pods were evicted',
    );
    assert.doesNotMatch((await kubectlAs(adminConfig, 'get', 'nodes', '-o', 'name')).stdout, /kw-workers-0/);
  });

  it('rotates the CA in two phases: old kubeconfigs stop working, new ones work; so do service-account tokens and front-proxy credentials', async () => {
    const before = await kubeconfigOf(admin);
    await kubectlAs(before, 'get', 'nodes');
    /** A kubeconfig that verifies the API with the CA bundle of `from` and signs in with a bearer token only. */
    const withToken = (from: string, token: string): string => {
      const config = readFileSync(from, 'utf8');
      const file = join(work, `${Math.random().toString(36).slice(2)}.token.kubeconfig`);
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'token',
          clusters: [
            {
              name: 'tenant',
              cluster: {
                server: /server: (\S+)/.exec(config)![1],
                'certificate-authority-data': /certificate-authority-data: (\S+)/.exec(config)![1],
              },
            },
          ],
          users: [{ name: 'token', user: { token } }],
          contexts: [{ name: 'token', context: { cluster: 'tenant', user: 'token' } }],
        }),
        { mode: 0o600 },
      );
      return file;
    };
    const whoami = async (config: string): Promise<string> =>
      (await kubectlAs(config, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}')).stdout;
    await kubectlAs(before, 'create', 'serviceaccount', 'rotation-probe');
    const oldToken = (await kubectlAs(before, 'create', 'token', 'rotation-probe', '--duration=1h')).stdout.trim();
    assert.equal(await whoami(withToken(before, oldToken)), 'system:serviceaccount:default:rotation-probe');
    // kube-apiserver's front-proxy credential (what it presents to aggregated APIs), which it accepts request headers from.
    const pki = join(cx.dataDir, 'kwok', clusterId, 'pki');
    const proxyClient = (): { cert: string; key: string } => ({
      cert: readFileSync(join(pki, 'front-proxy-client.crt'), 'utf8'),
      key: readFileSync(join(pki, 'front-proxy-client.key'), 'utf8'),
    });
    const proxiedAs = (kubeconfig: string, credential: { cert: string; key: string }): Promise<string> =>
      new Promise((resolve, reject) => {
        const config = readFileSync(kubeconfig, 'utf8');
        const server = new URL(/server: (\S+)/.exec(config)![1]!);
        const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(config)![1]!, 'base64');
        const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
        request(
          {
            host: server.hostname,
            port: Number(server.port),
            method: 'POST',
            path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
            ca,
            ...credential,
            headers: {
              'content-type': 'application/json',
              'X-Remote-User': 'proxied-alice',
              'X-Remote-Group': 'system:authenticated',
            },
          },
          (res) => {
            let text = '';
            res
              .on('data', (chunk: Buffer) => {
                text += chunk.toString();
              })
              .on('end', () =>
                resolve(
                  res.statusCode === 201
                    ? (JSON.parse(text) as { status: { userInfo: { username: string } } }).status.userInfo.username
                    : `HTTP ${res.statusCode}`,
                ),
              );
          },
        )
          .on('error', reject)
          .end(body);
      });
    const oldProxyClient = proxyClient();
    assert.equal(await proxiedAs(before, oldProxyClient), 'proxied-alice');

    const rotation = await admin.call('POST', `/api/v1/clusters/${clusterId}/rotate-ca`);
    assert.equal(rotation.status, 202, JSON.stringify(rotation.body));
    const run = await admin.waitForWorkflow(rotation.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
    await assert.rejects(kubectlAs(before, 'get', 'nodes'), 'a kubeconfig of the old CA is refused');
    const after = await kubeconfigOf(admin);
    assert.match((await kubectlAs(after, 'get', 'nodes', '-o', 'name')).stdout, /node\/kw-cp-0/);
    // The service-account key rotated with the CA: a token signed by the old key is refused, a new one works.
    await assert.rejects(
      whoami(withToken(after, oldToken)),
      (error: { stderr: string }) => /Unauthorized/.test(error.stderr),
      'a token of the old service-account key is refused',
    );
    const newToken = (await kubectlAs(after, 'create', 'token', 'rotation-probe', '--duration=1h')).stdout.trim();
    assert.equal(await whoami(withToken(after, newToken)), 'system:serviceaccount:default:rotation-probe');
    // So did the front-proxy CA: the old front-proxy credential no longer speaks for anyone, the new one does.
    assert.notEqual(await proxiedAs(after, oldProxyClient), 'proxied-alice');
    const newProxyClient = proxyClient();
    assert.notEqual(newProxyClient.cert, oldProxyClient.cert);
    assert.equal(await proxiedAs(after, newProxyClient), 'proxied-alice');
    await kubectlAs(after, 'delete', 'serviceaccount', 'rotation-probe');
  });

  it('rotates the serving and client certificates under the same CA: the API serves a new certificate, kubeconfigs keep working', async () => {
    const kubeconfig = await kubeconfigOf(admin);
    const server = new URL(/server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1]!);
    /** The serial number of the certificate the tenant API serves now. */
    const servingSerial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: server.hostname, port: Number(server.port), rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.end();
        });
        socket.on('error', reject);
      });
    const before = await servingSerial();
    const rotation = await admin.call('POST', `/api/v1/clusters/${clusterId}/rotate-certificates`);
    assert.equal(rotation.status, 202, JSON.stringify(rotation.body));
    const run = await admin.waitForWorkflow(rotation.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
    assert.deepEqual(
      run.steps.map((s: { name: string }) => s.name),
      ['issue-certificates', 'roll-control-plane', 'mark-ready'],
    );
    assert.notEqual(await servingSerial(), before, 'the API serves a newly issued certificate');
    assert.match(
      (await kubectlAs(kubeconfig, 'get', 'nodes', '-o', 'name')).stdout,
      /node\/kw-cp-0/,
      'a kubeconfig fetched before still works: the CA did not change',
    );
  });

  it('brings a crashed tenant kube-apiserver back when a workflow needs it', async () => {
    const state = JSON.parse(readFileSync(join(cx.dataDir, 'kwok', clusterId, 'state.json'), 'utf8')) as {
      pids: { apiserver: number };
    };
    process.kill(state.pids.apiserver, 'SIGKILL');
    const { apiEndpoint } = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body as { apiEndpoint: string };
    await assert.rejects(fetch(`${apiEndpoint}/readyz`), 'the tenant API is down');
    const scaled = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, { count: 3 });
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    assert.equal(
      (await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    const names = (
      await kubectlAs(await kubeconfigOf(admin), 'get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')
    ).stdout
      .split(' ')
      .sort();
    assert.deepEqual(names, ['kw-cp-0', 'kw-workers-2', 'kw-workers-3', 'kw-workers-4']);
  });

  it('deletes the cluster, even with its kube-apiserver down, and leaves nothing running', async () => {
    const { apiEndpoint } = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body as { apiEndpoint: string };
    const state = JSON.parse(readFileSync(join(cx.dataDir, 'kwok', clusterId, 'state.json'), 'utf8')) as {
      pids: { apiserver: number };
    };
    process.kill(state.pids.apiserver, 'SIGKILL');
    const deleted = await admin.call('DELETE', `/api/v1/clusters/${clusterId}`);
    assert.equal(deleted.status, 202);
    assert.equal(
      (await admin.waitForWorkflow(deleted.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404);
    assert.equal(existsSync(join(cx.dataDir, 'kwok', clusterId)), false, 'the runtime directory is gone');
    await assert.rejects(fetch(`${apiEndpoint}/readyz`), 'the tenant kube-apiserver is stopped');
  });
});
