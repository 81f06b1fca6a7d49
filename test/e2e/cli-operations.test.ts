/**
 * The `cx` verbs of day-2 operations, end to end: the real binary against a running cx on the kwok
 * runtime (a real kube-apiserver and etcd; kwok plays the kubelets), with kubectl reading back what
 * they did — cordon, uncordon, drain, rotate certificates and the CA, OS upgrade (a rollback
 * refused after a success, and done after a PodDisruptionBudget made one fail), etcd snapshot,
 * list, restore and delete, an addon installed and removed, an ha-config in seed 001's syntax
 * created, applied and deleted, a node deleted; each with --wait, and bad input refused with the
 * documented exit code and nothing changed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliEnv, cliPath, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { kubernetesPeer, startKwokCx } from '../support/kwok.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('cx day-2 verbs against a running cx (kwok)', () => {
  const peer = kubernetesPeer();
  const dir = tempDir('cli-ops-e2e');
  const env = cliEnv(dir);
  const kubeconfig = join(dir, 'ops.kubeconfig');
  let cx: CxProcess;

  /** Runs `cx ARGS…`; never rejects: the exit code is part of what is checked. */
  const cxRun = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [cliPath, ...args],
        { env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[]): Promise<Run> => {
    const run = await cxRun(args);
    assert.equal(run.code, 0, `cx ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run;
  };
  const kubectl = async (...args: string[]): Promise<string> =>
    (
      await promisify(execFile)(peer.kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], {
        encoding: 'utf8',
        env, // kubectl runs cx as its credential plugin, in this test's context
      })
    ).stdout;
  const unschedulable = async (node: string): Promise<boolean> =>
    (await kubectl('get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}')) === 'true';
  const nodeNames = async (): Promise<string[]> =>
    (
      JSON.parse((await ok(['get', 'nodes', '-c', 'ops', '-o', 'json'])).stdout) as { items: Array<{ name: string }> }
    ).items
      .map((n) => n.name)
      .sort();

  before(async () => {
    cx = await startKwokCx(peer, dir);
    await ok(['login', cx.base, '-u', 'admin']);
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('creates a kwok cluster to work on', async () => {
    // Remediation off (report only): the etcd restore and the CA rotation take the tenant API down for
    // a while, and on a loaded machine a kubelet lease may lapse meanwhile; a remediation workflow
    // would then hold the cluster busy under the next verb.
    const request = join(dir, 'ops.yaml');
    writeFileSync(request, 'health:\n  remediation: none\n');
    await ok([
      'create',
      'cluster',
      'ops',
      '-f',
      request,
      '--provider',
      'kwok',
      '--version',
      peer.versions[0]!,
      '--control-plane',
      '1',
      '--pool',
      'workers=2:tier=web',
      '--wait',
      '--timeout',
      '4m',
    ]);
    writeFileSync(kubeconfig, (await ok(['kubeconfig', 'ops'])).stdout, { mode: 0o600 });
    assert.deepEqual(await nodeNames(), ['ops-cp-0', 'ops-workers-0', 'ops-workers-1']);
    assert.equal((await ok(['get', 'cluster', 'ops', '-o', 'jsonpath={.health.remediation}'])).stdout, 'none');
  });

  it('cordons, uncordons and drains a node with --wait; kubectl sees it', async () => {
    const cordon = await ok(['cordon', 'node/ops-workers-0', '-c', 'ops', '--wait']);
    assert.match(cordon.stdout, /^node\/ops-workers-0 cordoning \(workflow [\w-]+\)\nnode\/ops-workers-0 cordoned\n$/);
    assert.match(cordon.stderr, /node\.cordon Succeeded/);
    assert.equal(await unschedulable('ops-workers-0'), true);
    await ok(['uncordon', 'node', 'ops-workers-0', '-c', 'ops', '--wait']);
    assert.equal(await unschedulable('ops-workers-0'), false);
    const drain = await ok(['drain', 'ops-workers-1', '-c', 'ops', '--drain-timeout', '60', '--wait']);
    assert.match(drain.stdout, /node\/ops-workers-1 drained\n$/);
    assert.equal(await unschedulable('ops-workers-1'), true, 'a drained node stays cordoned');
    await ok(['uncordon', 'node/ops-workers-1', '-c', 'ops', '--wait']);

    // Refused: a node the cluster does not have (exit 5, the server's words), no -c (exit 2), a pod-less verb on a cluster.
    const missing = await cxRun(['cordon', 'node/nope', '-c', 'ops']);
    assert.equal(missing.code, 5, missing.stderr);
    assert.match(missing.stderr, /cluster ops has no node nope .*\(CX_NOT_FOUND\)/);
    const noCluster = await cxRun(['drain', 'node/ops-workers-0']);
    assert.equal(noCluster.code, 2);
    assert.match(noCluster.stderr, /required option '-c, --cluster <name>'/);
    const wrongKind = await cxRun(['cordon', 'cluster/ops', '-c', 'ops']);
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /acts on a node, not a cluster/);
    assert.equal(await unschedulable('ops-workers-0'), false, 'nothing was cordoned');
  });

  it('takes an etcd snapshot, lists it, restores it (what was created since is gone) and deletes it', async () => {
    const taken = await ok(['etcd', 'snapshot', '-c', 'ops', '--wait', '-o', 'name']);
    const name = taken.stdout.trim();
    assert.match(name, /^etcd-snapshot\/[\w-]+$/);
    const id = name.slice('etcd-snapshot/'.length);
    assert.equal((await ok(['etcd', 'list', '-c', 'ops', '-o', 'name'])).stdout, `${name}\n`);
    assert.match(
      (await ok(['get', 'etcd-snapshots', '-c', 'ops'])).stdout,
      new RegExp(`^ID\\s+REVISION\\s+SIZE-BYTES\\s+AGE\\n${id}\\s+\\d+\\s+\\d+\\s+\\d+[smhd]\\n$`),
    );

    await kubectl('create', 'namespace', 'after-snapshot');
    const restored = await ok(['etcd', 'restore', id, '-c', 'ops', '--wait', '--timeout', '4m']);
    assert.match(restored.stdout, new RegExp(`cluster/ops restored to ${name} \\(revision \\d+\\)\\n$`));
    assert.doesNotMatch(await kubectl('get', 'namespaces', '-o', 'name'), /after-snapshot/);

    const unknown = await cxRun(['etcd', 'restore', 'nope', '-c', 'ops']);
    assert.equal(unknown.code, 5);
    assert.match(unknown.stderr, /etcd-snapshot nope does not exist in cluster ops/);
    assert.equal((await ok(['etcd', 'delete', name, '-c', 'ops'])).stdout, `${name} deleted\n`);
    assert.equal((await ok(['etcd', 'list', '-c', 'ops'])).stderr, 'No etcd-snapshots found.\n');
  });

  it('installs and removes an addon; an addon not in the catalog is refused', async () => {
    const installed = await ok(['addon', 'install', 'dashboard', '-c', 'ops', '--wait']);
    assert.match(installed.stdout, /addon\/dashboard Installed\n$/);
    assert.match((await ok(['get', 'addons', '-c', 'ops'])).stdout, /^dashboard\s+\S+\s+Installed\s+\d+[smhd]$/m);
    assert.ok(await kubectl('get', 'deployment', '-n', 'kubernetes-dashboard', '-o', 'name'));
    const removed = await ok(['addon', 'remove', 'dashboard', '-c', 'ops', '--wait']);
    assert.match(removed.stdout, /addon\/dashboard removed\n$/);
    assert.equal((await ok(['get', 'addons', '-c', 'ops'])).stderr, 'No addons found.\n');

    const unknown = await cxRun(['addon', 'install', 'no-such-addon', '-c', 'ops']);
    assert.equal(unknown.code, 5);
    assert.match(unknown.stderr, /there is no addon no-such-addon in the catalog/);
    const badSet = await cxRun(['addon', 'install', 'dashboard', '-c', 'ops', '--set', 'novalue']);
    assert.equal(badSet.code, 2);
    assert.match(badSet.stderr, /--set novalue: expected KEY=VALUE/);
  });

  it("creates, applies and deletes an ha-config given in seed 001's syntax", async () => {
    const created = await ok([
      'ha-config',
      'create',
      '-c',
      'ops',
      '--virtual-ips=192.0.2.10-12,192.0.2.42',
      '--selector=tier=web',
      '--watch-port=8080',
      '--interface=ens3',
      '--unicast=false',
      '--wait',
    ]);
    assert.match(created.stdout, /^ha-config\/ha-config-1 created on ops/, 'the seed’s default name');
    assert.match(
      created.stdout,
      /ha-config\/ha-config-1 192\.0\.2\.10-12,192\.0\.2\.42 on ops-workers-0,ops-workers-1\n$/,
    );
    const [config] = (
      JSON.parse((await ok(['get', 'ha-configs', '-c', 'ops', '-o', 'json'])).stdout) as {
        items: Array<Record<string, unknown>>;
      }
    ).items;
    const { name, virtualIps, selector, watchPort, interface: nic, unicast, preempt } = config!;
    assert.deepEqual(
      { name, virtualIps, selector, watchPort, nic, unicast, preempt },
      {
        name: 'ha-config-1',
        virtualIps: '192.0.2.10-12,192.0.2.42',
        selector: { tier: 'web' },
        watchPort: 8080,
        nic: 'ens3',
        unicast: false,
        preempt: true,
      },
      'each flag landed in its field; what was not given took the default',
    );
    await ok(['ha-config', 'apply', 'ha-config-1', '-c', 'ops', '--wait']);

    // Refused by the server with nothing stored: a malformed range (exit 2, its field).
    const malformed = await cxRun(['ha-config', 'create', 'bad', '-c', 'ops', '--virtual-ips=192.0.2.20-']);
    assert.equal(malformed.code, 2, malformed.stderr);
    assert.match(malformed.stderr, /\(CX_INPUT_INVALID\)\n {2}body\.virtualIps: /);
    const badBool = await cxRun(['ha-config', 'create', '-c', 'ops', '--virtual-ips=192.0.2.30', '--unicast=maybe']);
    assert.equal(badBool.code, 2);

    assert.match(
      (await ok(['ha-config', 'delete', 'ha-config-1', '-c', 'ops', '--wait'])).stdout,
      /ha-config\/ha-config-1 deleted\n$/,
    );
    assert.equal((await ok(['get', 'ha-configs', '-c', 'ops'])).stderr, 'No ha-configs found.\n');
  });

  it('rotates the certificates and the CA, and moves the workers to a new OS image; a succeeded upgrade does not roll back', async () => {
    const rotated = await ok(['rotate', 'certificates', 'cluster/ops', '--wait']);
    assert.match(rotated.stdout, /cluster\/ops cluster\.rotate-certificates Succeeded\n$/);
    // A new CA: the kubeconfig cx writes afterwards (README: `cx rotate ca … && cx kubeconfig … --merge`) works.
    const ca = await ok(['rotate', 'ca', 'ops', '--wait', '--timeout', '4m']);
    assert.match(ca.stdout, /cluster\/ops cluster\.rotate-ca Succeeded\n$/);
    writeFileSync(kubeconfig, (await ok(['kubeconfig', 'ops'])).stdout, { mode: 0o600 });
    assert.match(await kubectl('get', 'nodes', '-o', 'name'), /node\/ops-cp-0/);

    const upgraded = await ok(['os-upgrade', 'cluster/ops', '--image', 'cx-os-2', '--wait', '--timeout', '4m']);
    assert.match(upgraded.stdout, /^cluster\/ops moving to image cx-os-2 \(workflow ([\w-]+)\)\n/);
    assert.match(upgraded.stdout, /cluster\/ops image cx-os-2 Ready \(cluster\.os-upgrade Succeeded\)\n$/);
    const workflowId = /\(workflow ([\w-]+)\)/.exec(upgraded.stdout)![1]!;
    const images = await kubectl(
      'get',
      'nodes',
      '-l',
      'tier=web',
      '-o',
      'jsonpath={.items[*].status.nodeInfo.osImage}',
    );
    assert.deepEqual(images.split(' '), ['cx-os-2', 'cx-os-2'], 'kubectl sees the workers on the new image');

    const rollback = await cxRun(['workflow', 'rollback', workflowId]);
    assert.equal(rollback.code, 6, rollback.stderr);
    assert.match(rollback.stderr, /is Succeeded; only a Failed or Cancelled OS upgrade rolls back \(CX_CONFLICT\)/);
    const noImage = await cxRun(['os-upgrade', 'cluster/ops']);
    assert.equal(noImage.code, 2);
    assert.match(noImage.stderr, /required option '--image <image>'/);
  });

  it('rolls back an OS upgrade that a PodDisruptionBudget made fail: the cluster boots its previous image again', async () => {
    // One web pod per worker, and a budget that lets none go: draining an old worker is blocked.
    const manifest = join(dir, 'web.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'default' },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: {
                  containers: [{ name: 'web', image: 'registry.example/web:1' }],
                  tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
                  topologySpreadConstraints: [
                    {
                      maxSkew: 1,
                      topologyKey: 'kubernetes.io/hostname',
                      whenUnsatisfiable: 'DoNotSchedule',
                      labelSelector: { matchLabels: { app: 'web' } },
                    },
                  ],
                },
              },
            },
          },
          {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: 'web', namespace: 'default' },
            spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
          },
        ],
      }),
    );
    await kubectl('apply', '-f', manifest);
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s');

    const failed = await cxRun(['os-upgrade', 'cluster/ops', '--image', 'cx-os-3', '--drain-timeout', '2', '--wait']);
    assert.equal(failed.code, 8, failed.stderr);
    const workflowId = /\(workflow ([\w-]+)\)/.exec(failed.stdout)![1]!;
    assert.match(
      failed.stderr,
      new RegExp(`cx: workflow ${workflowId} \\(cluster\\.os-upgrade\\) Failed: .*PodDisruptionBudget default/web`),
    );
    assert.match(
      failed.stderr,
      new RegExp(
        `hint: .*cx workflow retry ${workflowId}; or go back to the previous image: cx workflow rollback ${workflowId}`,
      ),
    );

    const rolled = await ok(['workflow', 'rollback', workflowId, '--wait']);
    assert.match(
      rolled.stdout,
      new RegExp(
        `^cluster/ops rolling back ${workflowId} \\(workflow [\\w-]+\\)\\ncluster/ops cluster\\.os-upgrade-rollback Succeeded\\n$`,
      ),
    );
    const cluster = JSON.parse((await ok(['get', 'cluster', 'ops', '-o', 'json'])).stdout) as {
      osImage: string;
      status: string;
    };
    assert.deepEqual([cluster.osImage, cluster.status], ['cx-os-2', 'Ready']);
    const images = await kubectl(
      'get',
      'nodes',
      '-l',
      'tier=web',
      '-o',
      'jsonpath={.items[*].status.nodeInfo.osImage}',
    );
    assert.deepEqual(images.split(' '), ['cx-os-2', 'cx-os-2'], 'the workers not yet replaced kept their machine');
    await kubectl('delete', 'pdb', 'web');
  });

  it('deletes a named node: its pool shrinks by one, and that node is the one gone', async () => {
    // The OS upgrade replaced the workers: they have new names.
    const current = await nodeNames();
    const [gone, stays] = current.filter((n) => n.startsWith('ops-workers-'));
    const deleted = await ok(['delete', 'node', gone!, '-c', 'ops', '--wait']);
    assert.match(deleted.stdout, new RegExp(`node/${gone} deleted\\n$`));
    assert.deepEqual(await nodeNames(), ['ops-cp-0', stays!]);
    assert.equal((await ok(['get', 'nodepools', 'workers', '-c', 'ops', '-o', 'jsonpath={.count}'])).stdout, '1');
    await ok(['delete', 'cluster', 'ops', '--wait']);
  });
});
