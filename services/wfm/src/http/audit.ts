/**
 * The audit trail of the public API (DESIGN.md section 6): every mutating call, refused ones
 * included, with what it asked for (its parameters and body, secrets left out) and the workflow it
 * started, whose input records what changed (a pool's count from → to, say). Anonymous refusals
 * are counted per source address and minute instead, so that nobody can flood the log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SmClient } from '@cx/sm-contract';

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Fields whose values never reach the log, at any depth. */
const SECRET_FIELD = /password|secret|token|private|keypem|kubeconfig/i;
const ANONYMOUS_WINDOW_MS = 60_000;
const ANONYMOUS_SOURCES_MAX = 10_000;

/** Records each mutating call's outcome with sm once it is answered; a lost record is logged, never fails the call. */
export function auditMutations(app: FastifyInstance, sm: SmClient): void {
  const anonymous = new AnonymousRefusals(sm, app.log);
  const startedWorkflow = new WeakMap<FastifyRequest, string>();
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 202 && typeof payload === 'string' && MUTATING_METHODS.has(request.method)) {
      const workflowId = workflowIdIn(payload);
      if (workflowId) startedWorkflow.set(request, workflowId);
    }
    return payload;
  });
  // Logins are audited by sm itself, with their outcome.
  app.addHook('onResponse', async (request, reply) => {
    if (!MUTATING_METHODS.has(request.method) || request.routeOptions.config.access === 'public') return;
    const url = request.routeOptions.url ?? 'unmatched';
    const action = `${request.method} ${url}`;
    if (!request.user && reply.statusCode === 401) return anonymous.refused(request.ip, action);
    const params = request.params as Record<string, string> | undefined;
    const body = request.body as { name?: unknown; username?: unknown } | undefined;
    const named =
      typeof body?.name === 'string' ? body.name : typeof body?.username === 'string' ? body.username : undefined;
    const workflowId = startedWorkflow.get(request);
    sm.audit({
      actor: request.user?.username ?? 'anonymous',
      action,
      targetKind: (url.split('/')[3] ?? 'unknown').replace(/s$/, ''),
      ...(params?.['id'] ? { targetId: params['id'] } : named ? { targetId: named } : {}),
      outcome: reply.statusCode < 400 ? 'success' : 'failure',
      sourceIp: request.ip,
      requestId: request.id,
      details: {
        status: reply.statusCode,
        ...(params && Object.keys(params).length > 0 ? { params } : {}),
        ...(request.body !== undefined && request.body !== null
          ? { request: bounded(withoutSecrets(request.body)) }
          : {}),
        ...(workflowId ? { workflowId } : {}),
      },
    }).catch((error: unknown) => request.log.warn({ err: error }, 'audit record lost'));
  });
  app.addHook('onClose', async () => anonymous.close());
}

/** The id of the workflow a 202 answer started, if it names one. */
function workflowIdIn(payload: string): string | undefined {
  try {
    const id = (JSON.parse(payload) as { workflow?: { id?: unknown } }).workflow?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A copy of a request body without the values of secret fields (kept as "[redacted]"), bounded in size. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => withoutSecrets(item, depth + 1));
  if (typeof value === 'string') return value.length > 256 ? `${value.slice(0, 256)}…` : value;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      SECRET_FIELD.test(key) ? '[redacted]' : withoutSecrets(item, depth + 1),
    ]),
  );
}

/** What fits an audit record (a 64 KiB TEXT column on MySQL, with room for the rest). */
function bounded(value: unknown): unknown {
  return JSON.stringify(value).length > 16_384 ? '[too large to record]' : value;
}

/**
 * Refused anonymous writes, per source address: the first of a minute is recorded at once, the
 * rest of that minute as one record with their count, when the minute is over.
 */
class AnonymousRefusals {
  private readonly windows = new Map<string, { since: number; actions: Set<string>; more: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sm: SmClient,
    private readonly log: FastifyInstance['log'],
  ) {
    this.timer = setInterval(() => this.flush(Date.now() - ANONYMOUS_WINDOW_MS), ANONYMOUS_WINDOW_MS);
    this.timer.unref();
  }

  refused(source: string, action: string): void {
    const window = this.windows.get(source);
    if (window) {
      window.more += 1;
      if (window.actions.size < 20) window.actions.add(action);
      return;
    }
    if (this.windows.size >= ANONYMOUS_SOURCES_MAX) this.flush();
    this.windows.set(source, { since: Date.now(), actions: new Set([action]), more: 0 });
    this.record(source, action, { status: 401 });
  }

  /** Writes the counts of the windows opened before `before` (all of them by default) and closes them. */
  flush(before = Infinity): void {
    for (const [source, window] of this.windows) {
      if (window.since >= before) continue;
      this.windows.delete(source);
      if (window.more > 0)
        this.record(source, 'anonymous refusals', {
          status: 401,
          count: window.more,
          since: new Date(window.since).toISOString(),
          actions: [...window.actions],
        });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private record(source: string, action: string, details: Record<string, unknown>): void {
    this.sm
      .audit({ actor: 'anonymous', action, outcome: 'failure', sourceIp: source, details })
      .catch((error: unknown) => this.log.warn({ err: error }, 'audit record lost'));
  }
}
