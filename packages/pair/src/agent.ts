/**
 * The logic of the agent that runs on each side (a small pod on each single-node cluster). The
 * agent never starts a singleton on its own: only the witness's commands do. What it decides
 * alone is to stop: at start (wait-for-all: it holds everything inactive until it has seen its
 * peer or the witness) and when it has lost both for `isolationTimeoutMs`, because then it
 * cannot prove that it is the survivor.
 */
import type { ScaleCommand, SideReport } from './messages.js';
import { type PairSpec, type Side, singletonKey } from './spec.js';

export type AgentState = 'held' | 'connected' | 'isolated';

export interface AgentDecision {
  /** Singleton keys the agent scales to 0 on its own side now. */
  deactivate: string[];
  state: AgentState;
  message: string;
}

export type CommandOutcome = { applied: true } | { applied: false; reason: string };

export class SideAgent {
  private lastPeerAt: number | undefined;
  private lastWitnessAt: number | undefined;
  private witnessTime: number | undefined;
  private appliedSeq = 0;
  private reportSeq = 0;
  private readonly keys: ReadonlySet<string>;

  /**
   * A new agent is a new boot: `boot` must be higher than every earlier boot of the side (a
   * counter on the node's disk), and the agent holds everything inactive until it sees its peer or
   * the witness.
   */
  constructor(
    private readonly spec: PairSpec,
    readonly side: Side,
    readonly boot: number,
    private readonly startedAt: number,
  ) {
    this.keys = new Set(spec.singletons.map(singletonKey));
  }

  /** The peer's agent was heard (its heartbeat over the a–b link). */
  observePeer(now: number): void {
    this.lastPeerAt = now;
  }

  /** The witness polled this side; `witnessTime` is the witness's clock in the poll. */
  observeWitness(witnessTime: number, now: number): void {
    this.lastWitnessAt = now;
    this.witnessTime = Math.max(this.witnessTime ?? witnessTime, witnessTime);
  }

  /**
   * A command from the witness. Refused unless it addresses this boot and is newer than every
   * command applied so far: a command that was delayed, or sent to the side before it restarted,
   * can never be applied late.
   */
  acceptCommand(command: ScaleCommand, now: number): CommandOutcome {
    this.observeWitness(command.issuedAt, now);
    if (command.side !== this.side)
      return { applied: false, reason: `command for side ${command.side}, this is side ${this.side}` };
    if (command.boot !== this.boot)
      return { applied: false, reason: `command for boot ${command.boot}, this is boot ${this.boot}` };
    if (command.seq <= this.appliedSeq)
      return { applied: false, reason: `stale command ${command.seq}: applied up to ${this.appliedSeq}` };
    if (!this.keys.has(command.singleton))
      return { applied: false, reason: `${command.singleton} is not a singleton of pair ${this.spec.name}` };
    this.appliedSeq = command.seq;
    return { applied: true };
  }

  /** What to stop on the side now, given the singletons that are active on it. */
  decide(now: number, active: Iterable<string>): AgentDecision {
    const stop = [...active].filter((key) => this.keys.has(key)).sort();
    if (this.lastPeerAt === undefined && this.lastWitnessAt === undefined) {
      return {
        deactivate: stop,
        state: 'held',
        message: `boot ${this.boot}: holding every singleton inactive until the peer or the witness is seen (wait-for-all)`,
      };
    }
    const limit = this.spec.isolationTimeoutMs;
    const peerFresh = this.lastPeerAt !== undefined && now - this.lastPeerAt < limit;
    const witnessFresh = this.lastWitnessAt !== undefined && now - this.lastWitnessAt < limit;
    if (peerFresh || witnessFresh) {
      return {
        deactivate: [],
        state: 'connected',
        message: `sees ${[peerFresh ? 'its peer' : '', witnessFresh ? 'the witness' : ''].filter(Boolean).join(' and ')}`,
      };
    }
    const since = Math.max(this.lastPeerAt ?? this.startedAt, this.lastWitnessAt ?? this.startedAt);
    return {
      deactivate: stop,
      state: 'isolated',
      message: `has seen neither its peer nor the witness for ${Math.round((now - since) / 1000)}s: singletons stopped, this side cannot prove it is the survivor`,
    };
  }

  /** The answer to a poll; undefined before the witness has ever polled this boot. */
  report(now: number, local: { active: Iterable<string>; ready: boolean }): SideReport | undefined {
    if (this.witnessTime === undefined) return undefined;
    this.reportSeq += 1;
    return {
      side: this.side,
      boot: this.boot,
      seq: this.reportSeq,
      witnessTime: this.witnessTime,
      seesPeer: this.lastPeerAt !== undefined && now - this.lastPeerAt < this.spec.peerLossTimeoutMs,
      ready: local.ready,
      appliedSeq: this.appliedSeq,
      active: [...local.active].filter((key) => this.keys.has(key)).sort(),
    };
  }
}
