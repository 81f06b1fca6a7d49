/**
 * etcd snapshots of a cluster (docs/etcd-snapshots.md): take one (operator), list them (viewer),
 * restore one (admin: a restore rewinds everything in the cluster, other users' work included),
 * delete one (operator). Taking and restoring run workflows (202). Refused with nothing stored: a
 * cluster whose provider has no snapshots (400, naming the provider), a snapshot of another
 * cluster (404), a cluster that is not Ready (409) or runs another workflow (409).
 */
import type { FastifyInstance } from 'fastify';
import {
  clusterAcceptedSchema,
  etcdSnapshotParamsSchema,
  etcdSnapshotSchema,
  refParamsSchema,
  listQuerySchema,
  listSchema,
  type Cluster,
  type ProviderInfo,
} from '@cx/api-schemas';
import { CxError, InputError } from '@cx/errors';
import { onParam } from '../http/access-guard.js';
import type { WorkflowEngine } from '../engine.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { SmClient } from '@cx/sm-contract';
import { acceptWorkflow, idempotencyHeaders, startRequest } from '../http/workflow-start.js';
import { RESTORE_ETCD, SNAPSHOT_ETCD } from '../workflows/etcd.js';

export interface EtcdRouteDeps {
  sm: SmClient;
  engine: WorkflowEngine;
  providers: () => Promise<ProviderInfo[]>;
  assertQueueUp: () => void;
}

const snapshotAccepted = {
  ...clusterAcceptedSchema,
  properties: {
    ...clusterAcceptedSchema.properties,
    snapshotId: { type: 'string', description: 'The id the snapshot gets once the workflow has taken it' },
  },
};
const restoreAccepted = {
  ...clusterAcceptedSchema,
  properties: { ...clusterAcceptedSchema.properties, snapshot: etcdSnapshotSchema },
};

/** The cluster, once its provider is known to take snapshots (as the sddc replicas advertise it). */
async function capableCluster(deps: EtcdRouteDeps, clusterId: string): Promise<Cluster> {
  const cluster = await deps.sm.getCluster(clusterId);
  const provider = (await deps.providers()).find((p) => p.name === cluster.provider);
  if (provider?.capabilities?.etcdSnapshot !== true) {
    const why = provider
      ? `provider ${cluster.provider} cannot take or restore etcd snapshots (only kwok can: the others run etcd inside the cluster's machines, out of cx's reach)`
      : `no sddc serves provider ${cluster.provider} now`;
    throw new InputError(`cluster ${cluster.name}: ${why}; see docs/etcd-snapshots.md`, [
      { field: 'params.id', message: `is a cluster of provider ${cluster.provider}, which has no etcd snapshots` },
    ]);
  }
  return cluster;
}

/** A cluster with no workflow running must be in one of `allowed` with its API up; a busy one is left for sm to refuse (CX_CLUSTER_BUSY). */
function assertReady(cluster: Cluster, allowed: ReadonlyArray<Cluster['status']>, what: string): void {
  if (cluster.activeWorkflowId) return;
  if (!allowed.includes(cluster.status) || !cluster.apiEndpoint) {
    throw new CxError(
      'CX_CLUSTER_NOT_READY',
      `cluster ${cluster.name} is ${cluster.status}${cluster.apiEndpoint ? '' : ' and has no Kubernetes API yet'}; ${what}`,
      { details: { status: cluster.status } },
    );
  }
}

