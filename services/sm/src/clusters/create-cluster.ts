/**
 * A cluster create as wfm asks for it (CreateClusterBody): the cluster and its run, with its
 * control-plane VIP from an IP pool and its template's and request's addons in the same
 * transaction. Answered by POST /clusters and by the all-in-one's direct call (direct-calls.ts).
 */
import { InputError, NotFoundError } from '@cx/errors';
import type { CreateClusterBody } from '@cx/sm-contract';
import type { ClusterAddons } from '../addons/addons.js';
import type { IpPools } from '../ip-pools/ip-pools.js';
import type { Accepted } from '../runs/workflow-runs.js';
import type { ClusterTemplates } from '../templates/templates.js';
import type { Clusters } from './clusters.js';

export interface ClusterCreateDeps {
  clusters: Clusters;
  ipPools: IpPools;
  templates: ClusterTemplates;
  addons: ClusterAddons;
}

export async function createCluster(deps: ClusterCreateDeps, body: CreateClusterBody): Promise<Accepted> {
  const { clusters, ipPools, templates, addons } = deps;
  const { request: cluster, start, template, addons: toInstall = [] } = body;
  const vipPool = cluster.controlPlane.vipPool;
  return clusters.create(
    cluster,
    start,
    vipPool === undefined
      ? undefined
      : async (trx, clusterId) => {
          try {
            return (
              await ipPools.allocate(
                vipPool,
                { owner: `control-plane VIP of cluster ${cluster.name}`, clusterId },
                start.actor,
                trx,
              )
            ).address;
          } catch (error) {
            if (error instanceof NotFoundError)
              throw new InputError(error.message, [
                { field: 'body.controlPlane.vipPool', message: 'is not an IP pool' },
              ]);
            throw error;
          }
        },
    template || toInstall.length > 0
      ? async (trx, clusterId) => {
          if (template) await templates.useFor(trx, clusterId, template);
          for (const addon of toInstall) await addons.install(trx, clusterId, addon.name, addon, start.actor);
        }
      : undefined,
  );
}
