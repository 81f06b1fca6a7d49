/**
 * Business errors of cx. Each kind carries a stable `code` (catalogued in docs/errors.md) and no
 * HTTP: one handler per service maps them to RFC 9457 problem+json. Classification elsewhere
 * (retries, HTTP status) is by `code`, never by `instanceof` alone, so that an error that crossed
 * a process boundary as JSON is recognised the same way.
 */

/** Every error code cx can answer with; the list in docs/errors.md is checked against it. */
export const ERROR_CODES = {
  CX_INPUT_INVALID: { status: 400, title: 'Invalid request' },
  CX_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  CX_LOGIN_FAILED: { status: 401, title: 'Login failed' },
  CX_ACCOUNT_LOCKED: { status: 423, title: 'Account locked' },
  CX_NOT_ALLOWED: { status: 403, title: 'Not allowed' },
  CX_NOT_FOUND: { status: 404, title: 'Not found' },
  CX_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CX_CONFLICT: { status: 409, title: 'Conflict' },
  CX_NAME_TAKEN: { status: 409, title: 'Name already in use' },
  CX_CLUSTER_BUSY: { status: 409, title: 'Cluster has a workflow in progress' },
  CX_VERSION_CONFLICT: { status: 409, title: 'Resource changed concurrently' },
  CX_WORKFLOW_STATE: { status: 409, title: 'Workflow is not in a state that allows this' },
  CX_DRAIN_BLOCKED: { status: 409, title: 'Node drain blocked' },
  CX_POOL_EXHAUSTED: { status: 409, title: 'IP pool exhausted' },
  CX_CLUSTER_NOT_READY: { status: 409, title: 'Cluster is not Ready' },
  CX_IDEMPOTENCY_MISMATCH: { status: 422, title: 'Idempotency-Key reused with a different request' },
  CX_QUOTA_EXCEEDED: { status: 422, title: 'Resource group quota exceeded' },
  CX_LIMIT_EXCEEDED: { status: 422, title: 'Scale limit exceeded' },
  CX_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  CX_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  CX_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  CX_DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A service cx depends on is unavailable' },
  CX_PROVIDER_UNAVAILABLE: { status: 503, title: 'Infrastructure provider unavailable' },
  CX_PROVIDER_ERROR: { status: 502, title: 'Infrastructure provider failed' },
  CX_CREDENTIAL_UNREACHABLE: { status: 422, title: 'Credential endpoint unreachable' },
  CX_CREDENTIAL_UNTRUSTED: { status: 422, title: 'Credential endpoint certificate not trusted' },
  CX_CREDENTIAL_REJECTED: { status: 422, title: 'Credential rejected by its endpoint' },
  CX_ENDPOINT_NOT_ALLOWED: { status: 422, title: 'Endpoint refused by the egress policy' },
  CX_INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorOptions {
  /** Machine-readable details (e.g. the invalid fields); safe to show to the caller. */
  details?: Record<string, unknown>;
  /** Whether a workflow step failing with this error may be retried. */
  retryable?: boolean;
  /** Seconds after which a retry makes sense (503 and 429 answers carry it as Retry-After). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** Base of every cx business error. */
export class CxError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    this.retryable = options.retryable ?? defaultRetryable(code);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

function defaultRetryable(code: ErrorCode): boolean {
  return code === 'CX_DEPENDENCY_UNAVAILABLE' || code === 'CX_PROVIDER_UNAVAILABLE' || code === 'CX_RATE_LIMITED';
}

/** One invalid field of a request, named by its JSON pointer-like path. */
export interface FieldError {
  field: string;
  message: string;
}

export class InputError extends CxError {
  constructor(message: string, fields: FieldError[] = [], options: ErrorOptions = {}) {
    super('CX_INPUT_INVALID', message, { ...options, details: { ...options.details, fields } });
  }
  get fields(): FieldError[] {
    return (this.details?.['fields'] as FieldError[] | undefined) ?? [];
  }
}

export class NotFoundError extends CxError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CX_NOT_FOUND', message, options);
  }
}

