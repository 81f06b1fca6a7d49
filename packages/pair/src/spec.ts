/**
 * The declaration of a two-node pair (seed 002): two single-node clusters, the *sides* `a` and
 * `b`, each with a BMC cx can power it off through, and the singleton Deployments that must run
 * on at most one side at a time, each with the side it prefers.
 */

export type Side = 'a' | 'b';

export const SIDES: readonly Side[] = ['a', 'b'];

export function otherSide(side: Side): Side {
  return side === 'a' ? 'b' : 'a';
}

export type BmcProtocol = 'redfish' | 'ipmi' | 'provider';

const BMC_PROTOCOLS: readonly BmcProtocol[] = ['redfish', 'ipmi', 'provider'];

/** How cx powers a side off and reads its power state; fencing is impossible without it. */
export interface BmcSpec {
  protocol: BmcProtocol;
  /** Redfish/IPMI endpoint, or the provider's machine id for `provider`. */
  address: string;
  /** Name of the credential cx uses for the BMC (never the secret itself). */
  credentialsSecret?: string;
}

export interface SideSpec {
  /** The cx cluster (a single-node cluster) that is this side. */
  cluster: string;
  /** Optional in the type so that a spec without one is reported by {@link checkPairSpec}, not a crash. */
  bmc?: BmcSpec;
}

/** A Deployment that exists on both sides and is scaled to 1 on at most one of them. */
export interface SingletonSpec {
  namespace: string;
  name: string;
  /** Where it runs whenever both sides are healthy and see each other. */
  preferredSide: Side;
}

/**
 * Timings of the pair, in milliseconds. The witness and the agents read only these; nothing in
 * the decision logic reads a clock.
 */
export interface PairTiming {
  /** Silence after which the witness counts a side as lost, and a side stops seeing its peer. */
  peerLossTimeoutMs: number;
  /** Extra silence the witness waits before fencing the pair's `preferredSide`, so that in a race the other side loses. */
  fencingDelayMs: number;
  /**
   * Time within which a BMC that accepted a power-off must report the side off; the attempt has
   * failed after it. Also the time after a power-off command during which the other side is never
   * fenced (a slow BMC may still act), so it must exceed the slowest BMC's power-off.
   */
  fenceTimeoutMs: number;
  /** Wait after a failed fence before the next attempt. */
  fenceRetryMs: number;
  /** How often the witness reads the power state of a side whose fence is pending. */
  powerPollIntervalMs: number;
  /** A side that has seen neither its peer nor the witness for this long stops its singletons. */
  isolationTimeoutMs: number;
  /** Wait before a scaling command that had no visible effect is sent again. */
  commandRetryMs: number;
}

export interface PairSpec extends PairTiming {
  name: string;
  sides: { a: SideSpec; b: SideSpec };
  singletons: SingletonSpec[];
  /** The side that wins a fencing race: fencing it waits `fencingDelayMs` longer. */
  preferredSide: Side;
  /**
   * What the witness does once a fenced side is confirmed off: `power-on` (default, like a
   * reboot fence: the side comes back held by wait-for-all) or `stay-off` (an admin powers it on).
   */
  afterFence: 'power-on' | 'stay-off';
}

export const DEFAULT_PAIR_TIMING: Readonly<PairTiming> = Object.freeze({
  peerLossTimeoutMs: 10_000,
  fencingDelayMs: 10_000,
  fenceTimeoutMs: 60_000,
  fenceRetryMs: 30_000,
  powerPollIntervalMs: 2_000,
  isolationTimeoutMs: 20_000,
  commandRetryMs: 10_000,
});

/** The key of a singleton everywhere in this package: `namespace/name`. */
export function singletonKey(singleton: Pick<SingletonSpec, 'namespace' | 'name'>): string {
  return `${singleton.namespace}/${singleton.name}`;
}

