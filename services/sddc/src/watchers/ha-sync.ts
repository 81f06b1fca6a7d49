/**
 * Keeps ha-configs right when nodes join, leave or change labels (seed 001). Each time the node
 * health monitor looks at a cluster it already holds the list of its nodes; for every ha-config of
 * the cluster, the nodes its selector matches now are compared with those its last apply configured
 * (recorded by the `ha-config.apply` workflow). When they differ, wfm is asked, on the queue
 * `ha-config-syncs`, to apply the ha-config again; when no node matches any more, nothing is applied
 * (keepalived keeps running as last applied) and the ha-config's status says so.
 *
 * Only a Ready cluster that no workflow holds is compared: during a create, scale, upgrade or
 * remediation the nodes are expected to move, and the cluster is compared again once it is done.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { Queue } from 'bullmq';
import type { Cluster, HaConfig, HaConfigNode, HaConfigStatus } from '@cx/api-schemas';
import {
  FINISHED_JOB_RETENTION,
  HA_CONFIG_SYNC_RETRY,
  haConfigSyncJobId,
  type HaConfigSyncRequest,
} from '@cx/queue-contracts';
import type { Logger } from '@cx/service-kit';
import { selectNodes } from '../operations/ha-config.js';
import type { HealthTarget, SmClient } from '@cx/sm-contract';

type Sync = NonNullable<HaConfigStatus['sync']>;

/** What one look found for one ha-config. */
export interface HaConfigComparison {
  haConfig: HaConfig;
  /** The status to record (`since` is the time of the look). */
  sync: Sync;
  /** Present when the ha-config must be applied again. */
  request?: HaConfigSyncRequest;
}

/** Names listed in a status message before "and N more". */
const LISTED = 10;

function names(nodes: readonly HaConfigNode[]): string {
  const shown = nodes
    .slice(0, LISTED)
    .map((n) => n.name)
    .join(', ');
  return nodes.length > LISTED ? `${shown} and ${nodes.length - LISTED} more` : shown;
}

/** What changed between two sets of nodes, in words: "ha-edge-3 joined; ha-edge-1 left". */
export function describeChange(applied: readonly HaConfigNode[], matching: readonly HaConfigNode[]): string {
  const before = new Map(applied.map((n) => [n.name, n.address]));
  const now = new Map(matching.map((n) => [n.name, n.address]));
  const joined = matching.filter((n) => !before.has(n.name));
  const left = applied.filter((n) => !now.has(n.name));
  const moved = matching.filter((n) => before.has(n.name) && before.get(n.name) !== n.address);
  return [
    ...(joined.length > 0 ? [`${names(joined)} joined`] : []),
    ...(left.length > 0 ? [`${names(left)} left`] : []),
    ...moved
      .slice(0, LISTED)
      .map((n) => `${n.name} changed address ${before.get(n.name) || '(none)'} → ${n.address || '(none)'}`),
  ].join('; ');
}

function sameNodes(a: readonly HaConfigNode[], b: readonly HaConfigNode[]): boolean {
  return a.length === b.length && a.every((n, i) => n.name === b[i]!.name && n.address === b[i]!.address);
}

/**
 * Compares one ha-config's applied nodes with the nodes that match its selector now. Pure.
 * An ha-config with no recorded apply (one stored before cx recorded them) is applied once more.
 */
export function compareHaConfig(
  haConfig: HaConfig,
  matching: readonly HaConfigNode[],
  now: number,
): HaConfigComparison {
  const since = new Date(now).toISOString();
  const selector = JSON.stringify(haConfig.selector);
  const applied = haConfig.status?.applied ?? null;
  if (matching.length === 0) {
    const kept =
      applied && applied.nodes.length > 0
        ? `keepalived stays as applied to ${names(applied.nodes)} (workflow ${applied.workflowId})`
        : 'nothing is applied';
    return {
      haConfig,
      sync: {
        state: 'NoMatchingNode',
        message: `no node matches the selector ${selector} any more; ${kept} until a node matches again or the ha-config is deleted`,
        since,
      },
    };
  }
  const appliedNodes = applied ? [...applied.nodes].sort((a, b) => a.name.localeCompare(b.name)) : [];
  if (applied && sameNodes(appliedNodes, matching)) {
    return {
      haConfig,
      sync: {
        state: 'InSync',
        message: `applied to the ${matching.length} node(s) the selector matches: ${names(matching)}`,
        since,
      },
    };
  }
  const reason = applied ? describeChange(appliedNodes, matching) : `no apply recorded; ${names(matching)} match`;
  // An apply would fail (and leave the cluster Failed) on a node that has not reported its address yet.
  const unaddressed = haConfig.unicast ? matching.filter((n) => !n.address) : [];
  if (unaddressed.length > 0) {
    return {
      haConfig,
      sync: {
        state: 'Reapplying',
        message: `${reason}: waiting for ${names(unaddressed)} to report an InternalIP, which unicast VRRP needs`,
        since,
      },
    };
  }
  const request: HaConfigSyncRequest = {
    clusterId: haConfig.clusterId,
    haConfigId: haConfig.id,
    haConfigName: haConfig.name,
    appliedBy: applied?.workflowId ?? null,
    nodes: matching.map(({ name, address }) => ({ name, address })),
    reason,
  };
  return {
    haConfig,
    sync: { state: 'Reapplying', message: `${reason}: applying again to ${names(matching)}`, since },
    request,
  };
}

/**
 * Compares every ha-config of a cluster with its nodes. Pure. Nothing is compared while the
 * cluster is not Ready or a workflow holds it (its nodes are expected to move then).
 */
export function compareHaConfigs(
  cluster: Cluster,
  haConfigs: readonly HaConfig[],
  nodes: readonly V1Node[],
  now: number,
): HaConfigComparison[] {
  if (cluster.status !== 'Ready' || cluster.activeWorkflowId) return [];
  return haConfigs.map((haConfig) => compareHaConfig(haConfig, selectNodes(nodes, haConfig.selector), now));
}

/** Whether a comparison says something other than the status recorded (`since` aside). */
export function syncChanged(recorded: HaConfigStatus['sync'] | undefined, sync: Sync): boolean {
  return !recorded || recorded.state !== sync.state || recorded.message !== sync.message;
}

export interface HaConfigSyncOptions {
  sm: SmClient;
  requests: Queue<HaConfigSyncRequest>;
  logger: Logger;
}

/** The side effects of a comparison: a job for wfm, a status in sm, a log line when it changed. */
export class HaConfigSync {
  constructor(private readonly options: HaConfigSyncOptions) {}

  async check({ cluster, haConfigs = [] }: HealthTarget, nodes: readonly V1Node[], now = Date.now()): Promise<void> {
    const { requests, sm, logger } = this.options;
    for (const { haConfig, sync, request } of compareHaConfigs(cluster, haConfigs, nodes, now)) {
      // The same change asked twice is the same job (its id), so every look may ask.
      if (request)
        await requests.add('reapply', request, {
          jobId: haConfigSyncJobId(request),
          ...HA_CONFIG_SYNC_RETRY,
          removeOnComplete: FINISHED_JOB_RETENTION,
          removeOnFail: true,
        });
      if (!syncChanged(haConfig.status?.sync, sync)) continue;
      const fields = { clusterId: cluster.id, haConfig: haConfig.name, haConfigId: haConfig.id, state: sync.state };
      if (sync.state === 'NoMatchingNode') logger.warn(fields, sync.message);
      else logger.info(fields, sync.message);
      await sm.setHaConfigSync(haConfig.id, sync);
    }
  }
}
