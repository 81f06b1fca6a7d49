/**
 * What every provider that speaks HTTP to infrastructure needs, done once: TLS with the
 * credential's CA (or none, in labs), deadlines, retries of idempotent requests with backoff, a
 * circuit breaker per endpoint, and the mapping of failures onto cx errors that carry a documented
 * `reason` (docs/errors.md, "Provider reasons"), which workflows show as the machine's condition.
 */
import {
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  ExponentialBackoff,
  BrokenCircuitError,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { Agent, request as undiciRequest } from 'undici';
import { CredentialError, CxError, ProviderError, ProviderUnavailableError } from '@cx/errors';

/**
 * Why a provider operation failed; catalogued in docs/errors.md. Providers add their own
 * (`TemplateNotFound`, `NoFreeHost`…) and document them there too.
 */
export type ProviderReason =
  | 'Unreachable'
  | 'Timeout'
  | 'TlsUntrusted'
  | 'AuthFailed'
  | 'CircuitOpen'
  | 'EndpointFailing'
  | 'Refused'
  | 'PowerOffNotConfirmed'
  | (string & Record<never, never>);

/** A retryable failure: the infrastructure could not be reached or is failing for now. */
export function unavailable(message: string, reason: ProviderReason, cause?: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(message, { details: { reason }, cause });
}

/** The infrastructure answered and refused; not retryable unless `retryable` says so. */
export function refused(
  message: string,
  reason: ProviderReason,
  options: { retryable?: boolean; cause?: unknown } = {},
): ProviderError {
  return new ProviderError(message, { details: { reason }, ...options });
}

/** The documented reason a cx error carries, if any. */
export function reasonOf(error: unknown): string | undefined {
  const reason = error instanceof CxError ? error.details?.['reason'] : undefined;
  return typeof reason === 'string' ? reason : undefined;
}

/**
 * Turns what a credential check threw into the error the API answers when a credential is being
 * stored: unreachable, untrusted certificate, or refused login. Other errors pass through.
 */
export function asCredentialError(error: unknown, endpointLabel: string): unknown {
  const reason = reasonOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (reason === 'TlsUntrusted') return new CredentialError('CX_CREDENTIAL_UNTRUSTED', message, { cause: error });
  if (reason === 'AuthFailed') return new CredentialError('CX_CREDENTIAL_REJECTED', message, { cause: error });
  if (reason === 'Unreachable' || reason === 'Timeout' || reason === 'CircuitOpen' || reason === 'EndpointFailing') {
    return new CredentialError('CX_CREDENTIAL_UNREACHABLE', `${endpointLabel}: ${message}`, { cause: error });
  }
  return error;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ABORT_ERR',
]);

/** The first `code` found along an error's `cause` chain. */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Maps a network-level failure (no HTTP answer) to a cx error naming the endpoint, with the reason
 * `TlsUntrusted` (not retryable: it will not heal by itself), `Timeout` or `Unreachable`.
 */
export function networkError(error: unknown, endpointLabel: string): CxError {
  if (error instanceof CxError) return error;
  const codes = errorCodes(error);
  const tls = codes.find((code) => TLS_CODES.has(code));
  if (tls) {
    return refused(
      `${endpointLabel} presented a certificate that is not trusted (${tls}); give the CA that signed it as caCert`,
      'TlsUntrusted',
      { cause: error },
    );
  }
  if (codes.some((code) => TIMEOUT_CODES.has(code)) || (error as Error | undefined)?.name === 'TimeoutError') {
    return unavailable(`${endpointLabel} did not answer in time`, 'Timeout', error);
  }
  const detail = codes[0] ?? (error instanceof Error ? error.message : String(error));
  return unavailable(`${endpointLabel} cannot be reached (${detail})`, 'Unreachable', error);
}

export interface EndpointOptions {
  /** `https://host:port` (a path prefix is kept). */
  baseUrl: string;
  /** Names the endpoint in messages: `vCenter vc.example.com`, `BMC 10.0.0.7`. */
  label: string;
  caCert?: string | null;
  insecure?: boolean;
  /** Deadline of one request (connect to last byte). */
  timeoutMs?: number;
  /** Attempts of an idempotent request that failed with a retryable error (1 = no retry). */
  attempts?: number;
  /** Consecutive retryable failures that open the breaker, and how long it stays open. */
  breaker?: { threshold: number; halfOpenAfterMs: number };
}

