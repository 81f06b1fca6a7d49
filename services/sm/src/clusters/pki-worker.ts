/** Worker-thread entry of PkiGenerator: builds a cluster's PKI off sm's event loop (machines with a core to spare). */
import { createClusterPki, type ClusterPki } from '@cx/k8s';

export default function generate(clusterName: string): Promise<ClusterPki> {
  return createClusterPki(clusterName);
}
