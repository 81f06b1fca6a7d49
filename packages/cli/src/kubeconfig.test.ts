import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  defaultKubeconfigPath,
  entryNames,
  execCredential,
  execKubeconfig,
  mergeKubeconfig,
  readIssued,
  type Kubeconfig,
} from './kubeconfig.js';

const pem = (kind: string): string => `-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----\n`;
const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** What GET /api/v1/clusters/{id}/kubeconfig answers (packages/k8s renderKubeconfig's shape). */
const issuedYaml = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    {
      name: 'demo',
      cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64(pem('CERTIFICATE')) },
    },
  ],
  users: [
    {
      name: 'admin',
      user: { 'client-certificate-data': b64(pem('CERTIFICATE')), 'client-key-data': b64(pem('EC PRIVATE KEY')) },
    },
  ],
  contexts: [{ name: 'admin@demo', context: { cluster: 'demo', user: 'admin' } }],
  'current-context': 'admin@demo',
});

describe('kubeconfig with the exec credential plugin', () => {
  const issued = readIssued(issuedYaml);
  const input = {
    server: 'http://cx.example.com:8080',
    contextName: 'admin@cx.example.com:8080',
    username: 'admin',
    clusterName: 'demo',
    clusterId: 'c-1',
    issued,
    exec: ['/usr/bin/node', '/opt/cx/main.js'],
  };

  it("reads the API's kubeconfig: address, CA, certificate and key as PEM", () => {
    assert.equal(issued.server, 'https://127.0.0.1:6443');
    assert.equal(issued.clientKeyPem, pem('EC PRIVATE KEY'));
    assert.throws(() => readIssued('apiVersion: v1\nclusters: []\n'), /without a cluster address/);
  });

  it('prints an ExecCredential client-go accepts', () => {
    assert.deepEqual(execCredential(issued, '2030-01-01T01:00:00.000Z'), {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: {
        clientCertificateData: pem('CERTIFICATE'),
        clientKeyData: pem('EC PRIVATE KEY'),
        expirationTimestamp: '2030-01-01T01:00:00.000Z',
      },
    });
  });

  it('names entries per server, cluster and user, and runs cx with the context that signed in', () => {
    assert.deepEqual(entryNames(input), {
      cluster: 'demo.cx.example.com:8080',
      user: 'admin@demo.cx.example.com:8080',
    });
    const config = execKubeconfig(input);
    assert.equal(config['current-context'], 'admin@demo.cx.example.com:8080');
    assert.deepEqual(config.users[0]!.user, {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/usr/bin/node',
        args: ['/opt/cx/main.js', '--context', 'admin@cx.example.com:8080', 'kubeconfig', 'credential', 'c-1'],
        interactiveMode: 'Never',
        provideClusterInfo: false,
        installHint: 'cx is the cx CLI (npm: packages/cli); sign in again with cx login when it says so',
      },
    });
    assert.equal(JSON.stringify(config).includes(b64(pem('EC PRIVATE KEY'))), false, 'no key in the file');
  });

  it('merges into an existing kubeconfig: others kept, its own entries replaced, made current', () => {
    const existing: Kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'other',
      clusters: [
        { name: 'other', cluster: {} },
        { name: 'demo.cx.example.com:8080', cluster: { server: 'old' } },
      ],
      users: [{ name: 'other', user: {} }],
      contexts: [{ name: 'other', context: {} }],
      preferences: { colors: true },
    };
    const merged = mergeKubeconfig(existing, execKubeconfig(input));
    assert.deepEqual(
      merged.clusters.map((c) => c.name),
      ['other', 'demo.cx.example.com:8080'],
    );
    assert.equal((merged.clusters[1]!.cluster as { server: string }).server, 'https://127.0.0.1:6443');
    assert.equal(merged.users.length, 2);
    assert.equal(merged['current-context'], 'admin@demo.cx.example.com:8080');
    assert.deepEqual(merged.preferences, { colors: true });
    assert.equal(mergeKubeconfig(undefined, execKubeconfig(input)).clusters.length, 1);
  });

  it("merges into KUBECONFIG's first file, else ~/.kube/config", () => {
    assert.equal(defaultKubeconfigPath({ KUBECONFIG: '/a/config:/b/config' }), '/a/config');
    assert.match(defaultKubeconfigPath({}), /\.kube\/config$/);
  });
});
