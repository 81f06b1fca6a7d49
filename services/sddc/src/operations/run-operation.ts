/**
 * What one job of the `sddc-operations` queue does, by its `op`: the work inside a tenant cluster
 * goes through its Kubernetes API with the admin credentials sm signs for it, the rest through the
 * cluster's provider (machines.ts). The answer is the job's return value, which the workflow step
 * that asked reads.
 */
import type { EgressPolicy } from '@cx/k8s';
import type { SddcOperation } from '@cx/queue-contracts';
import type { ProviderDirectory } from '../providers/provider-directory.js';
import type { SmClient } from '@cx/sm-contract';
import { configureAccess } from './access.js';
import { addonStatus, applyAddon, removeAddon } from './addons.js';
import { validateBmcAccess, validateCredential } from './credentials.js';
import { dashboardToken } from './dashboard.js';
import { applyHaConfig, matchNodes, removeHaConfig } from './ha-config.js';
import { runMachineOperation } from './machines.js';
import { runPerMachine } from './per-machine.js';
import { cordon, drainOnce, markOutOfService, setScheduling } from './nodes.js';

/** Settings of sddc the operations need: the token that opens sealed payloads, images, the egress policy. */
export interface OperationSettings {
  serviceToken: string;
  keepalivedImage: string;
  haproxyImage: string;
  kubeVipImage: string;
  egress: EgressPolicy;
  /** How many machines of one per-machine operation run at once (sddc.concurrency). */
  concurrency: number;
}

export async function runOperation(
  providers: ProviderDirectory,
  operation: SddcOperation,
  sm: SmClient,
  settings: OperationSettings,
): Promise<unknown> {
  const { serviceToken } = settings;
  switch (operation.op) {
    case 'per-machine':
      return runPerMachine(operation, settings.concurrency, (item) => runOperation(providers, item, sm, settings));
    case 'validate-credential':
      return validateCredential(providers, operation, serviceToken);
    case 'validate-bmc':
      return validateBmcAccess(operation, serviceToken);
    case 'configure-access':
      return configureAccess(await sm.adminCredentials(operation.clusterId));
    case 'cordon-node':
      return cordon(await sm.adminCredentials(operation.clusterId), operation.nodeName, operation.unschedulable);
    case 'set-node-scheduling':
      return setScheduling(
        await sm.adminCredentials(operation.clusterId),
        operation.nodeName,
        operation.scheduling,
        operation.previous,
      );
    case 'drain-node':
      return drainOnce(await sm.adminCredentials(operation.clusterId), operation.nodeName);
    case 'mark-out-of-service':
      return markOutOfService(
        await sm.adminCredentials(operation.clusterId),
        operation.nodeName,
        operation.outOfService,
      );
    case 'match-nodes':
      return matchNodes(await sm.adminCredentials(operation.clusterId), operation.selector);
    case 'dashboard-token':
      return dashboardToken(await sm.adminCredentials(operation.clusterId), operation.role);
    case 'apply-ha-config':
      return applyHaConfig(
        await sm.adminCredentials(operation.clusterId),
        operation.haConfig,
        settings.keepalivedImage,
      );
    case 'remove-ha-config':
      return removeHaConfig(await sm.adminCredentials(operation.clusterId), operation.name);
    case 'apply-addon':
      return applyAddon(await sm.adminCredentials(operation.clusterId), operation.addon, serviceToken, settings.egress);
    case 'remove-addon':
      return removeAddon(
        await sm.adminCredentials(operation.clusterId),
        operation.addon,
        serviceToken,
        operation.phase,
      );
    case 'addon-status':
      return addonStatus(
        await sm.adminCredentials(operation.clusterId),
        operation.addon,
        serviceToken,
        operation.objects,
      );
    default:
      return runMachineOperation(providers, operation, sm, settings);
  }
}
