/**
 * Exit codes of `cx`, stable so that scripts can branch on them (docs/cli.md lists them). A server
 * problem maps to one by its stable `code`, not by its text.
 */
import { CxError, ERROR_CODES, isErrorCode, type ErrorCode } from '@cx/errors';

export const EXIT = {
  ok: 0,
  /** Anything else: an unexpected answer, a server error (5xx), a local file that cannot be read. */
  error: 1,
  /** Bad usage: unknown command or option, a malformed argument, or a request the server refused as invalid (400). */
  usage: 2,
  /** Not signed in, or the session expired or was revoked (401). */
  unauthenticated: 3,
  /** Signed in, but not allowed (403). */
  notAllowed: 4,
  /** What was named does not exist (404). */
  notFound: 5,
  /** Refused because of the current state: a name taken, a cluster busy with another workflow, a changed version (409, 422). */
  conflict: 6,
  /** The server, or a service it depends on, cannot be reached or is unavailable (network errors, 503, 429). */
  unavailable: 7,
  /** `--wait` or `workflow watch`: the workflow ended Failed or Cancelled. */
  workflowFailed: 8,
  /** `--wait` or `workflow watch`: the workflow had not ended within `--timeout`. */
  timeout: 9,
  /** `cx diff`: a cluster differs from its file (0 when none does), as `kubectl diff` answers 1. */
  differs: 10,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each exit code means, in the order of the codes (for `--help` and docs/cli.md). */
export const EXIT_CODE_TABLE: Array<[ExitCode, string]> = [
  [EXIT.ok, 'success'],
  [EXIT.error, 'any other error (an unexpected answer, a server error, a file that cannot be read)'],
  [EXIT.usage, 'bad usage: unknown command or option, malformed argument, or a request the server refused as invalid'],
  [EXIT.unauthenticated, 'not signed in, or the session expired or was revoked: run `cx login`'],
  [EXIT.notAllowed, 'signed in but not allowed (no grant for this)'],
  [EXIT.notFound, 'what was named does not exist'],
  [EXIT.conflict, 'refused in the current state (name taken, cluster busy, quota, changed concurrently)'],
  [EXIT.unavailable, 'the server or a service it needs cannot be reached or is unavailable; retry later'],
  [EXIT.workflowFailed, 'with --wait or `workflow watch`: the workflow ended Failed or Cancelled'],
  [EXIT.timeout, 'with --wait or `workflow watch`: the workflow had not ended within --timeout'],
  [EXIT.differs, '`cx diff`: a cluster differs from its file (what `cx apply` would change is printed)'],
];

/** An error `cx` reports itself: a message for the user and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
    /** The server problem's stable code, shown with the message. */
    readonly code?: string,
    /** What the user can do about it, shown on its own line. */
    readonly hint?: string,
    /** Lines under the message: the invalid fields of a refused request. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A malformed command line or argument (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.usage, undefined, hint);
    this.name = 'UsageError';
  }
}

/** The exit code of a server problem, by its stable code (else by its HTTP status). */
export function exitCodeOf(code: string | undefined, status: number): ExitCode {
  const byStatus = isErrorCode(code) ? ERROR_CODES[code as ErrorCode].status : status;
  if (code === 'CX_INPUT_INVALID' || code === 'CX_PAYLOAD_TOO_LARGE' || code === 'CX_UNSUPPORTED_MEDIA_TYPE')
    return EXIT.usage;
  if (byStatus === 401 || code === 'CX_ACCOUNT_LOCKED') return EXIT.unauthenticated;
  if (byStatus === 403) return EXIT.notAllowed;
  if (byStatus === 404) return EXIT.notFound;
  if (byStatus === 409 || byStatus === 422) return EXIT.conflict;
  if (byStatus === 429 || byStatus === 503 || byStatus === 502) return EXIT.unavailable;
  if (byStatus === 400) return EXIT.usage;
  return EXIT.error;
}

/** What to do next about a problem, by its code; undefined when the detail says it already. */
export function hintFor(code: string | undefined): string | undefined {
  switch (code) {
    case 'CX_UNAUTHENTICATED':
      return 'sign in again: cx login SERVER --username NAME (or --sso)';
    case 'CX_NOT_ALLOWED':
      return 'ask an admin for a grant on this object (cx get grants shows yours)';
    case 'CX_CLUSTER_BUSY':
      return 'wait for the running workflow: cx describe cluster NAME shows it; cx workflow watch ID follows it';
    case 'CX_VERSION_CONFLICT':
      return 'it changed meanwhile: read it again and retry';
    case 'CX_QUOTA_EXCEEDED':
      return 'cx get resource-groups shows the quotas and their usage';
    case 'CX_RATE_LIMITED':
    case 'CX_DEPENDENCY_UNAVAILABLE':
    case 'CX_PROVIDER_UNAVAILABLE':
      return 'retry in a little while';
    default:
      return undefined;
  }
}

/** Turns whatever a command threw into what `cx` prints and its exit code. */
export function describeFailure(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) {
    const code = error.code ? ` (${error.code})` : '';
    const details = error.details.map((d) => `\n  ${d}`).join('');
    const hint = error.hint ? `\n  hint: ${error.hint}` : '';
    return { message: `${error.message}${code}${details}${hint}`, exitCode: error.exitCode };
  }
  if (error instanceof CxError) {
    const hint = hintFor(error.code);
    return {
      message: `${error.message} (${error.code})${hint ? `\n  hint: ${hint}` : ''}`,
      exitCode: exitCodeOf(error.code, error.status),
    };
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode: EXIT.error };
}
