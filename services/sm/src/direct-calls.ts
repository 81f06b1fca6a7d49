/**
 * sm's answers to the calls every public request makes, and to the health monitor's reports
 * (SmDirectCalls), for wfm and sddc in the same process (the all-in-one): the same modules and the
 * same input schemas as the routes that answer them over HTTP, without fastify's inject in between.
 * Their errors are those the routes answer.
 */
import { healthStatusSchema, type AccessRequirement, type ClusterHealthStatus } from '@cx/api-schemas';
import { inputValidator } from '@cx/service-kit';
import { AuditRequest, CreateClusterBody, StartRequest, type NamedKind, type SmDirectCalls } from '@cx/sm-contract';
import type { AccessControl } from './access/access-control.js';
import { accessCheckBody } from './access/routes.js';
import type { AuditLog } from './audit/audit-log.js';
import { createCluster, type ClusterCreateDeps } from './clusters/create-cluster.js';
import { idParams } from './http.js';
import type { Names } from './names/names.js';
import { nameParams } from './names/routes.js';

export function directCalls(
  deps: ClusterCreateDeps & { access: AccessControl; names: Names; auditLog: AuditLog },
): SmDirectCalls {
  const { access, names, auditLog, clusters } = deps;
  const accessCheck = inputValidator<{ userId: string; requirement: AccessRequirement }>(accessCheckBody, 'body');
  const name = inputValidator<{ kind: NamedKind; ref: string }>(nameParams, 'params');
  const auditEntry = inputValidator<AuditRequest>(AuditRequest, 'body');
  const cluster = inputValidator<{ id: string }>(idParams, 'params');
  const start = inputValidator<StartRequest>(StartRequest, 'body');
  const create = inputValidator<CreateClusterBody>(CreateClusterBody, 'body');
  const healthStatus = inputValidator<ClusterHealthStatus>(healthStatusSchema, 'body');
  return {
    async checkAccess(userId, requirement) {
      accessCheck({ userId, requirement });
      await access.check(await access.subject(userId), requirement);
    },
    async resolveName(kind, ref) {
      name({ kind, ref });
      return names.resolve(kind, ref);
    },
    async audit(entry) {
      await auditLog.record(auditEntry(entry));
    },
    async createCluster(body) {
      return createCluster(deps, create(body));
    },
    async startClusterWorkflow(clusterId, request) {
      cluster({ id: clusterId });
      return clusters.startWorkflow(clusterId, start(request));
    },
    async setHealthStatus(clusterId, status) {
      cluster({ id: clusterId });
      await clusters.setHealthStatus(clusterId, healthStatus(status));
    },
  };
}
