import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createClusterPki } from '@cx/k8s';
import type { ClusterBootstrap, MachineSpec } from '@cx/sddc-contract';
import { clusterBootstrapToken, machineUserData } from './user-data.js';

describe('user data of machines on real providers', () => {
  it('initialises on the first control-plane machine and joins everywhere else with one token', async () => {
    const pki = await createClusterPki('demo');
    const bootstrap: ClusterBootstrap = { clusterName: 'demo', kubernetesVersion: '1.37.2', pki, trustedCaPems: [pki.ca.certPem] };
    const spec = (name: string, role: MachineSpec['role']): MachineSpec => ({ machineId: name, clusterId: 'c1', name, role, pool: role === 'worker' ? 'workers' : 'control-plane', kubernetesVersion: '1.37.2' });
    const decode = (m: MachineSpec): { hostname: string; runcmd: string[][]; write_files: Array<{ path: string; content: string }> } => {
      const text = machineUserData(m, bootstrap);
      assert.ok(text.startsWith('#cloud-config\n'));
      return parse(text) as never;
    };
    const init = decode(spec('demo-cp-0', 'control-plane'));
    const joinCp = decode(spec('demo-cp-1', 'control-plane'));
    const worker = decode(spec('demo-workers-0', 'worker'));
    assert.deepEqual(init.runcmd[0]?.slice(0, 2), ['kubeadm', 'init']);
    assert.deepEqual(joinCp.runcmd[0]?.slice(0, 2), ['kubeadm', 'join']);
    assert.deepEqual(worker.runcmd[0]?.slice(0, 2), ['kubeadm', 'join']);
    assert.equal(worker.hostname, 'demo-workers-0');
    assert.ok(joinCp.write_files.some((f) => f.path === '/etc/kubernetes/pki/ca.key'), 'a joining control plane gets the CA');
    assert.ok(!worker.write_files.some((f) => f.path.endsWith('.key')), 'a worker gets no private key');
    const token = clusterBootstrapToken(bootstrap);
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    for (const machine of [init, joinCp, worker]) {
      const config = machine.write_files.find((f) => f.path === '/run/cx/kubeadm.yaml')!.content;
      assert.ok(config.includes(token), 'every machine carries the cluster token');
      assert.ok(config.includes('demo-cp-0:6443'), 'every machine reaches the first control plane');
    }
    const other = await createClusterPki('demo');
    assert.notEqual(clusterBootstrapToken({ ...bootstrap, pki: other }), token, 'another cluster CA gives another token');
  });
});
