import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import {
  bootstrapToken,
  caCertHash,
  CONTROL_PLANE_TAINT,
  createClusterPki,
  KUBEADM_ATTEMPTS,
  renderBootstrapScript,
  renderCloudInit,
  renderKubeadmConfig,
  type ClusterPki,
  type KubeadmMachine,
} from './index.js';

/** The kubeadm binaries `npm test` built (test/peers/kubernetes.sh), by Kubernetes version. */
function kubeadmBinaries(): Record<string, string> {
  const raw = process.env['CX_TEST_KUBERNETES'];
  assert.ok(
    raw,
    'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
  );
  return (JSON.parse(raw) as { kubeadm: Record<string, string> }).kubeadm;
}

const machine = (overrides: Partial<KubeadmMachine>): KubeadmMachine => ({
  clusterName: 'demo',
  kubernetesVersion: '1.36.3',
  controlPlaneEndpoint: '192.0.2.10:6443',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
  certSans: ['192.0.2.10', 'demo.example'],
  nodeName: 'demo-cp-0',
  role: 'init',
  schedulableControlPlane: false,
  labels: { 'cx.dev/pool': 'control-plane' },
  taints: [],
  bootstrapToken: bootstrapToken(),
  ...overrides,
});

describe('kubeadm configuration', () => {
  let pki: ClusterPki;
  let dir: string;
  before(async () => {
    pki = await createClusterPki('demo');
    dir = mkdtempSync(join(tmpdir(), 'cx-kubeadm-'));
  });

  it('pins the CA the way kubeadm does (SHA-256 of its public key info)', () => {
    writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
    const pubkey = execFileSync('openssl', ['x509', '-in', join(dir, 'ca.pem'), '-noout', '-pubkey']);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pubkey });
    const expected = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der, encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .pop();
    assert.equal(caCertHash(pki.ca.certPem), `sha256:${expected}`);
    assert.match(bootstrapToken(), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  });

  it('taints control planes unless the cluster is converged, and joins workers with the CA pin', () => {
    const init = parseAllDocuments(renderKubeadmConfig(machine({}), pki.ca.certPem)).map(
      (d) => d.toJSON() as Record<string, any>,
    );
    assert.deepEqual(
      init.map((d) => d['kind']),
      ['InitConfiguration', 'ClusterConfiguration'],
    );
    assert.deepEqual(init[0]!['nodeRegistration'].taints, [
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    assert.equal(init[1]!['kubernetesVersion'], 'v1.36.3');
    const converged = parseAllDocuments(
      renderKubeadmConfig(machine({ schedulableControlPlane: true }), pki.ca.certPem),
    ).map((d) => d.toJSON() as Record<string, any>);
    assert.deepEqual(converged[0]!['nodeRegistration'].taints, []);
    const worker = parse(
      renderKubeadmConfig(
        machine({
          role: 'join-worker',
          nodeName: 'demo-w-0',
          taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
        }),
        pki.ca.certPem,
      ),
    ) as Record<string, any>;
    assert.equal(worker['kind'], 'JoinConfiguration');
    assert.deepEqual(worker['discovery'].bootstrapToken.caCertHashes, [caCertHash(pki.ca.certPem)]);
    assert.deepEqual(worker['nodeRegistration'].taints, [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(worker['controlPlane'], undefined);
  });

  it('taints a control plane once when its taints already carry the control-plane taint, as wfm sends them', () => {
    for (const role of ['init', 'join-control-plane'] as const) {
      const docs = parseAllDocuments(
        renderKubeadmConfig(
          machine({ role, taints: [CONTROL_PLANE_TAINT, { key: 'zone', value: 'a', effect: 'NoSchedule' }] }),
          pki.ca.certPem,
        ),
      ).map((d) => d.toJSON() as Record<string, any>);
      // The API server refuses taints that repeat a key and effect ("taints must be unique by key and effect pair").
      assert.deepEqual(docs[0]!['nodeRegistration'].taints, [
        CONTROL_PLANE_TAINT,
        { key: 'zone', value: 'a', effect: 'NoSchedule' },
      ]);
    }
  });

  it("gives slow machines more time than kubeadm's defaults, on init and on join", () => {
    for (const role of ['init', 'join-control-plane', 'join-worker'] as const) {
      const first = parseAllDocuments(renderKubeadmConfig(machine({ role }), pki.ca.certPem))[0]!.toJSON() as Record<
        string,
        any
      >;
      assert.equal(first['timeouts'].kubernetesAPICall, '5m0s', role);
      assert.equal(first['timeouts'].controlPlaneComponentHealthCheck, '15m0s', role);
    }
  });

  it('writes the CAs only to control-plane machines', () => {
    const controlPlane = renderCloudInit(machine({ role: 'join-control-plane', nodeName: 'demo-cp-1' }), pki);
    const worker = renderCloudInit(machine({ role: 'join-worker', nodeName: 'demo-w-0' }), pki);
    assert.match(controlPlane, /^#cloud-config\n/);
    const paths = (text: string): string[] =>
      (parse(text) as { write_files: Array<{ path: string }> }).write_files.map((f) => f.path);
    assert.ok(paths(controlPlane).includes('/etc/kubernetes/pki/ca.key'));
    assert.deepEqual(paths(worker), ['/run/cx/kubeadm.yaml', '/usr/local/sbin/cx-bootstrap']);
    assert.deepEqual((parse(worker) as { runcmd: string[][] }).runcmd, [['/usr/local/sbin/cx-bootstrap']]);
    assert.ok(!worker.includes('PRIVATE KEY'), 'no private key reaches a worker');
  });

  it('gives a control plane that joins after others a kubeconfig of the bootstrap token to see when its turn comes', () => {
    const token = bootstrapToken();
    const first = renderCloudInit(
      machine({ role: 'join-control-plane', nodeName: 'demo-cp-1', bootstrapToken: token }),
      pki,
    );
    const later = renderCloudInit(
      machine({
        role: 'join-control-plane',
        nodeName: 'demo-cp-2',
        bootstrapToken: token,
        joinAfter: ['demo-cp-0', 'demo-cp-1'],
      }),
      pki,
    );
    const files = (text: string): Array<{ path: string; content: string }> =>
      (parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files;
    assert.ok(!files(first).some((f) => f.path === '/run/cx/join-turn.kubeconfig'));
    const kubeconfig = parse(files(later).find((f) => f.path === '/run/cx/join-turn.kubeconfig')!.content);
    assert.equal(kubeconfig.clusters[0].cluster.server, 'https://192.0.2.10:6443');
    assert.equal(
      Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      pki.ca.certPem,
    );
    assert.equal(kubeconfig.users[0].user.token, token);
    const script = files(later).find((f) => f.path === '/usr/local/sbin/cx-bootstrap')!.content;
    assert.ok(script.indexOf('get node demo-cp-0') < script.indexOf('get node demo-cp-1'));
    assert.ok(script.indexOf('get node demo-cp-1') < script.indexOf('kubeadm join'));
  });

  it('passes `kubeadm config validate` of the real kubeadm, for every role', () => {
    for (const [version, kubeadm] of Object.entries(kubeadmBinaries())) {
      for (const role of ['init', 'join-control-plane', 'join-worker'] as const) {
        const file = join(dir, `${version}-${role}.yaml`);
        const taints = role === 'join-worker' ? [] : [CONTROL_PLANE_TAINT];
        writeFileSync(file, renderKubeadmConfig(machine({ role, kubernetesVersion: version, taints }), pki.ca.certPem));
        try {
          execFileSync(kubeadm, ['config', 'validate', '--config', file], { stdio: 'pipe' });
        } catch (error) {
          assert.fail(
            `kubeadm ${version} refused the ${role} configuration: ${String((error as { stderr?: Buffer }).stderr)}`,
          );
        }
      }
    }
  });
});

/**
 * Runs the bootstrap script as cloud-init would, in a mount namespace where /etc and /var/lib are
 * scratch directories and `kubeadm` is a stand-in that fails a given number of times and, like the
 * real `kubeadm reset`, deletes /etc/kubernetes/pki and the static pods.
 */
function runBootstrap(
  failures: number,
  controlPlaneStarts = false,
  leftover = false,
  role: 'init' | 'join-control-plane' = 'init',
): { status: number | null; calls: string[]; caKey: string | null } {
  const dir = mkdtempSync(join(tmpdir(), 'cx-bootstrap-'));
  for (const sub of ['etc/kubernetes/pki', 'etc/kubernetes/manifests', 'var-lib', 'bin'])
    mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'etc/kubernetes/pki/ca.key'), 'the cluster CA key');
  writeFileSync(join(dir, 'etc/kubernetes/manifests/keepalived.yaml'), 'a static pod');
  // An earlier cluster's control plane on a reused host's disk.
  if (leftover)
    writeFileSync(
      join(dir, role === 'init' ? 'etc/kubernetes/admin.conf' : 'etc/kubernetes/manifests/etcd.yaml'),
      'an earlier cluster',
    );
  writeFileSync(
    join(dir, 'bin/kubeadm'),
    [
      '#!/bin/sh',
      `case "$*" in *--skip-phases=preflight,certs,kubeconfig,etcd,control-plane,kubelet-start*|*--skip-phases=preflight,control-plane-prepare,check-etcd,kubelet-start*) echo "$1 resumed" >> ${dir}/calls ;; *) echo "$1" >> ${dir}/calls ;; esac`,
      // A control plane that starts: kubeadm init writes its manifest and admin.conf, a control
      // plane's join the kubelet's configuration and (once its etcd member is added) etcd's manifest, before either can fail.
      ...(controlPlaneStarts
        ? [
            '[ "$1" = init ] && touch /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/admin.conf',
            '[ "$1" = join ] && mkdir -p /var/lib/kubelet && touch /var/lib/kubelet/config.yaml /etc/kubernetes/manifests/etcd.yaml',
          ]
        : []),
      'case "$1" in',
      '  reset) rm -rf /etc/kubernetes/pki /etc/kubernetes/manifests /etc/kubernetes/admin.conf /var/lib/kubelet; exit 0 ;;',
      `  *) [ -f /etc/kubernetes/pki/ca.key ] && [ -f /etc/kubernetes/manifests/keepalived.yaml ] || { echo "${dir}: cx's files are gone" >> ${dir}/calls; exit 1; }`,
      `     [ "$(grep -c -v reset ${dir}/calls)" -gt ${failures} ] ;;`,
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'bin/kubeadm'), 0o755);
  const script = renderBootstrapScript(
    ['kubeadm', role === 'init' ? 'init' : 'join', '--config', '/run/cx/kubeadm.yaml'],
    role,
    true,
  ).replace(/sleep \d+/, 'sleep 0');
  writeFileSync(join(dir, 'bootstrap'), script);
  const result = spawnSync(
    'unshare',
    [
      '--mount',
      'sh',
      '-c',
      `mount --bind ${dir}/etc /etc && mount --bind ${dir}/var-lib /var/lib && PATH=${dir}/bin:$PATH sh ${dir}/bootstrap; status=$?; cp /etc/kubernetes/pki/ca.key ${dir}/ca.key.after 2>/dev/null; exit $status`,
    ],
    { encoding: 'utf8' },
  );
  let caKey: string | null = null;
  try {
    caKey = readFileSync(join(dir, 'ca.key.after'), 'utf8');
  } catch {
    caKey = null;
  }
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
  return { status: result.status, calls, caKey };
}

describe('the bootstrap script cloud-init runs', () => {
  const canIsolate = spawnSync('unshare', ['--mount', 'true']).status === 0;

  it('joins a control plane only once those before it are Ready nodes, one after the other', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-join-turn-'));
    mkdirSync(join(dir, 'bin'));
    // kubectl answers Ready=False twice for demo-cp-0, then True; demo-cp-1 is Ready at once.
    writeFileSync(
      join(dir, 'bin/kubectl'),
      [
        '#!/bin/sh',
        'node=$(echo "$*" | sed -n "s/.*get node \\([^ ]*\\).*/\\1/p")',
        `echo "kubectl $node" >> ${dir}/calls`,
        `[ "$node" = demo-cp-0 ] && [ "$(grep -c demo-cp-0 ${dir}/calls)" -le 2 ] && { printf False; exit 0; }`,
        'printf True',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'bin/kubeadm'), `#!/bin/sh\necho "kubeadm $1" >> ${dir}/calls\n`);
    chmodSync(join(dir, 'bin/kubectl'), 0o755);
    chmodSync(join(dir, 'bin/kubeadm'), 0o755);
    const script = renderBootstrapScript(
      ['kubeadm', 'join', '--config', '/run/cx/kubeadm.yaml'],
      'join-control-plane',
      false,
      ['demo-cp-0', 'demo-cp-1'],
    ).replace(/sleep \d+/g, 'sleep 0');
    const result = spawnSync('sh', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}/bin:${process.env['PATH']}` },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'), [
      'kubectl demo-cp-0',
      'kubectl demo-cp-0',
      'kubectl demo-cp-0',
      'kubectl demo-cp-1',
      'kubeadm join',
    ]);
    assert.match(result.stderr, /waiting for demo-cp-0 to be Ready before joining the control plane/);
  });

  it(
    'retries a failed kubeadm after undoing it, with the files kubeadm reset deleted put back',
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(KUBEADM_ATTEMPTS - 1);
      assert.equal(run.status, 0, run.calls.join(', '));
      assert.deepEqual(run.calls, ['init', 'reset', 'init', 'reset', 'init']);
      assert.equal(run.caKey, 'the cluster CA key');
    },
  );

  it(
    'resumes a failed kubeadm init from the wait for its control plane once that runs, without undoing it',
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(KUBEADM_ATTEMPTS - 1, true);
      assert.equal(run.status, 0, run.calls.join(', '));
      assert.deepEqual(run.calls, ['init', 'init resumed', 'init resumed']);
      assert.equal(run.caKey, 'the cluster CA key');
    },
  );

  it(
    "resumes a control plane's failed join from etcd-join once its etcd member was added, without undoing it",
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(KUBEADM_ATTEMPTS - 1, true, false, 'join-control-plane');
      assert.equal(run.status, 0, run.calls.join(', '));
      assert.deepEqual(run.calls, ['join', 'join resumed', 'join resumed']);
      assert.equal(run.caKey, 'the cluster CA key');
    },
  );

  it(
    "never resumes the join of an earlier cluster's control plane left on a reused host: it is reset first",
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(1, true, true, 'join-control-plane');
      assert.equal(run.status, 0, run.calls.join(', '));
      assert.deepEqual(run.calls, ['join', 'reset', 'join']);
    },
  );

  it(
    "never resumes an earlier cluster's control plane left on a reused host: it is reset first",
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(1, true, true);
      assert.equal(run.status, 0, run.calls.join(', '));
      assert.deepEqual(run.calls, ['init', 'reset', 'init']);
      assert.equal(run.caKey, 'the cluster CA key');
    },
  );

  it(
    `gives up after ${KUBEADM_ATTEMPTS} failed attempts, with a failing status`,
    { skip: !canIsolate && 'needs root for a mount namespace (unshare --mount)' },
    () => {
      const run = runBootstrap(KUBEADM_ATTEMPTS);
      assert.equal(run.status, 1);
      assert.deepEqual(run.calls, ['init', 'reset', 'init', 'reset', 'init']);
    },
  );
});