export class ConflictError extends CxError {
  constructor(
    message: string,
    code:
      | 'CX_CONFLICT'
      | 'CX_NAME_TAKEN'
      | 'CX_CLUSTER_BUSY'
      | 'CX_VERSION_CONFLICT'
      | 'CX_WORKFLOW_STATE'
      | 'CX_IDEMPOTENCY_MISMATCH'
      | 'CX_POOL_EXHAUSTED' = 'CX_CONFLICT',
    options: ErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class AuthenticationError extends CxError {
  constructor(
    message: string,
    code: 'CX_UNAUTHENTICATED' | 'CX_LOGIN_FAILED' | 'CX_ACCOUNT_LOCKED' = 'CX_UNAUTHENTICATED',
    options: ErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class NotAllowedError extends CxError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CX_NOT_ALLOWED', message, options);
  }
}

/** A dependency (SQL, Redis, sm) cannot be reached; the caller should retry later. */
export class DependencyUnavailableError extends CxError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CX_DEPENDENCY_UNAVAILABLE', message, { retryAfterSeconds: 5, ...options });
  }
}

export class ProviderUnavailableError extends CxError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CX_PROVIDER_UNAVAILABLE', message, { retryAfterSeconds: 5, ...options });
  }
}

/** The provider answered but refused or failed the operation. Not retryable unless said so. */
export class ProviderError extends CxError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CX_PROVIDER_ERROR', message, options);
  }
}

/**
 * A credential (of a provider or a BMC) failed its check against its endpoint before cx stored it:
 * unreachable, untrusted certificate, or refused login. Nothing was stored.
 */
export class CredentialError extends CxError {
  constructor(
    code: 'CX_CREDENTIAL_UNREACHABLE' | 'CX_CREDENTIAL_UNTRUSTED' | 'CX_CREDENTIAL_REJECTED',
    message: string,
    options: ErrorOptions = {},
  ) {
    super(code, message, { ...options, retryable: false });
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** The RFC 9457 body every cx service answers errors with. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  retryable?: boolean;
  [extension: string]: unknown;
}

export const PROBLEM_TYPE_BASE = 'https://cx.dev/problems/';

/** Turns any thrown value into a problem body; internals of unexpected errors are hidden. */
export function toProblem(error: unknown, requestId?: string): Problem {
  const cx = asCxError(error);
  const meta = ERROR_CODES[cx.code];
  // Details come first so that none of them can replace a member RFC 9457 defines.
  const problem: Problem = {
    ...(cx.details ?? {}),
    type: PROBLEM_TYPE_BASE + cx.code.slice(3).toLowerCase().replace(/_/g, '-'),
    title: meta.title,
    status: meta.status,
    detail:
      cx.code === 'CX_INTERNAL'
        ? 'An unexpected error occurred; the request id identifies it in the logs.'
        : cx.message,
    code: cx.code,
    retryable: cx.retryable,
  };
  if (requestId !== undefined) problem.requestId = requestId;
  return problem;
}

/** Rebuilds a CxError from a problem body received from another cx service. */
export function fromProblem(problem: Partial<Problem>, fallbackStatus: number): CxError {
  const code: ErrorCode = isErrorCode(problem.code)
    ? problem.code
    : fallbackStatus >= 500
      ? 'CX_INTERNAL'
      : 'CX_CONFLICT';
  const {
    type: _t,
    title: _ti,
    status: _s,
    detail,
    code: _c,
    requestId: _r,
    retryable,
    instance: _i,
    ...details
  } = problem;
  return new CxError(code, detail ?? 'unknown error', {
    details: Object.keys(details).length > 0 ? details : undefined,
    ...(typeof retryable === 'boolean' ? { retryable } : {}),
    ...(typeof details['retryAfter'] === 'number'
      ? { retryAfterSeconds: details['retryAfter'] }
      : ERROR_CODES[code].status === 503 || code === 'CX_RATE_LIMITED'
        ? { retryAfterSeconds: 5 }
        : {}),
  } as ErrorOptions);
}

export function asCxError(error: unknown): CxError {
  if (error instanceof CxError) return error;
  if (isCxErrorLike(error)) {
    return new CxError(error.code, error.message, { details: error.details, retryable: error.retryable });
  }
  return new CxError('CX_INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}

function isCxErrorLike(
  error: unknown,
): error is { code: ErrorCode; message: string; details?: Record<string, unknown>; retryable?: boolean } {
  return (
    typeof error === 'object' &&
    error !== null &&
    isErrorCode((error as { code?: unknown }).code) &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}
