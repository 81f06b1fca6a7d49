/**
 * sm's internal HTTP API, used by wfm and sddc: every route needs the service token. Each module
 * registers its own routes; the bodies are validated with `@cx/sm-contract`'s schemas.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AuthenticationError } from '@cx/errors';
import { accessRoutes } from './access/routes.js';
import type { ClusterAddons } from './addons/addons.js';
import { addonRoutes } from './addons/routes.js';
import type { AuditLog } from './audit/audit-log.js';
import { auditRoutes } from './audit/routes.js';
import type { ClusterEvents } from './cluster-events/cluster-events.js';
import { clusterEventRoutes } from './cluster-events/routes.js';
import type { Clusters } from './clusters/clusters.js';
import { clusterRoutes } from './clusters/routes.js';
import type { TenantCredentials } from './clusters/tenant-credentials.js';
import type { EtcdSnapshots } from './etcd-snapshots/etcd-snapshots.js';
import { etcdSnapshotRoutes } from './etcd-snapshots/routes.js';
import type { HaConfigs } from './ha-configs/ha-configs.js';
import { haConfigRoutes } from './ha-configs/routes.js';
import type { Hosts } from './hosts/hosts.js';
import { hostRoutes } from './hosts/routes.js';
import { identityRoutes, type IdentityRouteDeps } from './identity/routes.js';
import type { IpPools } from './ip-pools/ip-pools.js';
import { ipPoolRoutes } from './ip-pools/routes.js';
import type { Names } from './names/names.js';
import { nameRoutes } from './names/routes.js';
import type { Pairs } from './pairs/pairs.js';
import type { Resources } from './resources/resources.js';
import { resourceRoutes } from './resources/routes.js';
import { pairRoutes } from './pairs/routes.js';
import { runRoutes } from './runs/routes.js';
import type { WorkflowRuns } from './runs/workflow-runs.js';
import { templateRoutes } from './templates/routes.js';
import type { ClusterTemplates } from './templates/templates.js';

export interface SmRouteDeps extends IdentityRouteDeps {
  clusters: Clusters;
  resources: Resources;
  runs: WorkflowRuns;
  tenants: TenantCredentials;
  hosts: Hosts;
  ipPools: IpPools;
  haConfigs: HaConfigs;
  pairs: Pairs;
  addons: ClusterAddons;
  templates: ClusterTemplates;
  etcdSnapshots: EtcdSnapshots;
  auditLog: AuditLog;
  names: Names;
  clusterEvents: ClusterEvents;
  serviceToken: string;
}

export async function smRoutes(app: FastifyInstance, deps: SmRouteDeps): Promise<void> {
  const expected = Buffer.from(`Bearer ${deps.serviceToken}`);
  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new AuthenticationError('sm needs the service token (serviceToken / CX_SERVICE_TOKEN)');
  });
  await identityRoutes(app, deps);
  await accessRoutes(app, deps);
  await resourceRoutes(app, deps);
  await clusterRoutes(app, deps);
  await runRoutes(app, deps);
  await haConfigRoutes(app, deps);
  await ipPoolRoutes(app, deps);
  await hostRoutes(app, deps);
  await pairRoutes(app, deps);
  await addonRoutes(app, deps);
  await templateRoutes(app, deps);
  await auditRoutes(app, deps);
  await nameRoutes(app, deps);
  await clusterEventRoutes(app, deps);
  // In a scope of their own: their octet-stream parser and size limit are theirs only.
  await app.register(async (scope) => etcdSnapshotRoutes(scope, deps));
}
