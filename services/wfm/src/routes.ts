/**
 * The public API, `/api/v1` (DESIGN.md section 2): the access guard and the audit hook on every
 * route, then one plugin per resource. Each resource's routes live in its folder (clusters/,
 * nodepools/, nodes/, …); HTTP plumbing shared by them in http/.
 */
import type { FastifyInstance } from 'fastify';
import { problemSchema, type ProviderInfo } from '@cx/api-schemas';
import type { EgressPolicy } from '@cx/k8s';
import { addonRoutes } from './addons/routes.js';
import { clusterEventRoutes } from './cluster-events/routes.js';
import { clusterRoutes } from './clusters/routes.js';
import type { WorkflowEngine } from './engine.js';
import { etcdRoutes } from './etcd-snapshots/routes.js';
import { haConfigRoutes } from './ha-configs/routes.js';
import type { AccessGuard } from './http/access-guard.js';
import { auditMutations } from './http/audit.js';
import type { ClusterReadCache } from './http/read-cache.js';
import { identityRoutes } from './identity/routes.js';
import type { InfrastructureChecks } from './infrastructure/checks.js';
import { infrastructureRoutes } from './infrastructure/routes.js';
import { poolRoutes } from './nodepools/routes.js';
import { nodeRoutes } from './nodes/routes.js';
import { osUpgradeRoutes } from './os-upgrades/routes.js';
import { pairRoutes } from './pairs/routes.js';
import type { SmClient } from '@cx/sm-contract';
import { templateRoutes } from './templates/routes.js';
import { workflowRunRoutes } from './workflow-runs/routes.js';

export interface PublicRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  guard: AccessGuard;
  providers: () => Promise<ProviderInfo[]>;
  /** Checks against real infrastructure (credentials, BMCs, placement) made before sm stores anything. */
  infrastructure: InfrastructureChecks;
  reads: ClusterReadCache;
  /** Throws a 503 when the queue cannot take work, before anything is written. */
  assertQueueUp: () => void;
  /** Which endpoints users may point addons at (egress.*, against SSRF). */
  egress: EgressPolicy;
}

export async function publicRoutes(app: FastifyInstance, deps: PublicRouteDeps): Promise<void> {
  const { sm, engine, guard, providers, infrastructure, reads, assertQueueUp, egress } = deps;
  app.addSchema(problemSchema);
  guard.install(app);
  auditMutations(app, sm);

  await identityRoutes(app, { sm, guard, reads, infrastructure });
  await infrastructureRoutes(app, { sm, infrastructure, providers });
  await haConfigRoutes(app, { sm, engine, assertQueueUp });
  await addonRoutes(app, { sm, engine, egress, assertQueueUp });
  await templateRoutes(app, { sm, egress, providers });
  await pairRoutes(app, { sm, guard, providers });
  await etcdRoutes(app, { sm, engine, providers, assertQueueUp });
  await osUpgradeRoutes(app, { sm, engine, infrastructure, providers, assertQueueUp });
  await nodeRoutes(app, { sm, engine, infrastructure, assertQueueUp });
  await poolRoutes(app, { sm, engine, providers, assertQueueUp });
  await clusterRoutes(app, { sm, engine, providers, infrastructure, reads, assertQueueUp, egress });
  await workflowRunRoutes(app, { sm, engine, assertQueueUp });
  await clusterEventRoutes(app, { sm });
}