export async function etcdRoutes(app: FastifyInstance, deps: EtcdRouteDeps): Promise<void> {
  const { sm, engine } = deps;

  app.get<{ Params: { id: string } }>(
    '/clusters/:id/etcd-snapshots',
    {
      config: { access: onParam('viewer', 'cluster') },
      schema: {
        tags: ['etcd'],
        summary: "The cluster's etcd snapshots, oldest first",
        params: refParamsSchema,
        querystring: listQuerySchema,
        response: { 200: listSchema(etcdSnapshotSchema), ...errors },
      },
    },
    async (request, reply) =>
      relayToSm(
        sm,
        reply,
        'GET',
        `/clusters/${encodeURIComponent(request.params.id)}/etcd-snapshots?${queryOf(request)}`,
      ),
  );

  app.post<{ Params: { id: string } }>(
    '/clusters/:id/etcd-snapshots',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['etcd'],
        params: refParamsSchema,
        headers: idempotencyHeaders,
        response: { 202: snapshotAccepted, ...errors },
        summary: "Take a snapshot of the cluster's etcd (runs the etcd.snapshot workflow)",
        description:
          'The snapshot holds every object of the cluster, Secrets included; cx keeps it sealed and never answers its content. Refused with nothing stored: a provider without etcd snapshots (400), a cluster that is not Ready (409 CX_CLUSTER_NOT_READY) or runs another workflow (409 CX_CLUSTER_BUSY). A snapshot larger than etcd.maxSnapshotBytes fails the workflow with CX_LIMIT_EXCEEDED.',
      },
    },
    async (request, reply) => {
      const cluster = await capableCluster(deps, request.params.id);
      assertReady(cluster, ['Ready'], 'etcd snapshots are taken of Ready clusters');
      deps.assertQueueUp();
      return acceptWorkflow(
        reply,
        engine,
        await sm.startEtcdSnapshot(cluster.id, startRequest(request, engine.definition(SNAPSHOT_ETCD), 'Ready', {})),
      );
    },
  );

  app.post<{ Params: { id: string; snapshotId: string } }>(
    '/clusters/:id/etcd-snapshots/:snapshotId/restore',
    {
      config: { access: onParam('admin', 'cluster') },
      schema: {
        tags: ['etcd'],
        params: etcdSnapshotParamsSchema,
        headers: idempotencyHeaders,
        response: { 202: restoreAccepted, ...errors },
        summary: "Restore the cluster's etcd from one of its snapshots (runs the etcd.restore workflow; admin)",
        description:
          'Every object of the cluster goes back to what it was at the snapshot: what was created since is gone, what was deleted since is back. The API is down for the restore (tens of seconds); workloads on the nodes are reconciled to the restored objects afterwards. Refused with nothing stored: a provider without etcd snapshots (400), a snapshot of another cluster (404), a cluster that is provisioning or being deleted (409 CX_CLUSTER_NOT_READY) or runs another workflow (409 CX_CLUSTER_BUSY).',
      },
    },
    async (request, reply) => {
      const cluster = await capableCluster(deps, request.params.id);
      // 404 for a snapshot of another cluster, whatever the cluster is doing.
      await sm.relay(
        'GET',
        `/clusters/${encodeURIComponent(cluster.id)}/etcd-snapshots/${encodeURIComponent(request.params.snapshotId)}`,
      );
      assertReady(
        cluster,
        ['Ready', 'Failed'],
        'a restore needs its control plane running (a Ready or Failed cluster)',
      );
      deps.assertQueueUp();
      const { snapshotId } = request.params;
      return acceptWorkflow(
        reply,
        engine,
        await sm.startEtcdRestore(
          cluster.id,
          snapshotId,
          startRequest(request, engine.definition(RESTORE_ETCD), 'Updating', { snapshotId }),
        ),
      );
    },
  );

  app.delete<{ Params: { id: string; snapshotId: string } }>(
    '/clusters/:id/etcd-snapshots/:snapshotId',
    {
      config: { access: onParam('operator', 'cluster') },
      schema: {
        tags: ['etcd'],
        params: etcdSnapshotParamsSchema,
        response: { 204: { type: 'null' }, ...errors },
        summary: "Delete one of the cluster's etcd snapshots",
        description:
          '404 for a snapshot of another cluster; 409 while a restore reads it. Snapshots are also deleted with their cluster.',
      },
    },
    async (request, reply) =>
      relayToSm(
        sm,
        reply,
        'DELETE',
        `/clusters/${encodeURIComponent(request.params.id)}/etcd-snapshots/${encodeURIComponent(request.params.snapshotId)}`,
      ),
  );
}
