/** `GET /workflows/{id}/events`: a run as server-sent events, until it finishes. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Run, SmClient } from '@cx/sm-contract';

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);
const SSE_POLL_MS = 500;
const SSE_MAX_MS = 3_600_000;

/** Polls sm for the run and sends it each time it changes (without step outputs), with a keep-alive comment every 15 s. */
export async function streamWorkflow(
  sm: SmClient,
  request: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
): Promise<void> {
  let run: Run = await sm.getRun(request.params.id); // a 404 is answered as a problem before the stream opens
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
  const send = (event: string, data: unknown): void => {
    if (!closed) reply.raw.write(`event: ${event}\nid: ${Date.now()}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const view = (r: Run): unknown => ({ ...r, steps: r.steps.map(({ output: _output, ...step }) => step) });
  send('workflow', view(run));
  const started = Date.now();
  let lastSent = `${run.updatedAt}|${run.status}`;
  let lastBeat = Date.now();
  while (!closed && !TERMINAL.has(run.status) && Date.now() - started < SSE_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, SSE_POLL_MS));
    try {
      run = await sm.getRun(run.id);
    } catch (error) {
      send('error', { code: (error as { code?: string }).code ?? 'CX_INTERNAL', detail: (error as Error).message });
      continue;
    }
    const version = `${run.updatedAt}|${run.status}`;
    if (version !== lastSent) {
      send('workflow', view(run));
      lastSent = version;
    } else if (Date.now() - lastBeat > 15_000) {
      if (!closed) reply.raw.write(': keep-alive\n\n');
      lastBeat = Date.now();
    }
  }
  if (!closed) reply.raw.end();
}
