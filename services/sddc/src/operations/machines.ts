/**
 * Operations a cluster's provider carries out on its machines: ensure (with the user data that
 * makes a machine join), delete, list, power, the check of an OS image, the nodes as the provider
 * reads them, and etcd snapshots (etcd.ts). The provider is resolved per cluster, so that a
 * credentialed one connects with the credential of the cluster's resource group.
 */
import { InputError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { ClusterBootstrap } from '@cx/sddc-contract';
import type { ProviderDirectory } from '../providers/provider-directory.js';
import type { SmClient } from '@cx/sm-contract';
import { restoreEtcdSnapshot, takeEtcdSnapshot } from './etcd.js';
import { machineApiEndpoint, machineUserData, type VipImages } from './user-data.js';

/** The operations that go through the cluster's provider. */
export type MachineOperation = Extract<
  SddcOperation,
  {
    op:
      | 'ensure-machine'
      | 'delete-machine'
      | 'list-machines'
      | 'list-nodes'
      | 'check-image'
      | 'set-power'
      | 'power-state'
      | 'etcd-snapshot'
      | 'etcd-restore';
  }
>;

export async function runMachineOperation(
  providers: ProviderDirectory,
  operation: MachineOperation,
  sm: SmClient,
  images: VipImages,
): Promise<unknown> {
  const clusterId = operation.op === 'ensure-machine' ? operation.spec.clusterId : operation.clusterId;
  const { provider, nodes } = await providers.resolve(operation.provider, clusterId);
  switch (operation.op) {
    case 'ensure-machine': {
      const bootstrap = (): Promise<ClusterBootstrap> => sm.bootstrap(clusterId);
      const status = await provider.ensureMachine(operation.spec, {
        bootstrap,
        userData: async () => machineUserData(operation.spec, await bootstrap(), images),
      });
      // Booted hosts serve the API where their user data puts it; the provider only drives BMCs.
      // (vSphere and OpenStack machines would too, once their tests boot real guests.)
      if (status.apiEndpoint || !provider.capabilities.bareMetalHosts) return status;
      const apiEndpoint = machineApiEndpoint(operation.spec, await bootstrap(), status.addresses);
      return apiEndpoint ? { ...status, apiEndpoint } : status;
    }
    case 'delete-machine':
      await provider.deleteMachine(operation.clusterId, operation.machineId);
      return { deleted: true };
    case 'list-machines':
      return provider.listMachines(operation.clusterId);
    case 'list-nodes': {
      const listed = await nodes.listNodes(operation.clusterId);
      // Ready nodes have joined: a provider withdraws the secrets it booted them with (rule O5).
      const ready = listed.filter((node) => node.status === 'Ready').map((node) => node.machineId);
      if (provider.nodesJoined && ready.length > 0) await provider.nodesJoined(operation.clusterId, ready);
      return listed;
    }
    case 'check-image':
      if (!provider.checkImage)
        throw new InputError(`provider ${operation.provider} has no OS images to choose from`, [
          { field: 'body.image', message: `not for provider ${operation.provider}` },
        ]);
      await provider.checkImage(operation.image);
      return { valid: true };
    case 'set-power':
      await provider.setPower(operation.clusterId, operation.machineId, operation.action);
      return { powerState: await provider.getPowerState(operation.clusterId, operation.machineId) };
    case 'power-state':
      return { powerState: await provider.getPowerState(operation.clusterId, operation.machineId) };
    case 'etcd-snapshot':
      return takeEtcdSnapshot(provider, sm, operation);
    case 'etcd-restore':
      return restoreEtcdSnapshot(provider, sm, operation);
  }
}
