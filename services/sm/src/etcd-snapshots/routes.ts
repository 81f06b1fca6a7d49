/** sm's internal routes of etcd snapshots: their records, the workflows that take and restore them, and their bytes. */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { CxError } from '@cx/errors';
import { SNAPSHOT_SHA256_HEADER, SnapshotUpload, StartBody } from '@cx/sm-contract';
import type { Clusters } from '../clusters/clusters.js';
import { idParams, sendAccepted } from '../http.js';
import { RESTORE_WORKFLOW, tooLarge, type EtcdSnapshots } from './etcd-snapshots.js';

const snapshotParams = {
  type: 'object',
  required: ['id', 'snapshotId'],
  properties: { id: { type: 'string', maxLength: 64 }, snapshotId: { type: 'string', maxLength: 64 } },
} as const;

/**
 * sm's internal routes for etcd snapshots: wfm relays the public ones and starts the workflows,
 * sddc uploads and downloads the bytes (`application/octet-stream`, up to `etcd.maxSnapshotBytes`
 * on these two routes only; sm's other routes keep their 4 MiB).
 */
export async function etcdSnapshotRoutes(
  app: FastifyInstance,
  deps: { clusters: Clusters; etcdSnapshots: EtcdSnapshots },
): Promise<void> {
  const { clusters, etcdSnapshots: snapshots } = deps;
  // Counted as it arrives, so that an oversized body is refused without being held whole.
  app.addContentTypeParser('application/octet-stream', async (request: FastifyRequest, payload: IncomingMessage) => {
    const declared = Number(request.headers['content-length']);
    if (declared > snapshots.maxBytes) throw tooLarge(declared, snapshots.maxBytes);
    const parts: Buffer[] = [];
    let size = 0;
    for await (const part of payload as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > snapshots.maxBytes) throw tooLarge(size, snapshots.maxBytes);
      parts.push(part);
    }
    return Buffer.concat(parts);
  });

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    '/clusters/:id/etcd-snapshots',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string', maxLength: 256 },
          },
        },
      },
    },
    async (request) => {
      await clusters.get(request.params.id);
      return snapshots.list(request.params.id, request.query.limit, request.query.cursor);
    },
  );
  app.get<{ Params: { id: string; snapshotId: string } }>(
    '/clusters/:id/etcd-snapshots/:snapshotId',
    { schema: { params: snapshotParams } },
    async (request) => snapshots.get(request.params.id, request.params.snapshotId),
  );
  app.delete<{ Params: { id: string; snapshotId: string } }>(
    '/clusters/:id/etcd-snapshots/:snapshotId',
    { schema: { params: snapshotParams } },
    async (request, reply) => {
      await snapshots.delete(request.params.id, request.params.snapshotId);
      return reply.code(204).send();
    },
  );

  // Starts the snapshot workflow with the id its snapshot will have (time-ordered, as lists are), answered with it.
  app.post<{ Params: { id: string }; Body: StartBody }>(
    '/clusters/:id/etcd-snapshots',
    {
      schema: { params: idParams, body: StartBody },
    },
    async (request, reply) => {
      const { start } = request.body;
      const snapshotId = uuidv7();
      const accepted = await clusters.startWorkflow(
        request.params.id,
        { ...start, workflow: { ...start.workflow, input: { ...start.workflow.input, snapshotId } } },
        async () => ({ snapshotId }),
      );
      return sendAccepted(reply, accepted);
    },
  );
  // Starts a restore of one of the cluster's snapshots (404 for any other), in the transaction that locks the cluster.
  app.post<{ Params: { id: string; snapshotId: string }; Body: StartBody }>(
    '/clusters/:id/etcd-snapshots/:snapshotId/restore',
    {
      schema: { params: snapshotParams, body: StartBody },
    },
    async (request, reply) => {
      const { id, snapshotId } = request.params;
      if (request.body.start.workflow.input['snapshotId'] !== snapshotId)
        throw new Error(`the ${RESTORE_WORKFLOW} workflow's input must carry snapshotId ${snapshotId}`);
      const accepted = await clusters.startWorkflow(id, request.body.start, async (trx) => ({
        snapshot: await snapshots.get(id, snapshotId, trx),
      }));
      return sendAccepted(reply, accepted);
    },
  );

  // ---- sddc: the bytes ----
  app.put<{ Params: { id: string; snapshotId: string }; Querystring: SnapshotUpload; Body: Buffer }>(
    '/clusters/:id/etcd-snapshots/:snapshotId/data',
    {
      schema: {
        params: snapshotParams,
        querystring: SnapshotUpload,
      },
    },
    async (request, reply) => {
      if (!Buffer.isBuffer(request.body))
        throw new CxError('CX_UNSUPPORTED_MEDIA_TYPE', 'send the snapshot as application/octet-stream');
      return reply
        .code(201)
        .send(await snapshots.store(request.params.id, request.params.snapshotId, request.query, request.body));
    },
  );
  app.get<{ Params: { id: string; snapshotId: string } }>(
    '/clusters/:id/etcd-snapshots/:snapshotId/data',
    { schema: { params: snapshotParams } },
    async (request, reply) => {
      const { info, data } = await snapshots.read(request.params.id, request.params.snapshotId);
      return reply
        .type('application/octet-stream')
        .header(SNAPSHOT_SHA256_HEADER, info.sha256)
        .header('x-cx-revision', String(info.revision))
        .send(data);
    },
  );
}
