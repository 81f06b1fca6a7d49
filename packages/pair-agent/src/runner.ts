/**
 * Carries out {@link SideAgent}'s decisions against the side's Kubernetes API: answers the
 * witness's polls and commands, heartbeats the peer agent, and stops singletons when the agent
 * decides to (at start, and when isolated). It adds no decision of its own, only the care a real
 * API needs: reads that fail count every possibly running singleton as running, and reads and
 * writes are serialized so that a report never describes the side from before a command it
 * claims to have applied.
 */
import type { Logger } from 'pino';
import {
  type AgentDecision,
  type AgentState,
  type PairSpec,
  type ScaleCommand,
  type Side,
  type SideReport,
  type SingletonSpec,
  SideAgent,
  otherSide,
  singletonKey,
} from '@cx/pair';
import { type GateOutcome, KubernetesError, type SideRead } from './cluster.js';
import type { GateTokens } from './gate-tokens.js';

/** What the runner needs of the side's cluster ({@link SideCluster} in production). */
export interface SideApi {
  read(): Promise<SideRead>;
  scale(singleton: SingletonSpec, replicas: 0 | 1): Promise<'scaled' | 'missing'>;
  ensureGate(singleton: SingletonSpec): Promise<GateOutcome>;
}

/** The side as the agent last saw it. */
export interface LocalState {
  active: string[];
  ready: boolean;
}

/** The start gate of one singleton, as `GET /v1/status` shows it. */
export interface GateStatus {
  singleton: string;
  /** The singleton's Deployment carries the gate as configured (as of the last read or patch). */
  inPlace: boolean;
  /** Its token exists: the witness has activated it in this boot, so its pods may start. */
  token: boolean;
  /** Why the gate is not in place, or what went wrong with the token. */
  problem?: string;
}

/** `GET /v1/status`. */
export interface AgentStatus extends LocalState {
  side: Side;
  boot: number;
  state: AgentState;
  message: string;
  gates: GateStatus[];
}

/** The outcome of a command: refused, applied, or applied by the agent but not carried out by the API. */
export type CommandResult = { applied: false; reason: string } | { applied: true } | { applied: true; error: string };

/**
 * How long an activation whose outcome is unknown (the API did not answer, or failed with a 5xx)
 * keeps its singleton counted as active: the write may still reach etcd after the agent gave up
 * on it (kube-apiserver's default request timeout is 60 s), and a report saying "inactive" before
 * that could let the witness start it on the other side.
 */
export const UNSETTLED_WRITE_MS = 120_000;

/** A Deployment the agent could not put the gate into is tried again after this (a refusal is rarely fixed within seconds). */
export const GATE_RETRY_MS = 10_000;

export interface AgentRunnerOptions {
  spec: PairSpec;
  side: Side;
  boot: number;
  cluster: SideApi;
  /** The start gate's tokens on this node. */
  gate: GateTokens;
  peerUrl: string;
  token: string;
  intervalMs: number;
  logger: Logger;
  /** The agent's clock; the decision logic compares only times of it. */
  clock?: () => number;
}

export class AgentRunner {
  readonly agent: SideAgent;
  private readonly singletons: ReadonlyMap<string, SingletonSpec>;
  private readonly clock: () => number;
  private readonly lock = new Lock();
  private readonly log: Logger;
  /** Active singletons of the last read that succeeded; undefined before the first. */
  private lastRead: ReadonlySet<string> | undefined;
  /** Singletons whose Deployment wanted replicas at the last successful read. */
  private wanted: ReadonlySet<string> = new Set();
  /** Singletons activated since the last successful read: active whatever an earlier read said. */
  private readonly activatedSinceRead = new Set<string>();
  /** Singletons whose activation may still take effect, until when. */
  private readonly unsettled = new Map<string, number>();
  private local: LocalState;
  private decision: AgentDecision | undefined;
  private readProblem: string | undefined;
  private readonly missing = new Set<string>();
  /** Singletons whose Deployment lacked the gate at the last read, and why; undefined before the first read. */
  private ungated: Map<string, string> | undefined;
  /** Gates that could not be put in place or tokens that could not be removed: the problem, and when to try again. */
  private readonly gateFailures = new Map<string, { problem: string; retryAt: number }>();
  private readonly tokenFailures = new Map<string, string>();
  private notReady: string | undefined;
  private peer: { reachable: boolean; boot: number | undefined; problem: string | undefined } = {
    reachable: false,
    boot: undefined,
    problem: undefined,
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: AgentRunnerOptions) {
    this.clock = options.clock ?? Date.now;
    this.agent = new SideAgent(options.spec, options.side, options.boot, this.clock());
    this.singletons = new Map(options.spec.singletons.map((s) => [singletonKey(s), s]));
    this.log = options.logger;
    // Until the first read, everything may run.
    this.local = { active: [...this.singletons.keys()].sort(), ready: false };
  }