/** One thing wrong with a spec, named by its path (`sides.b.bmc`, `singletons[2].preferredSide`). */
export interface PairSpecProblem {
  path: string;
  message: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const TIMING_KEYS = Object.keys(DEFAULT_PAIR_TIMING) as (keyof PairTiming)[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSide(value: unknown): value is Side {
  return value === 'a' || value === 'b';
}

function checkSide(side: Side, value: unknown, problems: PairSpecProblem[]): void {
  const path = `sides.${side}`;
  if (!isRecord(value)) {
    problems.push({ path, message: `side ${side} is missing` });
    return;
  }
  if (typeof value.cluster !== 'string' || value.cluster.trim() === '') {
    problems.push({ path: `${path}.cluster`, message: `side ${side} names no cluster` });
  }
  const bmc = value.bmc;
  if (!isRecord(bmc)) {
    problems.push({
      path: `${path}.bmc`,
      message: `side ${side} has no BMC: without one cx cannot prove a lost side is off, so its singletons could never move`,
    });
    return;
  }
  if (!BMC_PROTOCOLS.includes(bmc.protocol as BmcProtocol)) {
    problems.push({
      path: `${path}.bmc.protocol`,
      message: `side ${side}'s BMC protocol must be one of ${BMC_PROTOCOLS.join(', ')}`,
    });
  }
  if (typeof bmc.address !== 'string' || bmc.address.trim() === '') {
    problems.push({ path: `${path}.bmc.address`, message: `side ${side}'s BMC has no address` });
  }
}

/**
 * Every problem of a spec (an empty list when it is valid), so that an API can refuse it with all
 * of them at once. Takes `unknown` because specs arrive as JSON.
 */
export function checkPairSpec(spec: unknown): PairSpecProblem[] {
  const problems: PairSpecProblem[] = [];
  if (!isRecord(spec)) return [{ path: '', message: 'a pair spec must be an object' }];
  if (typeof spec.name !== 'string' || !DNS_LABEL.test(spec.name)) {
    problems.push({
      path: 'name',
      message: 'the name must be a DNS label (lower-case letters, digits and "-", at most 63)',
    });
  }
  const sides = isRecord(spec.sides) ? spec.sides : {};
  if (!isRecord(spec.sides)) problems.push({ path: 'sides', message: 'sides a and b are missing' });
  else for (const side of SIDES) checkSide(side, sides[side], problems);
  const a = sides.a;
  const b = sides.b;
  if (isRecord(a) && isRecord(b) && typeof a.cluster === 'string' && a.cluster !== '' && a.cluster === b.cluster) {
    problems.push({
      path: 'sides.b.cluster',
      message: `both sides are cluster "${a.cluster}": a pair needs two clusters`,
    });
  }
  if (!isSide(spec.preferredSide)) {
    problems.push({
      path: 'preferredSide',
      message: `preferredSide must be "a" or "b", not ${JSON.stringify(spec.preferredSide)}`,
    });
  }
  if (spec.afterFence !== 'power-on' && spec.afterFence !== 'stay-off') {
    problems.push({ path: 'afterFence', message: 'afterFence must be "power-on" or "stay-off"' });
  }
  if (!Array.isArray(spec.singletons)) {
    problems.push({ path: 'singletons', message: 'singletons must be a list' });
  } else {
    const seen = new Map<string, number>();
    spec.singletons.forEach((item: unknown, index) => {
      const path = `singletons[${index}]`;
      if (!isRecord(item)) {
        problems.push({ path, message: 'a singleton must be an object with namespace, name and preferredSide' });
        return;
      }
      if (typeof item.namespace !== 'string' || !DNS_LABEL.test(item.namespace)) {
        problems.push({ path: `${path}.namespace`, message: 'the namespace must be a DNS label' });
      }
      if (typeof item.name !== 'string' || !DNS_SUBDOMAIN.test(item.name)) {
        problems.push({ path: `${path}.name`, message: 'the name must be a DNS subdomain' });
      }
      if (!isSide(item.preferredSide)) {
        problems.push({
          path: `${path}.preferredSide`,
          message: `unknown preferred side ${JSON.stringify(item.preferredSide)}: must be "a" or "b"`,
        });
      }
      const key = `${String(item.namespace)}/${String(item.name)}`;
      const first = seen.get(key);
      if (first !== undefined) problems.push({ path, message: `${key} is listed twice (also singletons[${first}])` });
      else seen.set(key, index);
    });
  }
  for (const key of TIMING_KEYS) {
    const value = spec[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      problems.push({ path: key, message: `${key} must be a whole number of milliseconds, 0 or more` });
    } else if (value === 0 && key !== 'fencingDelayMs') {
      problems.push({ path: key, message: `${key} must be more than 0` });
    }
  }
  if (
    typeof spec.powerPollIntervalMs === 'number' &&
    typeof spec.fenceTimeoutMs === 'number' &&
    spec.powerPollIntervalMs >= spec.fenceTimeoutMs
  ) {
    problems.push({
      path: 'powerPollIntervalMs',
      message:
        'powerPollIntervalMs must be shorter than fenceTimeoutMs, or a fence could time out before its power state is read',
    });
  }
  return problems;
}

/** Thrown by {@link assertPairSpec}; `problems` lists everything wrong. */
export class PairSpecError extends Error {
  constructor(readonly problems: PairSpecProblem[]) {
    super(`invalid pair spec: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`);
    this.name = 'PairSpecError';
  }
}

/** Narrows a checked spec; the witness and the agents take only specs that passed this. */
export function assertPairSpec(spec: unknown): asserts spec is PairSpec {
  const problems = checkPairSpec(spec);
  if (problems.length > 0) throw new PairSpecError(problems);
}
