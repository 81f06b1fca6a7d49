/**
 * The one HTTP client of `cx` over the public API (`/api/v1`): bearer token of the context,
 * problem+json answers turned into errors that keep the server's detail and stable code, pages
 * followed through `nextCursor` with a bound.
 */
import type { Page } from '@cx/api-schemas';
import { CliError, EXIT, exitCodeOf, hintFor } from './exit-codes.js';

/** A problem the server answered (RFC 9457), with the exit code its code maps to. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: { detail?: string; code?: string; fields?: Array<{ field?: string; message?: string }> },
  ) {
    super(
      problem.detail ?? `the server answered ${status}`,
      exitCodeOf(problem.code, status),
      problem.code,
      hintFor(problem.code),
      (problem.fields ?? []).filter((f) => f.field || f.message).map((f) => `${f.field ?? ''}: ${f.message ?? ''}`),
    );
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Answer the raw text instead of parsing JSON (kubeconfig YAML). */
  text?: boolean;
  signal?: AbortSignal;
}

/** How many pages a list follows at most (500 items each at the server's maximum): every loop is bounded. */
export const MAX_PAGES = 200;
const PAGE_LIMIT = 500;

export class Client {
  constructor(
    readonly server: string,
    private readonly token?: string,
  ) {}

  url(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(path.startsWith('/api/') ? path : `/api/v1${path}`, this.server);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        headers: this.headers({
          accept: options.text ? '*/*' : 'application/json',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        }),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach ${this.server} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
        EXIT.unavailable,
        undefined,
        'check the server address (cx config get-contexts) and that cx is running there',
      );
    }
    const text = await response.text();
    if (response.status >= 400) {
      let problem: ConstructorParameters<typeof ApiError>[1] = {};
      try {
        problem = text ? (JSON.parse(text) as typeof problem) : {};
      } catch {
        problem = { detail: `the server answered ${response.status}: ${text.slice(0, 200)}` };
      }
      throw new ApiError(response.status, problem);
    }
    if (options.text) return { status: response.status, body: text as T, headers: response.headers };
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(`${method} ${path} answered something that is not JSON; is ${this.server} a cx API?`);
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  async get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return (await this.request<T>('GET', path, query ? { query } : {})).body;
  }

  /** Every item of a list, following `nextCursor` (`paged`: the route takes `limit` and `cursor`), at most `MAX_PAGES` pages. */
  async list<T>(path: string, query: RequestOptions['query'] = {}, paged = true): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.get<Page<T> | T[]>(path, paged ? { ...query, limit: PAGE_LIMIT, cursor } : query);
      if (Array.isArray(answer)) return answer;
      items.push(...answer.items);
      if (!answer.nextCursor) return items;
      cursor = answer.nextCursor;
    }
    throw new CliError(`${path} has more than ${MAX_PAGES} pages; narrow the request`);
  }
}

/** Whether an error is the server saying it has no such route (an older server), not that an object is missing. */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && /^no route /.test(error.problem.detail ?? '');
}
