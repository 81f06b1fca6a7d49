/**
 * Nodes of clusters on real infrastructure, read through their Kubernetes API: what a provider
 * without its own NodeReader (all but sim) reports for `list-nodes` and the health monitor.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { CxError } from '@cx/errors';
import { nodeLiveState, takesWorkloads } from '@cx/k8s';
import type { MachineStatus, NodeReader, NodeStatus, Provider } from '@cx/sddc-contract';
import type { SmClient, TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

/** Readers made by `tenantNodeReader`: they see nothing of a cluster without a Kubernetes API. */
const throughTenantApi = new WeakSet<NodeReader>();

/**
 * The cluster's nodes that belong to its machines (matched by name: the kubelet registers under the
 * machine's host name), with the kubelet's Ready condition and version, and what the live node
 * list shows of each (cordon, labels, taints, conditions).
 */
export async function listTenantNodes(
  credentials: TenantAdminCredentials,
  machines: MachineStatus[],
): Promise<NodeStatus[]> {
  const byName = new Map(machines.map((m) => [m.name, m]));
  const nodes = (await tenantCall(() => client(credentials).makeApiClient(CoreV1Api).listNode())).items;
  return nodes.flatMap((node) => {
    const machine = byName.get(node.metadata?.name ?? '');
    if (!machine) return [];
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const controlPlane = node.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined;
    return [
      {
        name: machine.name,
        machineId: machine.machineId,
        role: controlPlane ? ('control-plane' as const) : ('worker' as const),
        status: ready ? ('Ready' as const) : ('NotReady' as const),
        kubernetesVersion: (node.status?.nodeInfo?.kubeletVersion ?? '').replace(/^v/, ''),
        schedulable: takesWorkloads(node),
        live: nodeLiveState(node),
      },
    ];
  });
}

/**
 * Nodes of a cluster on real infrastructure, as its Kubernetes API reports them: each node is the
 * machine of the same name (the kubelet registers under the machine's host name). Until the
 * cluster has an API (its control plane is still booting) there are none.
 */
export function tenantNodeReader(provider: Provider, sm: SmClient): NodeReader {
  const reader: NodeReader = {
    async listNodes(clusterId: string): Promise<NodeStatus[]> {
      let credentials;
      try {
        credentials = await sm.adminCredentials(clusterId);
      } catch (error) {
        // sm answers CX_CONFLICT while the cluster has no API endpoint yet.
        if (error instanceof CxError && error.code === 'CX_CONFLICT') return [];
        throw error;
      }
      const machines = await provider.listMachines(clusterId);
      return listTenantNodes(credentials, machines);
    },
  };
  throughTenantApi.add(reader);
  return reader;
}

/** Whether a reader is one of `tenantNodeReader`'s, which answers "no nodes" for a cluster without a Kubernetes API. */
export function readsThroughTenantApi(reader: NodeReader): boolean {
  return throughTenantApi.has(reader);
}
