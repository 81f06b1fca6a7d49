import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import {
  bootstrapToken,
  caCertHash,
  createClusterPki,
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

  it('writes the CAs only to control-plane machines', () => {
    const controlPlane = renderCloudInit(machine({ role: 'join-control-plane', nodeName: 'demo-cp-1' }), pki);
    const worker = renderCloudInit(machine({ role: 'join-worker', nodeName: 'demo-w-0' }), pki);
    assert.match(controlPlane, /^#cloud-config\n/);
    const paths = (text: string): string[] =>
      (parse(text) as { write_files: Array<{ path: string }> }).write_files.map((f) => f.path);
    assert.ok(paths(controlPlane).includes('/etc/kubernetes/pki/ca.key'));
    assert.deepEqual(paths(worker), ['/run/cx/kubeadm.yaml']);
    assert.ok(!worker.includes('PRIVATE KEY'), 'no private key reaches a worker');
  });

  it('passes `kubeadm config validate` of the real kubeadm, for every role', () => {
    for (const [version, kubeadm] of Object.entries(kubeadmBinaries())) {
      for (const role of ['init', 'join-control-plane', 'join-worker'] as const) {
        const file = join(dir, `${version}-${role}.yaml`);
        writeFileSync(file, renderKubeadmConfig(machine({ role, kubernetesVersion: version }), pki.ca.certPem));
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