export interface HttpRequest {
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Whether the request may be repeated safely; defaults to true for GET, HEAD, PUT and DELETE. */
  idempotent?: boolean;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Parses a response body as JSON, with a provider error (not a SyntaxError) when it is not. */
export function parseJson<T>(response: HttpResponse, endpointLabel: string): T {
  try {
    return JSON.parse(response.text) as T;
  } catch (error) {
    throw refused(`${endpointLabel} answered ${response.status} with a body that is not JSON`, 'EndpointFailing', {
      retryable: true,
      cause: error,
    });
  }
}

/** Statuses that mean "failing for now": retried, counted by the breaker. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/**
 * One HTTP endpoint of the infrastructure (a vCenter, a Keystone, a BMC). Answers with any status
 * the endpoint gives, except 502/503/504 and network failures, which throw a retryable
 * `CX_PROVIDER_UNAVAILABLE`. After `breaker.threshold` such failures in a row, calls fail at once
 * with the reason `CircuitOpen` until `halfOpenAfterMs` has passed, so that a dead endpoint does not
 * hold every worker for a full timeout.
 */
export class HttpEndpoint {
  readonly label: string;
  private readonly base: URL;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retrying: IPolicy;

  constructor(options: EndpointOptions) {
    this.label = options.label;
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.agent = new Agent({
      connect: {
        ...(options.caCert ? { ca: options.caCert } : {}),
        rejectUnauthorized: !options.insecure,
        timeout: Math.min(this.timeoutMs, 10_000),
      },
      keepAliveTimeout: 30_000,
    });
    const isRetryable = handleWhen((error) => error instanceof CxError && error.code === 'CX_PROVIDER_UNAVAILABLE');
    const breaker = options.breaker ?? { threshold: 5, halfOpenAfterMs: 15_000 };
    this.breaker = circuitBreaker(isRetryable, {
      halfOpenAfter: breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(breaker.threshold),
    });
    const attempts = options.attempts ?? 3;
    this.retrying = retry(isRetryable, {
      maxAttempts: Math.max(0, attempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 2_000 }),
    });
  }

  /** `path` is relative to the base URL (`sdk`, `redfish/v1/Systems`) or absolute on the same host. */
  url(path: string): URL {
    return new URL(path.replace(/^\/(?!\/)/, ''), path.startsWith('/') ? this.base.origin + '/' : this.base);
  }

  async request(method: string, path: string, options: HttpRequest = {}): Promise<HttpResponse> {
    const idempotent = options.idempotent ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method);
    const once = (): Promise<HttpResponse> => this.breaker.execute(() => this.send(method, path, options));
    try {
      return await (idempotent
        ? wrap(this.retrying, this.breaker).execute(() => this.send(method, path, options))
        : once());
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw unavailable(
          `${this.label} failed repeatedly; cx stops calling it for a while (circuit open)`,
          'CircuitOpen',
          error,
        );
      }
      throw error;
    }
  }

  private async send(method: string, path: string, options: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      if (
        typeof options.body !== 'string' &&
        !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')
      )
        headers['content-type'] = 'application/json';
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let response: HttpResponse;
    try {
      const answer = await undiciRequest(this.url(path), {
        method: method as 'GET',
        headers,
        body,
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      response = { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() };
    } catch (error) {
      throw networkError(error, this.label);
    }
    if (UNAVAILABLE_STATUSES.has(response.status)) {
      throw unavailable(`${this.label} answered ${response.status} to ${method} ${path}`, 'EndpointFailing');
    }
    return response;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Polls `read` until `done` holds, waiting `intervalMs` between reads; throws a provider error
 * with `reason` when the deadline passes (used for power-state truth and guest IP discovery).
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs: number; intervalMs?: number; what: string; reason: ProviderReason },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline)
      throw refused(`${options.what} did not happen within ${Math.round(options.timeoutMs / 1000)} s`, options.reason, {
        retryable: true,
      });
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}