  get side(): Side {
    return this.options.side;
  }

  get boot(): number {
    return this.options.boot;
  }

  /** The answer to a poll: the witness is seen, then the side is read afresh. */
  poll(witnessTime: number): Promise<SideReport> {
    return this.lock.run(async () => {
      this.agent.observeWitness(witnessTime, this.clock());
      const local = await this.readLocal();
      // Defined: the witness was observed just above.
      return this.agent.report(this.clock(), local)!;
    });
  }

  /** A scaling command from the witness: accepted by the agent's rules, then carried out before the answer. */
  command(command: ScaleCommand): Promise<CommandResult> {
    return this.lock.run(async () => {
      const outcome = this.agent.acceptCommand(command, this.clock());
      if (!outcome.applied) {
        this.log.info({ command }, `command ${command.seq} refused: ${outcome.reason}`);
        return outcome;
      }
      const key = command.singleton;
      const singleton = this.singletons.get(key)!;
      // The token opens the gate before anything can make a pod, and closes it before the stop.
      if (command.replicas === 1) {
        try {
          this.options.gate.open(
            singleton,
            JSON.stringify({
              pair: this.options.spec.name,
              side: this.side,
              boot: this.boot,
              seq: command.seq,
              activatedAt: new Date(this.clock()).toISOString(),
            }),
          );
        } catch (error) {
          const message = `${(error as Error).message}; ${key} is not started`;
          this.log.error({ command, err: error }, `command ${command.seq}: ${message}`);
          return { applied: true, error: message };
        }
        this.activatedSinceRead.add(key);
      } else {
        this.closeToken(key, `command ${command.seq}`);
      }
      try {
        const result = await this.options.cluster.scale(singleton, command.replicas);
        this.log.info(
          { command },
          `command ${command.seq}: ${command.replicas === 1 ? 'started' : 'stopped'} ${key}${result === 'missing' ? ' (its Deployment does not exist)' : ''}`,
        );
        return { applied: true };
      } catch (error) {
        const message = (error as Error).message;
        // A refusal (4xx) changed nothing; no answer or a server error may still take effect.
        if (command.replicas === 1) {
          if (error instanceof KubernetesError && error.status !== undefined && error.status < 500)
            this.closeToken(key, `command ${command.seq}: the API refused the start`);
          else this.unsettled.set(key, this.clock() + UNSETTLED_WRITE_MS);
        }
        this.log.warn({ command, err: error }, `command ${command.seq} could not be carried out: ${message}`);
        return { applied: true, error: message };
      }
    });
  }

  /** A heartbeat from the peer agent; refused (false) when it claims to be this side. */
  heardPeer(side: Side, boot: number): boolean {
    if (side !== otherSide(this.side)) return false;
    this.agent.observePeer(this.clock());
    this.notePeer(boot);
    return true;
  }

