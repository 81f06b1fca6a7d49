/**
 * A cluster's feed as server-sent events: what happens from now on (or after the `Last-Event-ID`
 * a reconnecting client sends), as sm records it. Polls sm for the events since a little before
 * the last one sent, and skips those sent already: an event committed late (its transaction ended
 * after a newer one's) is still sent.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterEvent } from '@cx/api-schemas';
import type { SmClient } from '@cx/sm-contract';

const POLL_MS = 1_000;
/** How far back each poll looks before the newest event sent, for events committed out of order. */
const LOOKBACK_MS = 10_000;
const KEEP_ALIVE_MS = 15_000;
const STREAM_MAX_MS = 3_600_000;
const POLL_LIMIT = 500;

/** The SSE id of an event: its position in the feed, which a reconnecting client sends back as Last-Event-ID. */
const sseId = (event: ClusterEvent): string => `${event.at}|${event.id}`;

function resumeFrom(lastEventId: string | undefined): { at: string; id: string } {
  const [at, id] = (lastEventId ?? '').split('|');
  if (at && id !== undefined && !Number.isNaN(Date.parse(at))) return { at: new Date(at).toISOString(), id };
  return { at: new Date().toISOString(), id: '' };
}

const after = (event: ClusterEvent, position: { at: string; id: string }): boolean =>
  event.at > position.at || (event.at === position.at && event.id > position.id);

export async function streamClusterEvents(
  sm: SmClient,
  clusterId: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const header = request.headers['last-event-id'];
  const start = resumeFrom(typeof header === 'string' ? header : undefined);
  // A cluster that is gone (or a bad position) is answered as a problem before the stream opens.
  await sm.clusterEvents(clusterId, { since: start.at, limit: 1 });
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': request.id,
  });
  let closed = false;
  request.raw.on('close', () => {
    closed = true;
  });
  const write = (text: string): void => {
    if (!closed) reply.raw.write(text);
  };
  /** Ids sent, with their instants, while they can still come back in a poll's look-back. */
  const sent = new Map<string, string>();
  let newest = start.at;
  let lastWrite = Date.now();
  const opened = Date.now();
  while (!closed && Date.now() - opened < STREAM_MAX_MS) {
    const since = new Date(Date.parse(newest) - LOOKBACK_MS).toISOString();
    let events: ClusterEvent[];
    try {
      events = (await sm.clusterEvents(clusterId, { since, limit: POLL_LIMIT })).items;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'CX_INTERNAL';
      write(`event: error\ndata: ${JSON.stringify({ code, detail: (error as Error).message })}\n\n`);
      if (code === 'CX_NOT_FOUND') break; // the cluster is gone: nothing more will happen to it
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      continue;
    }
    for (const event of events) {
      if (sent.has(event.id) || !after(event, start)) continue;
      write(`event: cluster-event\nid: ${sseId(event)}\ndata: ${JSON.stringify(event)}\n\n`);
      sent.set(event.id, event.at);
      if (event.at > newest) newest = event.at;
      lastWrite = Date.now();
    }
    for (const [id, at] of sent) if (at < since) sent.delete(id);
    if (Date.now() - lastWrite > KEEP_ALIVE_MS) {
      write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (!closed) reply.raw.end();
}
