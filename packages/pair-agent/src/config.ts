/**
 * The agent's configuration file: the pair's spec, which side this agent is, where it listens,
 * where its peer is, the pair's shared token and where the boot counter lives. Validated at start
 * with every problem listed, so that a pod that cannot work fails at once and says why.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { type PairSpec, type PairSpecProblem, type Side, assertPairSpec, checkPairSpec } from '@cx/pair';

export interface AgentConfig {
  spec: PairSpec;
  side: Side;
  /** Where the agent's HTTP server binds; port 0 picks a free one. */
  listen: { host: string; port: number };
  /** Base URL of the other side's agent, without a trailing slash. */
  peerUrl: string;
  /** Shared secret of the pair: every request in both directions carries it as a bearer token. */
  token: string;
  /** Holds the boot counter (`boot`); must survive reboots of the node. */
  stateDir: string;
  /**
   * The start gate's directory on the node, holding one token per singleton the witness activated
   * in this boot; mounted into every singleton pod's gate init container. It must be empty after
   * every boot of the node: a tmpfs (`/run` is one on real nodes).
   */
  gateDir: string;
  /** Image of the gate init container: pinned, since it runs in front of every singleton pod. */
  gateImage: string;
  /** Kubeconfig file of the side's cluster; absent: the in-cluster service account. */
  kubeconfig?: string;
  /** The node whose Ready condition is the side's `ready`; absent: the cluster's only node. */
  nodeName?: string;
  /** Period of the agent's loop and of its heartbeats to the peer; default 1 s, or a third of `spec.peerLossTimeoutMs` when shorter. */
  intervalMs: number;
  logLevel: LogLevel;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export const DEFAULT_INTERVAL_MS = 1_000;

/** Under /run, a tmpfs on real nodes: emptied by every boot, which is what the gate relies on. */
export const DEFAULT_GATE_DIR = '/run/cx-pair';

/** busybox for its `sh`, `[` and `sleep`; a released tag, never `latest`. */
export const DEFAULT_GATE_IMAGE = 'busybox:1.37.0';

/** A token shorter than this is refused: it is all that stands between the network and the pair's singletons. */
export const MIN_TOKEN_LENGTH = 16;

/** The file's shape; semantic checks (the spec, the URL, the timings) come after it. */
const fileSchema = {
  type: 'object',
  required: ['spec', 'side', 'listen', 'peerUrl', 'token', 'stateDir'],
  additionalProperties: false,
  properties: {
    spec: { type: 'object' },
    side: { enum: ['a', 'b'] },
    listen: { type: 'string', minLength: 3 },
    peerUrl: { type: 'string', minLength: 1 },
    // It travels in an HTTP header: printable ASCII, nothing to trim at either end.
    token: { type: 'string', minLength: MIN_TOKEN_LENGTH, pattern: '^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$' },
    stateDir: { type: 'string', minLength: 1 },
    gateDir: { type: 'string', minLength: 1 },
    gateImage: { type: 'string', minLength: 1 },
    kubeconfig: { type: 'string', minLength: 1 },
    nodeName: { type: 'string', minLength: 1 },
    intervalMs: { type: 'integer', minimum: 10 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] },
  },
} as const;

const validateFile = new Ajv({ allErrors: true, strict: true }).compile(fileSchema);

