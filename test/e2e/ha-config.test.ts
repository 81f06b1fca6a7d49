/**
 * IP pools and ha-configs through the public API, on a cluster of the kwok runtime: the keepalived
 * configuration cx applies in the tenant cluster is read back with kubectl and checked with the
 * real `keepalived -t`; bad requests are refused with nothing stored; and when nodes join, leave or
 * change labels, cx applies the ha-configs again by itself (node health monitor every second here).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Api, startCx, stopKwokControlPlanes, tempDir, until, type CxProcess } from '../support/cx.js';

const run = promisify(execFile);

function peer<T>(variable: string, script: string): T {
  const raw = process.env[variable];
  assert.ok(raw, `${variable} is not set: run the tests with \`npm test\` (test/peers/${script})`);
  return JSON.parse(raw) as T;
}

describe('IP pools and ha-configs', () => {
  const kubernetes = peer<{ kubeApiserver: Record<string, string>; kubectl?: string }>(
    'CX_TEST_KUBERNETES',
    'kubernetes.sh',
  );
  const keepalived = peer<{ binary: string }>('CX_TEST_KEEPALIVED', 'keepalived.sh').binary;
  const kubectl = kubernetes.kubectl ?? 'kubectl';
  const version = Object.keys(kubernetes.kubeApiserver).sort()[0]!;
  const work = tempDir('ha-e2e');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let kubeconfig = '';

  const k = async (...args: string[]): Promise<string> =>
    (await run(kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  /** The nodes an ha-config's ConfigMap holds a keepalived.conf for, once they are `expected`. */
  const configMapNodes = (name: string, expected: string[]): Promise<string[]> =>
    until(`ConfigMap cx-ha-${name} for ${expected.join(', ')}`, async () => {
      const keys = Object.keys((await configMap(name)) ?? {}).sort();
      return JSON.stringify(keys) === JSON.stringify(expected) ? keys : undefined;
    });
  /** What the node health monitor started as cx:ha-config for an ha-config, oldest first. */
  const reapplies = async (
    haConfigId: string,
  ): Promise<Array<{ action: string; details: { reason: string; workflowId: string; nodes: string[] } }>> =>
    (
      (await admin.call('GET', `/api/v1/audit?actor=cx:ha-config&targetId=${haConfigId}`)).body.items as Array<{
        at: string;
        action: string;
        details: { reason: string; workflowId: string; nodes: string[] };
      }>
    ).sort((a, b) => a.at.localeCompare(b.at));

  const configMap = async (name: string): Promise<Record<string, string> | null> => {
    const answer = await run(
      kubectl,
      [
        '--kubeconfig',
        kubeconfig,
        '-n',
        'kube-system',
        'get',
        'configmap',
        `cx-ha-${name}`,
        '-o',
        'json',
        '--ignore-not-found',
      ],
      { encoding: 'utf8' },
    );
    return answer.stdout.trim() ? (JSON.parse(answer.stdout) as { data: Record<string, string> }).data : null;
  };

  before(async () => {
    const binariesFile = join(work, 'binaries.json');
    writeFileSync(binariesFile, process.env['CX_TEST_KUBERNETES']!);
    cx = await startCx({ env: { CX_KWOK_BINARIES_FILE: binariesFile, CX_HA_HEALTH_INTERVAL_SECONDS: '1' } });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
    // A failed test may leave a tenant control plane running.
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('allocates from an IP pool without double allocation, and refuses bad ranges', async () => {
    const pool = await admin.call('POST', '/api/v1/ip-pools', { name: 'vips', ranges: '192.0.2.5-8,42.42.42.42' });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
    assert.equal(pool.body.size, '5');
    assert.equal(
      (await admin.call('POST', '/api/v1/ip-pools', { name: 'bad', ranges: '192.0.2.9-3' })).body.fields[0].field,
      'body.ranges',
    );
    assert.equal(
      (await admin.call('POST', '/api/v1/ip-pools', { name: 'overlap', ranges: '192.0.2.8-10' })).status,
      409,
    );
    const answers = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        admin.call('POST', `/api/v1/ip-pools/${pool.body.id}/allocations`, { owner: `o${i}` }),
      ),
    );
    const given = answers.filter((a) => a.status === 201).map((a) => a.body.address as string);
    assert.equal(given.length, 5);
    assert.equal(new Set(given).size, 5, 'no address was given twice');
    assert.deepEqual(
      answers.filter((a) => a.status !== 201).map((a) => a.body.code),
      ['CX_POOL_EXHAUSTED', 'CX_POOL_EXHAUSTED'],
    );
    assert.equal(
      (await admin.call('POST', `/api/v1/ip-pools/${pool.body.id}/allocations`, { owner: 'x', address: '192.0.2.99' }))
        .status,
      400,
      'a VIP outside the pool',
    );
    assert.equal((await admin.call('DELETE', `/api/v1/ip-pools/${pool.body.id}/allocations/192.0.2.5`)).status, 204);
    assert.equal((await admin.call('GET', `/api/v1/ip-pools/${pool.body.id}`)).body.allocated, 4);
  });

  it('applies an ha-config as keepalived on the nodes its selector picks, spread evenly, and checks pass keepalived -t', async () => {
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'ha',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [
        { name: 'edge', count: 3, labels: { role: 'edge' } },
        { name: 'workers', count: 1 },
      ],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    clusterId = created.body.cluster.id;
    assert.equal(
      (await admin.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000)).status,
      'Succeeded',
    );
    kubeconfig = join(work, 'admin.kubeconfig');
    writeFileSync(kubeconfig, (await admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).body as string, {
      mode: 0o600,
    });

    const nobody = await admin.call('POST', '/api/v1/ha-configs', {
      clusterId,
      name: 'none',
      virtualIps: '192.0.2.10',
      selector: { role: 'nowhere' },
    });
    assert.equal(nobody.status, 400);
    assert.equal(nobody.body.fields[0].field, 'body.selector');
    const malformed = await admin.call('POST', '/api/v1/ha-configs', {
      clusterId,
      name: 'bad',
      virtualIps: '192.0.2.10-',
      selector: { role: 'edge' },
    });
    assert.equal(malformed.body.fields[0].field, 'body.virtualIps');
    assert.deepEqual(
      (await admin.call('GET', `/api/v1/ha-configs?clusterId=${clusterId}`)).body.items,
      [],
      'nothing was stored',
    );

    const accepted = await admin.call('POST', '/api/v1/ha-configs', {
      clusterId,
      name: 'web',
      virtualIps: '192.0.2.10-15',
      selector: { role: 'edge' },
      watchPort: 443,
      vrrpIdOffset: 50,
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const applied = await admin.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 60_000);
    assert.equal(applied.status, 'Succeeded', JSON.stringify(applied.steps));

    const data = await configMap('web');
    assert.ok(data);
    assert.deepEqual(
      Object.keys(data).sort(),
      ['ha-edge-0', 'ha-edge-1', 'ha-edge-2'],
      'only the nodes the selector picks',
    );
    const leads = Object.values(data).map((text) => (text.match(/priority 250/g) ?? []).length);
    assert.deepEqual(leads, [2, 2, 2], 'six VIPs over three nodes: two each');
    for (const [node, text] of Object.entries(data)) {
      const file = join(work, `${node}.conf`);
      writeFileSync(file, text);
      await run(keepalived, ['-t', '-f', file, '-l']).catch((error: { stdout?: string; stderr?: string }) =>
        assert.fail(`keepalived -t refused ${node}: ${error.stdout ?? ''}${error.stderr ?? ''}`),
      );
      assert.match(text, /virtual_router_id 50\n/);
      assert.match(text, /127\.0\.0\.1\/443/);
    }
    const daemonSet = JSON.parse(
      (
        await run(
          kubectl,
          ['--kubeconfig', kubeconfig, '-n', 'kube-system', 'get', 'daemonset', 'cx-ha-web', '-o', 'json'],
          { encoding: 'utf8' },
        )
      ).stdout,
    ) as { spec: { template: { spec: { nodeSelector: Record<string, string>; hostNetwork: boolean } } } };
    assert.deepEqual(daemonSet.spec.template.spec.nodeSelector, { role: 'edge' });
    assert.equal(daemonSet.spec.template.spec.hostNetwork, true);

    // Another ha-config may not take these VIPs or these VRRP router ids.
    assert.equal(
      (
        await admin.call('POST', '/api/v1/ha-configs', {
          clusterId,
          name: 'clash',
          virtualIps: '192.0.2.15-16',
          selector: { role: 'edge' },
        })
      ).status,
      409,
    );
    assert.equal(
      (
        await admin.call('POST', '/api/v1/ha-configs', {
          clusterId,
          name: 'ids',
          virtualIps: '192.0.2.30',
          selector: { role: 'edge' },
          vrrpIdOffset: 55,
        })
      ).status,
      409,
    );

    // The fast profile: 0.1 s adverts at real-time priority, and the capabilities that needs.
    const fast = await admin.call('POST', '/api/v1/ha-configs', {
      clusterId,
      name: 'fast',
      virtualIps: '192.0.2.40',
      selector: { role: 'edge' },
      watchPort: 0,
      profile: 'fast',
    });
    assert.equal(fast.status, 202, JSON.stringify(fast.body));
    assert.equal(fast.body.haConfig.profile, 'fast');
    assert.equal(
      (await admin.waitForWorkflow(fast.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
    for (const text of Object.values((await configMap('fast'))!)) {
      assert.match(text, /advert_int 0\.1\n/);
      assert.match(text, /vrrp_rt_priority/);
    }
    const fastSet = JSON.parse(
      (
        await run(
          kubectl,
          ['--kubeconfig', kubeconfig, '-n', 'kube-system', 'get', 'daemonset', 'cx-ha-fast', '-o', 'json'],
          { encoding: 'utf8' },
        )
      ).stdout,
    ) as {
      spec: { template: { spec: { containers: Array<{ securityContext: { capabilities: { add: string[] } } }> } } };
    };
    assert.deepEqual(fastSet.spec.template.spec.containers[0]!.securityContext.capabilities.add, [
      'NET_ADMIN',
      'NET_RAW',
      'NET_BROADCAST',
      'SYS_NICE',
      'IPC_LOCK',
    ]);
    assert.equal(
      (
        await admin.call('POST', '/api/v1/ha-configs', {
          clusterId,
          name: 'slow',
          virtualIps: '192.0.2.41',
          selector: { role: 'edge' },
          profile: 'slow',
        })
      ).status,
      400,
    );
    const fastGone = await admin.call('DELETE', `/api/v1/ha-configs/${fast.body.haConfig.id}`);
    assert.equal(
      (await admin.waitForWorkflow(fastGone.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
  });

  it('applies the ha-configs again by itself when nodes join, leave or change labels, and only then', async () => {
    assert.ok(clusterId, 'the cluster of the previous test');
    const web = (await admin.call('GET', `/api/v1/ha-configs?clusterId=${clusterId}`)).body.items.find(
      (h: { name: string }) => h.name === 'web',
    );
    assert.deepEqual(
      web.status.applied.nodes.map((n: { name: string }) => n.name),
      ['ha-edge-0', 'ha-edge-1', 'ha-edge-2'],
      'the apply recorded its nodes',
    );
    assert.match(web.status.applied.nodes[0].address, /^\d+\.\d+\.\d+\.\d+$/, 'with their InternalIP');
    // A second ha-config on the same nodes: both need applying at once, and one waits for the other.
    const second = await admin.call('POST', '/api/v1/ha-configs', {
      clusterId,
      name: 'api',
      virtualIps: '192.0.2.50',
      selector: { role: 'edge' },
      watchPort: 0,
    });
    assert.equal(second.status, 202, JSON.stringify(second.body));
    assert.equal(
      (await admin.waitForWorkflow(second.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
      'Succeeded',
    );
    const api = second.body.haConfig;
    const inSync = (id: string): Promise<any> =>
      until(`ha-config ${id} InSync`, async () => {
        const answer = (await admin.call('GET', `/api/v1/ha-configs/${id}`)).body;
        return answer.status?.sync?.state === 'InSync' ? answer : undefined;
      });
    await inSync(web.id);
    await inSync(api.id);
    assert.deepEqual(await reapplies(web.id), [], 'nothing was applied again while the nodes did not change');

    // (a) A fourth edge node joins: both ConfigMaps take it, the VIPs spread over four, nobody called /apply.
    const scaled = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/edge`, { count: 4 });
    assert.equal(
      (await admin.waitForWorkflow(scaled.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    const four = ['ha-edge-0', 'ha-edge-1', 'ha-edge-2', 'ha-edge-3'];
    await configMapNodes('web', four);
    await configMapNodes('api', four);
    const spread = Object.values((await configMap('web'))!)
      .map((text) => (text.match(/priority 250/g) ?? []).length)
      .sort();
    assert.deepEqual(spread, [1, 1, 2, 2], 'six VIPs over four nodes: max − min ≤ 1');

    // (c) The re-apply is a workflow of the cluster, started by cx:ha-config and audited with its reason.
    const joined = await until('the re-apply of web in the audit log', async () => (await reapplies(web.id)).at(-1));
    assert.equal(joined.action, 'ha-config.reapply');
    assert.equal(joined.details.reason, 'ha-edge-3 joined');
    assert.deepEqual(joined.details.nodes, four);
    const workflow = await admin.waitForWorkflow(joined.details.workflowId, ['Succeeded', 'Failed'], 60_000);
    assert.equal(workflow.status, 'Succeeded', JSON.stringify(workflow.steps));
    assert.equal(workflow.workflow, 'ha-config.apply');
    assert.equal(workflow.createdBy, 'cx:ha-config');
    assert.equal(workflow.clusterId, clusterId);
    const webNow = await inSync(web.id);
    assert.equal(webNow.status.applied.workflowId, joined.details.workflowId);
    assert.deepEqual(
      webNow.status.applied.nodes.map((n: { name: string }) => n.name),
      four,
    );
    await inSync(api.id);
    assert.equal(
      (await reapplies(api.id)).length,
      1,
      'the second ha-config was applied once, after waiting for the cluster',
    );
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Ready');

    // (b) A node whose label changes so that it no longer matches leaves both ConfigMaps.
    await k('label', 'node', 'ha-edge-1', 'role=backend', '--overwrite');
    const three = ['ha-edge-0', 'ha-edge-2', 'ha-edge-3'];
    await configMapNodes('web', three);
    await configMapNodes('api', three);
    const left = await until('the second re-apply of web', async () => {
      const all = await reapplies(web.id);
      return all.length === 2 ? all[1] : undefined;
    });
    assert.equal(left.details.reason, 'ha-edge-1 left');
    assert.equal(
      (await admin.waitForWorkflow(left.details.workflowId, ['Succeeded', 'Failed'], 60_000)).createdBy,
      'cx:ha-config',
    );
    await inSync(web.id);

    // No node matches any more: nothing is applied, keepalived stays as it was, and the status says why.
    await k('label', 'node', 'ha-edge-0', 'ha-edge-2', 'ha-edge-3', 'role=backend', '--overwrite');
    const orphan = await until('web NoMatchingNode', async () => {
      const answer = (await admin.call('GET', `/api/v1/ha-configs/${web.id}`)).body;
      return answer.status?.sync?.state === 'NoMatchingNode' ? answer : undefined;
    });
    assert.match(orphan.status.sync.message, /no node matches the selector \{"role":"edge"\}/);
    await sleep(3_000); // three looks of the monitor
    assert.equal((await reapplies(web.id)).length, 2, 'no re-apply without a matching node');
    assert.deepEqual(Object.keys((await configMap('web'))!).sort(), three, 'the ConfigMap is kept as last applied');
    assert.match(
      await k('-n', 'kube-system', 'get', 'daemonset', 'cx-ha-web', '-o', 'name'),
      /cx-ha-web/,
      'the DaemonSet is kept',
    );
    // The same nodes match again: that is what was applied, so nothing needs doing.
    await k('label', 'node', 'ha-edge-0', 'ha-edge-2', 'ha-edge-3', 'role=edge', '--overwrite');
    await inSync(web.id);
    await inSync(api.id);
    assert.equal((await reapplies(web.id)).length, 2);

    // Applying by hand still works, as the user who asked.
    const again = await admin.call('POST', `/api/v1/ha-configs/${web.id}/apply`);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const byHand = await admin.waitForWorkflow(again.body.workflow.id, ['Succeeded', 'Failed'], 60_000);
    assert.equal(byHand.status, 'Succeeded');
    assert.notEqual(byHand.createdBy, 'cx:ha-config');
  });

  it('removes ha-configs from the cluster', async () => {
    assert.ok(clusterId, 'the cluster of the previous tests');
    for (const haConfig of (await admin.call('GET', `/api/v1/ha-configs?clusterId=${clusterId}`)).body.items as Array<{
      id: string;
      name: string;
    }>) {
      const removed = await admin.call('DELETE', `/api/v1/ha-configs/${haConfig.id}`);
      assert.equal(
        (await admin.waitForWorkflow(removed.body.workflow.id, ['Succeeded', 'Failed'], 60_000)).status,
        'Succeeded',
      );
      assert.equal(await configMap(haConfig.name), null, `the ConfigMap of ${haConfig.name} is gone from the cluster`);
      assert.equal((await admin.call('GET', `/api/v1/ha-configs/${haConfig.id}`)).status, 404);
    }
  });
});