  status(): AgentStatus {
    return {
      side: this.side,
      boot: this.boot,
      state: this.decision?.state ?? 'held',
      message: this.decision?.message ?? `boot ${this.boot}: starting`,
      active: this.local.active,
      ready: this.local.ready,
      gates: [...this.singletons]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, singleton]) => this.gateStatus(key, singleton)),
    };
  }

  /**
   * The start of a boot, before the agent answers anyone: every token is removed first (nothing of
   * a singleton may start in this boot before the witness activates it), then the side is held
   * (the first step stops every singleton) and the gates are put in place. Throws
   * {@link GateError} when the tokens cannot be removed: the agent must not run then.
   */
  async begin(): Promise<void> {
    await this.lock.run(async () => {
      const removed = this.options.gate.clear();
      if (removed.length > 0)
        this.log.info(
          { tokens: removed },
          `removed the gate tokens of an earlier boot from ${this.options.gate.dir}: ${removed.join(', ')}`,
        );
    });
    await this.step();
    await this.ensureGates();
  }

  /**
   * One turn of the loop's local half: read the side, let the agent decide, stop what it says.
   * Run once before the agent answers anyone, so that a new boot holds everything first. A token
   * outlives neither the agent's contact (held, isolated: every token goes) nor its singleton's
   * replicas (a Deployment read at 0, or gone, loses its token), and goes before any stop.
   */
  step(): Promise<void> {
    return this.lock.run(async () => {
      const local = await this.readLocal();
      const decision = this.agent.decide(this.clock(), local.active);
      this.noteDecision(decision);
      for (const key of this.singletons.keys()) {
        const mayKeep =
          decision.state === 'connected' &&
          (this.readProblem !== undefined || this.wanted.has(key) || this.unsettled.has(key));
        if (!mayKeep) this.closeToken(key, decision.state === 'connected' ? 'no replicas wanted' : decision.state);
      }
      for (const key of decision.deactivate) {
        // Already at 0 replicas: its pods are stopping; scaling again would change nothing.
        if (this.readProblem === undefined && !this.wanted.has(key)) continue;
        try {
          await this.options.cluster.scale(this.singletons.get(key)!, 0);
          this.log.warn({ singleton: key, state: decision.state }, `stopped ${key}: ${decision.message}`);
        } catch (error) {
          this.log.warn({ singleton: key, err: error }, `cannot stop ${key}: ${(error as Error).message}`);
        }
      }
    });
  }

  /**
   * Puts the gate into every singleton Deployment the last read found without it (or with another
   * one). Apart from the lock: a patch changes no replica count, and a slow one must not delay a
   * poll. A Deployment that cannot be patched is reported (status, log) and tried again later.
   */
  async ensureGates(): Promise<void> {
    const now = this.clock();
    const todo = [...(this.ungated ?? [])].filter(([key]) => (this.gateFailures.get(key)?.retryAt ?? 0) <= now);
    await Promise.all(
      todo.map(async ([key, reason]) => {
        const singleton = this.singletons.get(key)!;
        try {
          const result = await this.options.cluster.ensureGate(singleton);
          if (this.gateFailures.delete(key))
            this.log.info({ singleton: key }, `the start gate of ${key} can be put in place again`);
          this.ungated?.delete(key);
          if (result.outcome === 'patched') {
            this.log.warn(
              { singleton: key, gateDir: this.options.gate.dir },
              `added the start gate to the Deployment of ${key} (${result.replaced}): its pods roll once${result.wanted ? ', and its running pod is replaced' : ''}`,
            );
          }
        } catch (error) {
          const status = error instanceof KubernetesError ? error.status : undefined;
          const hint =
            status === 403
              ? ` (the agent's identity needs patch on deployments in namespace ${singleton.namespace})`
              : '';
          const problem = `${reason}, and the agent cannot add it: ${(error as Error).message}${hint}`;
          if (this.gateFailures.get(key)?.problem !== problem)
            this.log.error(
              { singleton: key, err: error },
              `the Deployment of ${key} has no start gate: ${problem}; its pods could start after a boot before the witness activates it`,
            );
          this.gateFailures.set(key, { problem, retryAt: this.clock() + GATE_RETRY_MS });
        }
      }),
    );
  }

  /** Sends one heartbeat to the peer; its answer is also how this side sees the peer. */
  async heartbeat(): Promise<void> {
    const timeoutMs = Math.max(10, Math.floor(this.options.intervalMs * 0.8));
    let problem: string;
    try {
      const response = await fetch(`${this.options.peerUrl}/v1/heartbeat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ side: this.side, boot: this.boot }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await response.json().catch(() => undefined)) as { side?: unknown; boot?: unknown } | undefined;
      if (response.status === 200 && body?.side === otherSide(this.side) && Number.isSafeInteger(body.boot)) {
        this.agent.observePeer(this.clock());
        this.notePeer(body.boot as number);
        return;
      }
      problem =
        response.status === 200
          ? `it answered as side ${JSON.stringify(body?.side)}, not ${otherSide(this.side)}`
          : `HTTP ${response.status}`;
    } catch (error) {
      const e = error as Error;
      problem =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : ((e.cause as Error | undefined)?.message ?? e.message);
    }
    if (this.peer.reachable || this.peer.problem !== problem) {
      this.log.warn({ peerUrl: this.options.peerUrl }, `the peer agent does not answer heartbeats: ${problem}`);
    }
    this.peer = { ...this.peer, reachable: false, problem };
  }

  /** Starts the loop: the local step, the heartbeats and the gates, each every `intervalMs`. */
  start(): void {
    this.every(() => this.heartbeat());
    this.every(() => this.step());
    this.every(() => this.ensureGates());
  }

  /** Stops the loop and waits for the turn under way; the singletons are left as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  /**
   * The side now. When the API cannot be read the side counts as not ready and every singleton
   * that may run as running: those of the last read, those activated since, or all of them.
   */
  private async readLocal(): Promise<LocalState> {
    const now = this.clock();
    for (const [key, until] of this.unsettled) if (until <= now) this.unsettled.delete(key);
    let active: Set<string>;
    let ready: boolean;
    try {
      const read = await this.options.cluster.read();
      this.lastRead = read.active;
      this.wanted = read.wanted;
      this.ungated = new Map(read.ungated);
      this.activatedSinceRead.clear();
      active = new Set(read.active);
      ready = read.ready;
      this.noteRead(read);
    } catch (error) {
      active = new Set([...(this.lastRead ?? this.singletons.keys()), ...this.activatedSinceRead]);
      ready = false;
      const problem = (error as Error).message;
      if (problem !== this.readProblem)
        this.log.error(
          { err: error },
          `cannot read the side's Kubernetes API; counting it not ready and ${[...active].join(', ') || 'no singleton'} as running: ${problem}`,
        );
      this.readProblem = problem;
    }
    for (const key of this.unsettled.keys()) active.add(key);
    this.local = { active: [...active].sort(), ready };
    return this.local;
  }

  /** Logs what changed since the last read, once. */
  private noteRead(read: SideRead): void {
    if (this.readProblem !== undefined) this.log.info("the side's Kubernetes API answers again");
    this.readProblem = undefined;
    for (const key of read.missing) {
      if (!this.missing.has(key))
        this.log.warn(
          { singleton: key },
          `the Deployment of singleton ${key} does not exist on side ${this.side}; counted inactive`,
        );
    }
    for (const key of this.missing)
      if (!read.missing.includes(key))
        this.log.info({ singleton: key }, `the Deployment of singleton ${key} exists again`);
    this.missing.clear();
    for (const key of read.missing) this.missing.add(key);
    if (read.notReadyReason !== this.notReady) {
      if (read.notReadyReason !== undefined) this.log.warn(`side ${this.side} is not ready: ${read.notReadyReason}`);
      else this.log.info(`side ${this.side} is ready`);
      this.notReady = read.notReadyReason;
    }
  }

  /** Removes the singleton's token; a failure is logged and reported, and tried again at the next step. */
  private closeToken(key: string, why: string): void {
    const singleton = this.singletons.get(key)!;
    try {
      if (this.options.gate.close(singleton))
        this.log.info({ singleton: key }, `removed the gate token of ${key} (${why})`);
      if (this.tokenFailures.delete(key))
        this.log.info({ singleton: key }, `the gate token of ${key} could be removed after all`);
    } catch (error) {
      const problem = (error as Error).message;
      if (this.tokenFailures.get(key) !== problem)
        this.log.error({ singleton: key, err: error }, `${problem}: a pod of ${key} could pass its start gate`);
      this.tokenFailures.set(key, problem);
    }
  }

  private gateStatus(key: string, singleton: SingletonSpec): GateStatus {
    let token: boolean;
    try {
      token = this.options.gate.isOpen(singleton);
    } catch {
      token = false;
    }
    const tokenProblem = this.tokenFailures.get(key);
    let problem: string | undefined;
    if (this.ungated === undefined) problem = 'the Deployment has not been read yet';
    else if (this.missing.has(key)) problem = `the Deployment does not exist on side ${this.side}`;
    else if (this.ungated.has(key))
      problem = this.gateFailures.get(key)?.problem ?? `${this.ungated.get(key)!}; being added`;
    const problems = [problem, tokenProblem].filter((p): p is string => p !== undefined);
    return {
      singleton: key,
      inPlace: problem === undefined,
      token,
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
    };
  }

  private noteDecision(decision: AgentDecision): void {
    if (decision.state !== this.decision?.state) {
      const level = decision.state === 'isolated' ? 'warn' : 'info';
      this.log[level]({ state: decision.state }, `${decision.state}: ${decision.message}`);
    }
    this.decision = decision;
  }

  private notePeer(boot: number): void {
    if (!this.peer.reachable || this.peer.boot !== boot) {
      const restarted = this.peer.boot !== undefined && this.peer.boot !== boot;
      this.log.info(
        { peerBoot: boot },
        restarted ? `the peer agent started again (boot ${boot})` : `the peer agent answers (boot ${boot})`,
      );
    }
    this.peer = { reachable: true, boot, problem: undefined };
  }

  /** Runs `work` now and then `intervalMs` after each start, never two at once. */
  private every(work: () => Promise<void>): void {
    const turn = async (): Promise<void> => {
      const started = this.clock();
      try {
        await work();
      } catch (error) {
        this.log.error({ err: error }, `the agent's loop failed: ${(error as Error).message}`);
      }
      if (this.stopped) return;
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          this.track(turn());
        },
        Math.max(0, started + this.options.intervalMs - this.clock()),
      );
      this.timers.add(timer);
    };
    this.track(turn());
  }

  private track(promise: Promise<void>): void {
    this.running.add(promise);
    void promise.finally(() => this.running.delete(promise));
  }
}

/** Runs async work one at a time, in the order it was asked for. */
class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
