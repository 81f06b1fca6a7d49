import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterPki } from '@cx/k8s';
import type { ClusterBootstrap } from '@cx/sddc-contract';
import { runProviderConformance } from '@cx/sddc-contract/testing';
import { KwokProvider, type KwokBinaries } from './index.js';

const raw = process.env['CX_TEST_KUBERNETES'];
assert.ok(
  raw,
  'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
);
const binaries = JSON.parse(raw) as KwokBinaries;
const dataDir = await mkdtemp(join(tmpdir(), 'cx-kwok-'));
const bootstraps = new Map<string, Promise<ClusterBootstrap>>();
const provider = new KwokProvider({ dataDir, binaries });

runProviderConformance({
  name: 'kwok',
  create: async () => provider,
  // Binaries that are not there: the runtime cannot come up.
  unreachable: async () =>
    new KwokProvider({
      dataDir: await mkdtemp(join(tmpdir(), 'cx-kwok-broken-')),
      binaries: {
        ...binaries,
        etcd: '/nonexistent/etcd',
        kubeApiserver: Object.fromEntries(
          Object.keys(binaries.kubeApiserver).map((v) => [v, '/nonexistent/kube-apiserver']),
        ),
      },
    }),
  context: (clusterId) => ({
    bootstrap: () => {
      let bootstrap = bootstraps.get(clusterId);
      if (!bootstrap) {
        bootstrap = createClusterPki(clusterId).then((pki) => ({
          clusterName: clusterId,
          kubernetesVersion: provider.kubernetesVersions[0]!,
          pki,
          trustedCaPems: [pki.ca.certPem],
        }));
        bootstraps.set(clusterId, bootstrap);
      }
      return bootstrap;
    },
  }),
  settleTimeoutMs: 60_000,
});
