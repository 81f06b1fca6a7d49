import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONTROL_PLANE_TAINT, createClusterPki } from '@cx/k8s';
import type { ClusterBootstrap, MachineSpec } from '@cx/sddc-contract';
import { clusterBootstrapToken, machineApiEndpoint, machineUserData } from './user-data.js';

const images = {
  keepalivedImage: 'registry.example/keepalived:2',
  haproxyImage: 'registry.example/haproxy:2.8',
  kubeVipImage: 'registry.example/kube-vip:v0.8.9',
};

describe('user data of machines on real providers', () => {
  it('initialises on the first control-plane machine and joins everywhere else with one token', async () => {
    const pki = await createClusterPki('demo');
    const bootstrap: ClusterBootstrap = {
      clusterName: 'demo',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [pki.ca.certPem],
    };
    const spec = (name: string, role: MachineSpec['role']): MachineSpec => ({
      machineId: name,
      clusterId: 'c1',
      name,
      role,
      pool: role === 'worker' ? 'workers' : 'control-plane',
      kubernetesVersion: '1.37.2',
    });
    const decode = (
      m: MachineSpec,
    ): { hostname: string; runcmd: string[][]; write_files: Array<{ path: string; content: string }> } => {
      const text = machineUserData(m, bootstrap, images);
      assert.ok(text.startsWith('#cloud-config\n'));
      return parse(text) as never;
    };
    const init = decode(spec('demo-cp-0', 'control-plane'));
    const joinCp = decode(spec('demo-cp-1', 'control-plane'));
    const worker = decode(spec('demo-workers-0', 'worker'));
    // cloud-init runs cx's bootstrap script, which runs kubeadm (and retries it).
    const kubeadmCommand = (m: typeof init): string | undefined => {
      assert.deepEqual(m.runcmd, [['/usr/local/sbin/cx-bootstrap']]);
      const script = m.write_files.find((f) => f.path === '/usr/local/sbin/cx-bootstrap')!.content;
      return /^until (kubeadm \w+)/m.exec(script)?.[1];
    };
    assert.equal(kubeadmCommand(init), 'kubeadm init');
    assert.equal(kubeadmCommand(joinCp), 'kubeadm join');
    assert.equal(kubeadmCommand(worker), 'kubeadm join');
    assert.equal(worker.hostname, 'demo-workers-0');
    assert.ok(
      joinCp.write_files.some((f) => f.path === '/etc/kubernetes/pki/ca.key'),
      'a joining control plane gets the CA',
    );
    assert.ok(!worker.write_files.some((f) => f.path.endsWith('.key')), 'a worker gets no private key');
    const token = clusterBootstrapToken(bootstrap);
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    for (const machine of [init, joinCp, worker]) {
      const config = machine.write_files.find((f) => f.path === '/run/cx/kubeadm.yaml')!.content;
      assert.ok(config.includes(token), 'every machine carries the cluster token');
      assert.ok(config.includes('demo-cp-0:6443'), 'every machine reaches the first control plane');
    }
    const other = await createClusterPki('demo');
    assert.notEqual(
      clusterBootstrapToken({ ...bootstrap, pki: other }),
      token,
      'another cluster CA gives another token',
    );
  });

  it('has the control planes of a three-node cluster join in order, each after those before it are Ready', async () => {
    const pki = await createClusterPki('demo');
    const bootstrap = {
      clusterName: 'demo',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [],
      controlPlane: { count: 3 },
    } as ClusterBootstrap;
    const waitsFor = (name: string, role: MachineSpec['role'] = 'control-plane'): string[] => {
      const text = machineUserData(
        { machineId: name, clusterId: 'c1', name, role, pool: 'control-plane', kubernetesVersion: '1.37.2' },
        bootstrap,
        images,
      );
      const script = (parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.find(
        (f) => f.path === '/usr/local/sbin/cx-bootstrap',
      )!.content;
      return [...script.matchAll(/get node (\S+)/g)].map((m) => m[1]!);
    };
    assert.deepEqual(waitsFor('demo-cp-0'), []);
    assert.deepEqual(waitsFor('demo-cp-1'), ['demo-cp-0']);
    assert.deepEqual(waitsFor('demo-cp-2'), ['demo-cp-0', 'demo-cp-1']);
    assert.deepEqual(waitsFor('demo-cp-3'), [], 'a control plane made later joins one already up');
    assert.deepEqual(waitsFor('demo-workers-0', 'worker'), [], 'workers join at once');
  });

  it('taints a dedicated control plane once, from the taints wfm sends for it', async () => {
    const pki = await createClusterPki('demo');
    const bootstrap: ClusterBootstrap = { clusterName: 'demo', kubernetesVersion: '1.37.2', pki, trustedCaPems: [] };
    for (const name of ['demo-cp-0', 'demo-cp-1']) {
      const spec: MachineSpec = {
        machineId: name,
        clusterId: 'c1',
        name,
        role: 'control-plane',
        pool: 'control-plane',
        kubernetesVersion: '1.37.2',
        labels: {},
        taints: [CONTROL_PLANE_TAINT],
      };
      const files = (
        parse(machineUserData(spec, bootstrap, images)) as { write_files: Array<{ path: string; content: string }> }
      ).write_files;
      const config = parse(files.find((f) => f.path === '/run/cx/kubeadm.yaml')!.content.split('---\n')[0]!) as {
        nodeRegistration: { taints: unknown[] };
      };
      assert.deepEqual(config.nodeRegistration.taints, [CONTROL_PLANE_TAINT], name);
    }
  });

  it('puts a control-plane VIP behind keepalived and haproxy static pods that real keepalived and kubeadm accept', async () => {
    const pki = await createClusterPki('ha');
    const bootstrap: ClusterBootstrap = {
      clusterName: 'ha',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [pki.ca.certPem],
      controlPlane: { count: 3, vip: '192.0.2.50', vipInterface: 'eth0' },
    }; // keepalived -t wants an interface of this host
    const spec = (name: string, role: MachineSpec['role']): MachineSpec => ({
      machineId: name,
      clusterId: 'c1',
      name,
      role,
      pool: role === 'worker' ? 'workers' : 'control-plane',
      kubernetesVersion: '1.37.2',
    });
    type Files = Array<{ path: string; content: string }>;
    const files = (m: MachineSpec): Files =>
      (parse(machineUserData(m, bootstrap, images)) as { write_files: Files }).write_files;
    const content = (list: Files, path: string): string =>
      list.find((f) => f.path === path)?.content ?? assert.fail(`${path} is not written`);
    const dir = mkdtempSync(join(tmpdir(), 'cx-vip-'));

    const controlPlanes = ['ha-cp-0', 'ha-cp-1', 'ha-cp-2'].map((name) => files(spec(name, 'control-plane')));
    const worker = files(spec('ha-workers-0', 'worker'));
    for (const [i, machine] of controlPlanes.entries()) {
      const keepalived = content(machine, '/etc/keepalived/keepalived.conf');
      assert.match(keepalived, /virtual_router_id 50\b/);
      assert.match(keepalived, /interface eth0/);
      assert.match(keepalived, new RegExp(`priority ${250 - i}\\b`), 'cp-0 leads, the others follow in order');
      const file = join(dir, `keepalived-${i}.conf`);
      writeFileSync(file, keepalived);
      const keepalivedPeer = process.env['CX_TEST_KEEPALIVED'];
      assert.ok(
        keepalivedPeer,
        'CX_TEST_KEEPALIVED is not set: run the tests with `npm test` (test/peers/keepalived.sh)',
      );
      execFileSync((JSON.parse(keepalivedPeer) as { binary: string }).binary, ['-t', '-f', file], { stdio: 'pipe' });
      const haproxy = content(machine, '/etc/haproxy/haproxy.cfg');
      for (const name of ['ha-cp-0', 'ha-cp-1', 'ha-cp-2'])
        assert.match(haproxy, new RegExp(`server ${name} ${name}:6443 check`));
      const pod = parse(content(machine, '/etc/kubernetes/manifests/keepalived.yaml')) as {
        kind: string;
        spec: { hostNetwork: boolean; containers: Array<{ image: string }> };
      };
      assert.equal(pod.kind, 'Pod');
      assert.equal(pod.spec.hostNetwork, true);
      assert.equal(pod.spec.containers[0]!.image, images.keepalivedImage);
      assert.equal(
        (
          parse(content(machine, '/etc/kubernetes/manifests/haproxy.yaml')) as {
            spec: { containers: Array<{ image: string }> };
          }
        ).spec.containers[0]!.image,
        images.haproxyImage,
      );
    }
    assert.ok(!worker.some((f) => f.path.startsWith('/etc/kubernetes/manifests/')), 'workers run no VIP pods');
    for (const machine of [...controlPlanes, worker])
      assert.match(
        content(machine, '/run/cx/kubeadm.yaml'),
        /192\.0\.2\.50:8443/,
        'every node reaches the API through the VIP',
      );
    const init = content(controlPlanes[0]!, '/run/cx/kubeadm.yaml');
    assert.match(init, /DirAvailable--etc-kubernetes-manifests/);
    assert.match(init, /- 192\.0\.2\.50/, 'the VIP is a name of the API serving certificate');

    const raw = process.env['CX_TEST_KUBERNETES'];
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    const kubeadm = (JSON.parse(raw) as { kubeadm: Record<string, string> }).kubeadm['1.37.2']!;
    for (const [i, machine] of [...controlPlanes, worker].entries()) {
      const file = join(dir, `kubeadm-${i}.yaml`);
      writeFileSync(file, content(machine, '/run/cx/kubeadm.yaml'));
      try {
        execFileSync(kubeadm, ['config', 'validate', '--config', file], { stdio: 'pipe' });
      } catch (error) {
        assert.fail(`kubeadm refused machine ${i}'s configuration: ${String((error as { stderr?: Buffer }).stderr)}`);
      }
    }
  });
  it("with vipManager kube-vip, runs kube-vip's static pod instead and reaches the API at VIP:6443, which kubeadm accepts", async () => {
    const pki = await createClusterPki('kv');
    const bootstrap: ClusterBootstrap = {
      clusterName: 'kv',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [pki.ca.certPem],
      controlPlane: { count: 3, vip: '192.0.2.60', vipInterface: 'ens192', vipManager: 'kube-vip' },
    };
    const spec = (name: string, role: MachineSpec['role']): MachineSpec => ({
      machineId: name,
      clusterId: 'c1',
      name,
      role,
      pool: role === 'worker' ? 'workers' : 'control-plane',
      kubernetesVersion: '1.37.2',
    });
    type Files = Array<{ path: string; content: string }>;
    const files = (m: MachineSpec): Files =>
      (parse(machineUserData(m, bootstrap, images)) as { write_files: Files }).write_files;
    type Pod = {
      kind: string;
      spec: {
        hostNetwork: boolean;
        containers: Array<{ image: string; args: string[]; env: Array<{ name: string; value: string }> }>;
        volumes: Array<{ hostPath: { path: string } }>;
      };
    };
    const kubeVipPod = (list: Files): Pod =>
      parse(
        list.find((f) => f.path === '/etc/kubernetes/manifests/kube-vip.yaml')?.content ??
          assert.fail('no kube-vip manifest'),
      ) as Pod;
    const [init, join1] = [files(spec('kv-cp-0', 'control-plane')), files(spec('kv-cp-1', 'control-plane'))];
    const worker = files(spec('kv-workers-0', 'worker'));
    for (const machine of [init!, join1!]) {
      assert.ok(
        !machine.some((f) => f.path.includes('keepalived') || f.path.includes('haproxy')),
        'no keepalived or haproxy with kube-vip',
      );
      const pod = kubeVipPod(machine);
      assert.equal(pod.kind, 'Pod');
      assert.equal(pod.spec.hostNetwork, true);
      assert.equal(pod.spec.containers[0]!.image, images.kubeVipImage);
      assert.deepEqual(pod.spec.containers[0]!.args, ['manager']);
      const env = Object.fromEntries(pod.spec.containers[0]!.env.map((e) => [e.name, e.value]));
      assert.deepEqual(
        [
          env['address'],
          env['vip_interface'],
          env['port'],
          env['vip_arp'],
          env['cp_enable'],
          env['vip_leaderelection'],
        ],
        ['192.0.2.60', 'ens192', '6443', 'true', 'true', 'true'],
      );
    }
    // kubeadm init's admin.conf is not bound to cluster-admin until init finishes: the first machine's kube-vip uses super-admin.conf.
    assert.equal(kubeVipPod(init!).spec.volumes[0]!.hostPath.path, '/etc/kubernetes/super-admin.conf');
    assert.equal(kubeVipPod(join1!).spec.volumes[0]!.hostPath.path, '/etc/kubernetes/admin.conf');
    assert.ok(!worker.some((f) => f.path.startsWith('/etc/kubernetes/manifests/')), 'workers run no VIP pods');
    const raw = process.env['CX_TEST_KUBERNETES'];
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    const kubeadm = (JSON.parse(raw) as { kubeadm: Record<string, string> }).kubeadm['1.37.2']!;
    const dir = mkdtempSync(join(tmpdir(), 'cx-kube-vip-'));
    for (const [i, machine] of [init!, join1!, worker].entries()) {
      const config = machine.find((f) => f.path === '/run/cx/kubeadm.yaml')!.content;
      assert.match(config, /192\.0\.2\.60:6443/, 'every node reaches the API at the VIP on the kube-apiserver port');
      const file = join(dir, `kubeadm-${i}.yaml`);
      writeFileSync(file, config);
      execFileSync(kubeadm, ['config', 'validate', '--config', file], { stdio: 'pipe' });
    }
  });
  it('with vipUnicast, keepalived finds its peers by host name: the start script fills in those that resolve, and real keepalived accepts the result', async () => {
    const pki = await createClusterPki('uc');
    const bootstrap: ClusterBootstrap = {
      clusterName: 'uc',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [pki.ca.certPem],
      controlPlane: { count: 3, vip: '192.0.2.80', vipInterface: 'eth0', vipUnicast: true },
    };
    type Files = Array<{ path: string; content: string }>;
    const machine: MachineSpec = {
      machineId: 'uc-cp-0',
      clusterId: 'c1',
      name: 'uc-cp-0',
      role: 'control-plane',
      pool: 'control-plane',
      kubernetesVersion: '1.37.2',
    };
    const files = (parse(machineUserData(machine, bootstrap, images)) as { write_files: Files }).write_files;
    const content = (path: string): string =>
      files.find((f) => f.path === path)?.content ?? assert.fail(`${path} is not written`);
    const pod = parse(content('/etc/kubernetes/manifests/keepalived.yaml')) as {
      spec: { containers: Array<{ command: string[] }>; volumes: Array<{ hostPath: { path: string; type: string } }> };
    };
    assert.deepEqual(pod.spec.containers[0]!.command, ['/bin/sh', '/etc/keepalived/start-unicast.sh']);
    assert.deepEqual(pod.spec.volumes[0]!.hostPath, { path: '/etc/keepalived', type: 'Directory' });
    assert.ok(
      !files.some((f) => f.path === '/etc/keepalived/keepalived.conf'),
      'the configuration is made at start, not written',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cx-unicast-'));
    writeFileSync(join(dir, 'keepalived.conf.in'), content('/etc/keepalived/keepalived.conf.in'));
    writeFileSync(join(dir, 'start.sh'), content('/etc/keepalived/start-unicast.sh'));
    // A resolver that knows cp-0 and cp-1 (cp-1 with an IPv6 address first), not yet cp-2, which is still booting.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const resolver = (known: Record<string, string>): void =>
      writeFileSync(
        join(bin, 'getent'),
        `#!/bin/sh\ncase "$2" in\n${Object.entries(known)
          .map(([name, lines]) => `  ${name}) printf '${lines}' ;;`)
          .join('\n')}\n  *) exit 2 ;;\nesac\n`,
        { mode: 0o755 },
      );
    const render = (): string =>
      execFileSync('/bin/sh', [join(dir, 'start.sh'), '--render'], {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env['PATH'] ?? ''}`,
          KEEPALIVED_TEMPLATE: join(dir, 'keepalived.conf.in'),
        },
        encoding: 'utf8',
      });
    resolver({ 'uc-cp-0': '192.0.2.10 uc-cp-0\\n', 'uc-cp-1': '2001:db8::11 uc-cp-1\\n192.0.2.11 uc-cp-1\\n' });
    const early = render();
    assert.match(early, /unicast_src_ip 192\.0\.2\.10\n/);
    assert.match(
      early,
      /unicast_peer \{\n {4}192\.0\.2\.11\n {2}\}/,
      "the resolved peer, in the VIP's family; the unresolved one is left out",
    );
    assert.doesNotMatch(early, /@/);
    const keepalivedPeer = process.env['CX_TEST_KEEPALIVED'];
    assert.ok(
      keepalivedPeer,
      'CX_TEST_KEEPALIVED is not set: run the tests with `npm test` (test/peers/keepalived.sh)',
    );
    const check = (text: string): void => {
      const file = join(dir, 'rendered.conf');
      writeFileSync(file, text);
      execFileSync((JSON.parse(keepalivedPeer) as { binary: string }).binary, ['-t', '-f', file], { stdio: 'pipe' });
    };
    check(early);
    resolver({
      'uc-cp-0': '192.0.2.10 uc-cp-0\\n',
      'uc-cp-1': '192.0.2.11 uc-cp-1\\n',
      'uc-cp-2': '192.0.2.12 uc-cp-2\\n',
    });
    const later = render();
    assert.match(
      later,
      /unicast_peer \{\n {4}192\.0\.2\.11\n {4}192\.0\.2\.12\n {2}\}/,
      'once cp-2 resolves it is a peer too',
    );
    check(later);
  });

  it('puts the API endpoint where the user data makes it answer: the VIP (haproxy or kube-vip), else the first control plane', async () => {
    const pki = await createClusterPki('demo');
    const bootstrap = (controlPlane?: ClusterBootstrap['controlPlane']): ClusterBootstrap => ({
      clusterName: 'demo',
      kubernetesVersion: '1.37.2',
      pki,
      trustedCaPems: [pki.ca.certPem],
      ...(controlPlane ? { controlPlane } : {}),
    });
    const spec = (name: string, role: MachineSpec['role']): MachineSpec => ({
      machineId: name,
      clusterId: 'c1',
      name,
      role,
      pool: role === 'worker' ? 'workers' : 'control-plane',
      kubernetesVersion: '1.37.2',
    });
    const addresses = ['198.51.100.11'];
    assert.equal(
      machineApiEndpoint(spec('demo-cp-0', 'control-plane'), bootstrap(), addresses),
      'https://198.51.100.11:6443',
    );
    assert.equal(machineApiEndpoint(spec('demo-cp-1', 'control-plane'), bootstrap(), addresses), undefined);
    assert.equal(machineApiEndpoint(spec('demo-cp-0', 'control-plane'), bootstrap(), []), undefined);
    assert.equal(machineApiEndpoint(spec('demo-workers-0', 'worker'), bootstrap(), addresses), undefined);
    const vip = bootstrap({ count: 3, vip: '198.51.100.200' });
    assert.equal(machineApiEndpoint(spec('demo-cp-2', 'control-plane'), vip, addresses), 'https://198.51.100.200:8443');
    assert.equal(
      machineApiEndpoint(
        spec('demo-cp-0', 'control-plane'),
        bootstrap({ count: 1, vip: 'fd00::20', vipManager: 'kube-vip' }),
        [],
      ),
      'https://[fd00::20]:6443',
    );
    assert.equal(machineApiEndpoint(spec('demo-workers-0', 'worker'), vip, addresses), undefined);
  });
});
