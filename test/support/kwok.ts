/**
 * e2e set-up on the kwok runtime: the Kubernetes peers `npm test` builds (CX_TEST_KUBERNETES), cx
 * started with them, and a cluster created through the public API with the admin's kubeconfig.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCx, type Api, type CxProcess, type StartOptions } from './cx.js';

export interface KubernetesPeer {
  /** The manifest as `test/peers/kubernetes.sh` printed it. */
  raw: string;
  /** Kubernetes versions with a kube-apiserver built, oldest first. */
  versions: string[];
  kubectl: string;
}

export function kubernetesPeer(): KubernetesPeer {
  const raw = process.env['CX_TEST_KUBERNETES'];
  assert.ok(
    raw,
    'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
  );
  const manifest = JSON.parse(raw) as { kubeApiserver: Record<string, string>; kubectl?: string };
  return { raw, versions: Object.keys(manifest.kubeApiserver).sort(), kubectl: manifest.kubectl ?? 'kubectl' };
}

/** cx serving the kwok provider with the peers' binaries (their manifest is written into `work`). */
export async function startKwokCx(peer: KubernetesPeer, work: string, options: StartOptions = {}): Promise<CxProcess> {
  const binariesFile = join(work, 'binaries.json');
  writeFileSync(binariesFile, peer.raw);
  return startCx({ ...options, env: { CX_KWOK_BINARIES_FILE: binariesFile, ...options.env } });
}

/** Creates a cluster, waits for its create workflow to succeed, and writes the caller's kubeconfig into `work`. */
export async function createCluster(
  api: Api,
  work: string,
  body: Record<string, unknown>,
): Promise<{ clusterId: string; kubeconfig: string }> {
  const created = await api.call('POST', '/api/v1/clusters', body);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const clusterId = created.body.cluster.id as string;
  const run = await api.waitForWorkflow(created.body.workflow.id, ['Succeeded', 'Failed'], 180_000);
  assert.equal(run.status, 'Succeeded', JSON.stringify(run.steps));
  const kubeconfig = join(work, `${clusterId}.kubeconfig`);
  writeFileSync(kubeconfig, (await api.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).body as string, {
    mode: 0o600,
  });
  return { clusterId, kubeconfig };
}

/**
 * Writes into `work` a Deployment of `replicas` pods that tolerate every taint but stay off the
 * control plane (pods a drain must move off workers), and answers the file's path for `kubectl apply -f`.
 */
export function workersDeployment(work: string, name: string, replicas: number): string {
  const file = join(work, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name, image: `registry.example/${name}:1` }],
            tolerations: [{ operator: 'Exists' }],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] },
                  ],
                },
              },
            },
          },
        },
      },
    }),
  );
  return file;
}