/** Thrown when the configuration cannot be used; `problems` lists everything wrong, each with its path. */
export class AgentConfigError extends Error {
  readonly code = 'CX_INPUT_INVALID';
  constructor(
    readonly source: string,
    readonly problems: PairSpecProblem[],
  ) {
    super(`invalid configuration ${source}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'AgentConfigError';
  }
}

/** Reads and validates the file; throws {@link AgentConfigError} with every problem. */
export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentConfigError(file, [{ path: '', message: `cannot read the file: ${(error as Error).message}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigError(file, [{ path: '', message: `the file is not JSON: ${(error as Error).message}` }]);
  }
  return parseAgentConfig(value, file);
}

/** Validates a parsed configuration (every problem at once) and fills in the defaults. */
export function parseAgentConfig(value: unknown, source = 'configuration'): AgentConfig {
  const problems: PairSpecProblem[] = [];
  if (!validateFile(value)) {
    problems.push(...(validateFile.errors ?? []).map(schemaProblem));
  }
  const raw = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof raw['spec'] === 'object' && raw['spec'] !== null && !Array.isArray(raw['spec'])) {
    problems.push(
      ...checkPairSpec(raw['spec']).map((p) => ({ path: p.path ? `spec.${p.path}` : 'spec', message: p.message })),
    );
  }
  const listen = typeof raw['listen'] === 'string' ? parseListen(raw['listen']) : undefined;
  if (typeof raw['listen'] === 'string' && !listen) {
    problems.push({
      path: 'listen',
      message: `"${raw['listen']}" is not host:port (a port from 0 to 65535; 0 picks a free one; an IPv6 host in brackets)`,
    });
  }
  const peerUrl = typeof raw['peerUrl'] === 'string' ? parsePeerUrl(raw['peerUrl']) : undefined;
  if (typeof raw['peerUrl'] === 'string' && !peerUrl) {
    problems.push({
      path: 'peerUrl',
      message: `"${raw['peerUrl']}" is not an http(s) base URL of the peer agent (no query, no fragment)`,
    });
  }
  const spec = raw['spec'] as Partial<PairSpec> | undefined;
  const intervalMs =
    typeof raw['intervalMs'] === 'number' ? raw['intervalMs'] : defaultInterval(spec?.peerLossTimeoutMs);
  if (typeof spec?.peerLossTimeoutMs === 'number' && intervalMs >= spec.peerLossTimeoutMs) {
    problems.push({
      path: 'intervalMs',
      message: `intervalMs (${intervalMs}) must be shorter than spec.peerLossTimeoutMs (${spec.peerLossTimeoutMs}), or the peers would lose each other between two heartbeats`,
    });
  }
  if (typeof raw['gateDir'] === 'string' && raw['gateDir'] !== '' && !isCleanAbsolute(raw['gateDir'])) {
    problems.push({
      path: 'gateDir',
      message: `"${raw['gateDir']}" is not an absolute path without "." or ".." parts or a trailing slash (the gate's hostPath must name the node's directory exactly)`,
    });
  }
  if (typeof raw['gateImage'] === 'string' && raw['gateImage'] !== '' && !isPinnedImage(raw['gateImage'])) {
    problems.push({
      path: 'gateImage',
      message: `"${raw['gateImage']}" is not a pinned image reference: give a tag other than latest, or a digest (the gate runs in front of every singleton pod and must not change under it)`,
    });
  }
  if (problems.length > 0) throw new AgentConfigError(source, problems);
  assertPairSpec(raw['spec']);
  return {
    spec: raw['spec'],
    side: raw['side'] as Side,
    listen: listen!,
    peerUrl: peerUrl!,
    token: raw['token'] as string,
    stateDir: raw['stateDir'] as string,
    gateDir: (raw['gateDir'] as string | undefined) ?? DEFAULT_GATE_DIR,
    gateImage: (raw['gateImage'] as string | undefined) ?? DEFAULT_GATE_IMAGE,
    ...(typeof raw['kubeconfig'] === 'string' ? { kubeconfig: raw['kubeconfig'] } : {}),
    ...(typeof raw['nodeName'] === 'string' ? { nodeName: raw['nodeName'] } : {}),
    intervalMs,
    logLevel: (raw['logLevel'] as LogLevel | undefined) ?? 'info',
  };
}

/**
 * 1 s, or a third of the pair's peer loss timeout when that is shorter, so that a pair declared
 * with short timings works without an `intervalMs` of its own.
 */
function defaultInterval(peerLossTimeoutMs: unknown): number {
  if (typeof peerLossTimeoutMs !== 'number' || !Number.isFinite(peerLossTimeoutMs)) return DEFAULT_INTERVAL_MS;
  return Math.max(10, Math.min(DEFAULT_INTERVAL_MS, Math.floor(peerLossTimeoutMs / 3)));
}

/** `127.0.0.1:8080`, `[::1]:0`, `0.0.0.0:9000` → host and port; undefined when it is none of these. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(listen);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

function isCleanAbsolute(path: string): boolean {
  return path === '/'
    ? false
    : path.startsWith('/') &&
        !path.endsWith('/') &&
        !/[\0\s]/.test(path) &&
        path
          .slice(1)
          .split('/')
          .every((part) => part !== '' && part !== '.' && part !== '..');
}

/** `busybox:1.37.0`, `registry.local:5000/tools/busybox:1.37.0`, `busybox@sha256:…`; not `busybox` nor `busybox:latest`. */
export function isPinnedImage(image: string): boolean {
  if (/\s/.test(image)) return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon <= 0) return false;
  const tag = last.slice(colon + 1);
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) && tag !== 'latest';
}

function parsePeerUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    return undefined;
  return url.href.replace(/\/+$/, '');
}

function schemaProblem(error: ErrorObject): PairSpecProblem {
  const base = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = error.params as Record<string, unknown>;
  const join = (name: unknown): string => (base ? `${base}.${String(name)}` : String(name));
  switch (error.keyword) {
    case 'required':
      return { path: join(params['missingProperty']), message: 'is required' };
    case 'additionalProperties':
      return { path: join(params['additionalProperty']), message: 'is not a known key' };
    case 'enum':
      return {
        path: base,
        message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'minLength':
      return {
        path: base,
        message: base === 'token' ? `must be at least ${MIN_TOKEN_LENGTH} characters` : 'must not be empty',
      };
    case 'pattern':
      return {
        path: base,
        message: 'must be printable ASCII without spaces at either end (it is sent in an HTTP header)',
      };
    default:
      return { path: base, message: error.message ?? 'is invalid' };
  }
}
