/**
 * The witness of a two-node pair: cx's side of the pair, the quorum arbitrator that alone decides
 * where each singleton runs. It is pure: observations and the time come in, actions and a status
 * go out, and its durable part is a JSON snapshot the driver keeps in cx's database.
 *
 * The rule everything else serves: a singleton is activated on side X only when the witness
 * knows the other side Y does not run it, which it learns in exactly three ways:
 * - Y answered, after the last activation sent to it, that the singleton is inactive (the
 *   command numbering makes a late or delayed answer unable to pass for a newer one);
 * - Y's BMC read the power as off, after a fence (never silence);
 * - Y restarted since that activation (a start holds everything inactive, and a command sent to
 *   an earlier boot is refused).
 */
import type { SideReport, WitnessAction, WitnessObservation } from './messages.js';
import { type PairSpec, type Side, SIDES, otherSide, singletonKey } from './spec.js';

/** Where a side's fencing stands. Persisted: a restarted witness finishes what it started. */
export type FenceState =
  | { phase: 'idle' }
  | {
      phase: 'pending';
      attempt: number;
      startedAt: number;
      accepted: boolean;
      lastPowerState?: 'on' | 'unknown';
      lastReason?: string;
    }
  | { phase: 'confirmed'; attempt: number; at: number; poweredOn: boolean }
  | { phase: 'failed'; attempt: number; at: number; reason: string };

interface SideRecord {
  /** Highest boot heard from the side; reports of earlier boots are stale. */
  knownBoot: number;
  fenceAttempts: number;
  /** When a power-off was last sent to the side's BMC and not yet seen done; the other side is not fenced meanwhile. */
  lastFenceCommandAt: number | null;
  fence: FenceState;
}

interface SingletonRecord {
  /** The side the witness lets it run on; changes only once the other side is known not to run it. */
  owner: Side | null;
  /** Whether the side may be running it: true until proven otherwise (unknown counts as running). */
  mayRun: Record<Side, boolean>;
  /** The last activation sent to each side, which an answer must postdate to count as a stop. */
  lastActivation: Record<Side, { boot: number; seq: number } | null>;
}

/** The witness's durable state, JSON-serialisable. Persist it after every decision, before acting. */
export interface WitnessSnapshot {
  version: 1;
  pair: string;
  nextSeq: number;
  sides: Record<Side, SideRecord>;
  singletons: Record<string, SingletonRecord>;
}

/** Stable reasons a user can see in the status, with a human-readable message each. */
export type PairReason =
  | 'Healthy'
  | 'Partitioned'
  | 'SideUnreachable'
  | 'SideLost'
  | 'FenceDelayed'
  | 'FenceBlocked'
  | 'FencePending'
  | 'FenceFailed'
  | 'Fenced'
  | 'BothSidesLost'
  | 'SurvivorNotReady'
  | 'NotReady';

export interface PairCondition {
  reason: PairReason;
  side?: Side;
  message: string;
}

export interface SideStatus {
  /** Answered the witness within `peerLossTimeoutMs` (and no command to it failed since). */
  reachable: boolean;
  lastHeardAt: number | null;
  seesPeer: boolean | null;
  ready: boolean | null;
  boot: number;
  fence: FenceState;
}

export type SingletonState = 'Running' | 'Starting' | 'Stopping' | 'Waiting' | 'Stopped';

export interface SingletonStatus {
  singleton: string;
  preferredSide: Side;
  owner: Side | null;
  /** Sides that reported it active, or that may run it as far as the witness can prove. */
  runningOn: Side[];
  state: SingletonState;
  message: string;
}

export type PairPhase = 'Healthy' | 'Degraded' | 'Partitioned' | 'Fencing' | 'Blocked';

export interface PairStatus {
  at: number;
  phase: PairPhase;
  conditions: PairCondition[];
  sides: Record<Side, SideStatus>;
  singletons: SingletonStatus[];
}

export interface WitnessDecision {
  actions: WitnessAction[];
  status: PairStatus;
}

interface Volatile {
  lastHeard: number | undefined;
  report: SideReport | undefined;
  unreachableAt: number | undefined;
  fenceSent: boolean;
  lastPowerReadAt: number | undefined;
}

interface SentCommand {
  replicas: 0 | 1;
  boot: number;
  seq: number;
  at: number;
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}

function newSingletonRecord(): SingletonRecord {
  return { owner: null, mayRun: { a: true, b: true }, lastActivation: { a: null, b: null } };
}

export class PairWitness {
  private readonly volatile: Record<Side, Volatile>;
  private readonly sent = new Map<string, SentCommand>();

  private constructor(
    private readonly spec: PairSpec,
    private readonly state: WitnessSnapshot,
    private readonly startedAt: number,
  ) {
    const fresh = (): Volatile => ({
      lastHeard: undefined,
      report: undefined,
      unreachableAt: undefined,
      fenceSent: false,
      lastPowerReadAt: undefined,
    });
    this.volatile = { a: fresh(), b: fresh() };
  }

  /** A witness for a newly declared pair: it assumes nothing, so both sides may run everything until they answer. */
  static create(spec: PairSpec, now: number): PairWitness {
    const side = (): SideRecord => ({
      knownBoot: 0,
      fenceAttempts: 0,
      lastFenceCommandAt: null,
      fence: { phase: 'idle' },
    });
    const singletons: Record<string, SingletonRecord> = {};
    for (const singleton of spec.singletons) singletons[singletonKey(singleton)] = newSingletonRecord();
    return new PairWitness(
      spec,
      { version: 1, pair: spec.name, nextSeq: 1, sides: { a: side(), b: side() }, singletons },
      now,
    );
  }

  /**
   * A witness restarted from its persisted snapshot. What it heard before is gone, so no side
   * counts as lost before `peerLossTimeoutMs` after `now`; a pending fence is sent again. A
   * singleton added to the spec since starts as "may run anywhere"; a removed one is forgotten.
   */
  static restore(spec: PairSpec, snapshot: WitnessSnapshot, now: number): PairWitness {
    if (snapshot.version !== 1 || snapshot.pair !== spec.name)
      throw new Error(
        `snapshot of pair ${snapshot.pair} (version ${snapshot.version}) does not belong to pair ${spec.name}`,
      );
    const state = structuredClone(snapshot);
    const singletons: Record<string, SingletonRecord> = {};
    for (const singleton of spec.singletons) {
      const key = singletonKey(singleton);
      singletons[key] = state.singletons[key] ?? newSingletonRecord();
    }
    state.singletons = singletons;
    return new PairWitness(spec, state, now);
  }

  /** The durable state to persist (a copy). */
  snapshot(): WitnessSnapshot {
    return structuredClone(this.state);
  }

  observe(observation: WitnessObservation): void {
    switch (observation.kind) {
      case 'report':
        this.observeReport(observation.report);
        return;
      case 'unreachable': {
        const v = this.volatile[observation.side];
        v.unreachableAt = Math.max(v.unreachableAt ?? observation.at, observation.at);
        for (const key of [...this.sent.keys()]) if (key.startsWith(`${observation.side}|`)) this.sent.delete(key);
        return;
      }
      case 'fenceResult': {
        const fence = this.state.sides[observation.side].fence;
        if (fence.phase !== 'pending' || fence.attempt !== observation.attempt) return;
        if (observation.outcome === 'accepted') fence.accepted = true;
        else
          this.state.sides[observation.side].fence = {
            phase: 'failed',
            attempt: fence.attempt,
            at: observation.at,
            reason: observation.reason ?? 'the BMC refused the power-off',
          };
        return;
      }
      case 'powerState': {
        const record = this.state.sides[observation.side];
        const fence = record.fence;
        if (fence.phase !== 'pending' || fence.attempt !== observation.attempt) return;
        if (observation.state === 'off') this.confirmFence(observation.side, fence.attempt, observation.at);
        else {
          fence.lastPowerState = observation.state;
          if (observation.reason !== undefined) fence.lastReason = observation.reason;
        }
        return;
      }
    }
  }

  private observeReport(report: SideReport): void {
    const side = report.side;
    const record = this.state.sides[side];
    const v = this.volatile[side];
    if (report.boot < record.knownBoot) return;
    if (v.report && (report.boot < v.report.boot || (report.boot === v.report.boot && report.seq <= v.report.seq)))
      return;
    // After a confirmed power-off, only a poll answered after it can come from the side as it is now.
    if (record.fence.phase === 'confirmed' && report.witnessTime < record.fence.at) return;
    v.report = report;
    record.knownBoot = Math.max(record.knownBoot, report.boot);
    v.lastHeard = Math.max(v.lastHeard ?? report.witnessTime, report.witnessTime);
    this.state.nextSeq = Math.max(this.state.nextSeq, report.appliedSeq + 1);
    const fence = record.fence;
    if (fence.phase === 'confirmed' || (fence.phase === 'failed' && report.witnessTime > fence.at))
      record.fence = { phase: 'idle' };
    const active = new Set(report.active);
    for (const [key, entry] of Object.entries(this.state.singletons)) {
      if (active.has(key)) {
        entry.mayRun[side] = true;
        continue;
      }
      const last = entry.lastActivation[side];
      if (last === null || last.boot < report.boot || (last.boot === report.boot && report.appliedSeq >= last.seq))
        entry.mayRun[side] = false;
    }
  }

  private confirmFence(side: Side, attempt: number, at: number): void {
    const record = this.state.sides[side];
    record.fence = { phase: 'confirmed', attempt, at, poweredOn: false };
    record.lastFenceCommandAt = null;
    for (const entry of Object.values(this.state.singletons)) {
      entry.mayRun[side] = false;
      entry.lastActivation[side] = null;
    }
    for (const key of [...this.sent.keys()]) if (key.startsWith(`${side}|`)) this.sent.delete(key);
    this.volatile[side].report = undefined;
    this.volatile[side].lastHeard = undefined;
  }

  private alive(side: Side, now: number): boolean {
    const v = this.volatile[side];
    if (v.lastHeard === undefined || v.report === undefined) return false;
    if (v.unreachableAt !== undefined && v.unreachableAt >= v.lastHeard) return false;
    return now - v.lastHeard < this.spec.peerLossTimeoutMs;
  }

  private silentFor(side: Side, now: number): number {
    return now - Math.max(this.volatile[side].lastHeard ?? Number.NEGATIVE_INFINITY, this.startedAt);
  }

  private lostAfter(side: Side): number {
    return this.spec.peerLossTimeoutMs + (side === this.spec.preferredSide ? this.spec.fencingDelayMs : 0);
  }

  private usable(side: Side, now: number): boolean {
    const phase = this.state.sides[side].fence.phase;
    return (
      this.alive(side, now) &&
      this.volatile[side].report?.ready === true &&
      phase !== 'pending' &&
      phase !== 'confirmed'
    );
  }

  private mayRunAnything(side: Side): boolean {
    return Object.values(this.state.singletons).some((entry) => entry.mayRun[side]);
  }

  private fenceSettled(side: Side, now: number): boolean {
    const record = this.state.sides[side];
    if (record.fence.phase === 'pending' || record.fence.phase === 'confirmed') return false;
    return record.lastFenceCommandAt === null || now - record.lastFenceCommandAt >= this.spec.fenceTimeoutMs;
  }

  /** Whether to fence `side` now; when not, the condition that says why (if it is worth saying). */
  private fenceVerdict(side: Side, now: number): { fence: boolean; condition?: PairCondition } {
    const peer = otherSide(side);
    const fence = this.state.sides[side].fence;
    if (fence.phase === 'pending' || fence.phase === 'confirmed') return { fence: false };
    if (this.alive(side, now) || !this.alive(peer, now)) return { fence: false };
    const peerReport = this.volatile[peer].report;
    if (peerReport === undefined) return { fence: false };
    const silent = this.silentFor(side, now);
    if (peerReport.seesPeer) {
      return {
        fence: false,
        condition: {
          reason: 'SideUnreachable',
          side,
          message: `${side} does not answer the witness but ${peer} still sees it; nothing moves`,
        },
      };
    }
    if (!this.mayRunAnything(side)) {
      return {
        fence: false,
        condition: {
          reason: 'SideLost',
          side,
          message: `${side} is lost; it runs no singleton, so there is nothing to fence`,
        },
      };
    }
    if (!peerReport.ready) {
      return {
        fence: false,
        condition: {
          reason: 'SurvivorNotReady',
          side,
          message: `${side} is lost but ${peer} is not ready to take over (kubelet down); ${side} is not fenced and nothing moves`,
        },
      };
    }
    if (!this.fenceSettled(peer, now)) {
      return {
        fence: false,
        condition: {
          reason: 'FenceBlocked',
          side,
          message: `${side} is lost, but a power-off of ${peer} may still happen; ${side} is not fenced until it has settled`,
        },
      };
    }
    if (silent < this.lostAfter(side)) {
      const delay =
        side === this.spec.preferredSide && this.spec.fencingDelayMs > 0 ? ` (the fencing delay favours ${side})` : '';
      return {
        fence: false,
        condition: {
          reason: 'FenceDelayed',
          side,
          message: `${side} is lost; fencing it in ${seconds(this.lostAfter(side) - silent)}${delay}`,
        },
      };
    }
    if (fence.phase === 'failed' && now - fence.at < this.spec.fenceRetryMs) return { fence: false };
    return { fence: true };
  }

  /**
   * Everything the witness wants done now, and the status. Persist {@link snapshot} before
   * carrying out the actions: an activation is recorded as "may run" before it is sent.
   */
  decide(now: number): WitnessDecision {
    const actions: WitnessAction[] = [];
    const conditions: PairCondition[] = [];
    const spec = this.spec;

    for (const side of SIDES) {
      const record = this.state.sides[side];
      const fence = record.fence;
      if (fence.phase === 'pending' && now - fence.startedAt >= spec.fenceTimeoutMs) {
        const last =
          fence.lastReason ??
          (fence.lastPowerState
            ? `the power state still reads ${fence.lastPowerState}`
            : fence.accepted
              ? 'the power state was never read'
              : 'the BMC never answered');
        record.fence = {
          phase: 'failed',
          attempt: fence.attempt,
          at: now,
          reason: `power-off not confirmed within ${seconds(spec.fenceTimeoutMs)}: ${last}`,
        };
      }
    }

    if (!this.alive('a', now) && !this.alive('b', now)) {
      const since = Math.min(this.silentFor('a', now), this.silentFor('b', now));
      conditions.push({
        reason: 'BothSidesLost',
        message: `neither side has answered the witness for ${seconds(since)}; nothing moves`,
      });
    }
    for (const side of SIDES) {
      const verdict = this.fenceVerdict(side, now);
      if (verdict.condition) conditions.push(verdict.condition);
      if (!verdict.fence) continue;
      const record = this.state.sides[side];
      record.fenceAttempts += 1;
      record.fence = { phase: 'pending', attempt: record.fenceAttempts, startedAt: now, accepted: false };
      this.volatile[side].fenceSent = false;
    }

    for (const side of SIDES) {
      const record = this.state.sides[side];
      const fence = record.fence;
      const v = this.volatile[side];
      if (fence.phase === 'pending') {
        if (!v.fenceSent) {
          actions.push({ kind: 'fence', side, attempt: fence.attempt });
          v.fenceSent = true;
          v.lastPowerReadAt = undefined;
          record.lastFenceCommandAt = now;
        } else if (
          fence.accepted &&
          (v.lastPowerReadAt === undefined || now - v.lastPowerReadAt >= spec.powerPollIntervalMs)
        ) {
          actions.push({ kind: 'confirmPowerOff', side, attempt: fence.attempt });
          v.lastPowerReadAt = now;
        }
        const power = fence.lastReason ?? fence.lastPowerState ?? (fence.accepted ? 'not read yet' : 'power-off sent');
        conditions.push({
          reason: 'FencePending',
          side,
          message: `waiting for fence of ${side} to be confirmed (attempt ${fence.attempt}, power state: ${power})`,
        });
      } else if (fence.phase === 'failed') {
        const retry = Math.max(0, fence.at + spec.fenceRetryMs - now);
        conditions.push({
          reason: 'FenceFailed',
          side,
          message: `fence of ${side} failed: ${fence.reason}; singletons stay where they are${retry > 0 ? ` (next attempt in ${seconds(retry)})` : ''}`,
        });
      } else if (fence.phase === 'confirmed') {
        if (!fence.poweredOn && spec.afterFence === 'power-on') {
          actions.push({ kind: 'powerOn', side, attempt: fence.attempt });
          fence.poweredOn = true;
        }
        const next =
          spec.afterFence === 'power-on'
            ? 'powered on again; it takes nothing back until it has answered the witness and sees its peer'
            : 'it stays off until an admin powers it on';
        conditions.push({
          reason: 'Fenced',
          side,
          message: `${side} is fenced (power off confirmed by its BMC); ${next}`,
        });
      }
      if (this.alive(side, now) && v.report?.ready === false) {
        conditions.push({
          reason: 'NotReady',
          side,
          message: `${side} answers but is not ready (kubelet down): no singleton can start there and none stops there`,
        });
      }
    }

    const ra = this.volatile.a.report;
    const rb = this.volatile.b.report;
    const partition =
      this.alive('a', now) && this.alive('b', now) && (ra?.seesPeer === false || rb?.seesPeer === false);
    if (partition)
      conditions.push({
        reason: 'Partitioned',
        message: 'partition: a and b are both alive but do not see each other; nothing moves',
      });

    const singletons = spec.singletons.map((singleton) =>
      this.place(singleton.preferredSide, singletonKey(singleton), partition, now, actions, conditions),
    );

    const phase: PairPhase = conditions.some((c) => c.reason === 'FencePending')
      ? 'Fencing'
      : partition
        ? 'Partitioned'
        : singletons.some((s) => s.state === 'Waiting' || s.state === 'Stopped')
          ? 'Blocked'
          : singletons.every((s) => s.state === 'Running' && s.owner === s.preferredSide) &&
              conditions.length === 0 &&
              ra?.seesPeer === true &&
              rb?.seesPeer === true
            ? 'Healthy'
            : 'Degraded';
    if (phase === 'Healthy')
      conditions.push({
        reason: 'Healthy',
        message: 'both sides answer and see each other; every singleton runs on its preferred side',
      });

    const sides = {} as Record<Side, SideStatus>;
    for (const side of SIDES) {
      const v = this.volatile[side];
      sides[side] = {
        reachable: this.alive(side, now),
        lastHeardAt: v.lastHeard ?? null,
        seesPeer: v.report?.seesPeer ?? null,
        ready: v.report?.ready ?? null,
        boot: this.state.sides[side].knownBoot,
        fence: structuredClone(this.state.sides[side].fence),
      };
    }
    return { actions, status: { at: now, phase, conditions, sides, singletons } };
  }

  private reportsActive(side: Side, key: string, now: number): boolean {
    return this.alive(side, now) && this.volatile[side].report?.active.includes(key) === true;
  }

  private command(side: Side, key: string, replicas: 0 | 1, now: number, actions: WitnessAction[]): void {
    const report = this.volatile[side].report;
    if (report === undefined) return;
    const id = `${side}|${key}`;
    const previous = this.sent.get(id);
    if (
      previous &&
      previous.replicas === replicas &&
      previous.boot === report.boot &&
      now - previous.at < this.spec.commandRetryMs
    )
      return;
    const seq = this.state.nextSeq;
    this.state.nextSeq += 1;
    this.sent.set(id, { replicas, boot: report.boot, seq, at: now });
    const command = { side, singleton: key, replicas, boot: report.boot, seq, issuedAt: now };
    if (replicas === 1) {
      const entry = this.state.singletons[key]!;
      entry.mayRun[side] = true;
      entry.lastActivation[side] = { boot: report.boot, seq };
      actions.push({ kind: 'activate', ...command });
    } else {
      actions.push({ kind: 'deactivate', ...command });
    }
  }

  /** Decides where one singleton runs and issues the commands that get it there, one safe step at a time. */
  private place(
    preferred: Side,
    key: string,
    partition: boolean,
    now: number,
    actions: WitnessAction[],
    conditions: PairCondition[],
  ): SingletonStatus {
    const entry = this.state.singletons[key]!;
    const fallback = otherSide(preferred);
    const firstUsable = this.usable(preferred, now) ? preferred : this.usable(fallback, now) ? fallback : null;
    // In a partition nothing moves: a singleton stays with its owner (and may be restarted there).
    const target = partition ? (entry.owner ?? firstUsable) : (firstUsable ?? entry.owner);
    const runningOn = SIDES.filter((side) => this.reportsActive(side, key, now) || entry.mayRun[side]);
    const status = (state: SingletonState, message: string): SingletonStatus => ({
      singleton: key,
      preferredSide: preferred,
      owner: entry.owner,
      runningOn,
      state,
      message,
    });
    if (target === null) return status('Stopped', 'no side can run it: neither is reachable and ready');

    const other = otherSide(target);
    if (entry.mayRun[other]) {
      const otherFence = this.state.sides[other].fence;
      if (this.alive(other, now) && otherFence.phase !== 'pending') {
        this.command(other, key, 0, now, actions);
        const why =
          this.volatile[other].report?.ready === false
            ? ` (${other} is not ready: it stops once its kubelet runs)`
            : '';
        return status(
          'Stopping',
          entry.owner === target
            ? `stopping a copy on ${other}${why}`
            : `moving to ${target}: stopping it on ${other} first${why}`,
        );
      }
      const runs = entry.owner === other ? 'it stays where it is' : `it does not start on ${target}`;
      if (otherFence.phase === 'pending')
        return status('Waiting', `waiting for fence of ${other} to be confirmed; ${runs}`);
      if (otherFence.phase === 'failed')
        return status('Waiting', `fence of ${other} failed: ${otherFence.reason}; ${runs}`);
      const why = conditions.find((c) => c.side === other && c.reason !== 'NotReady');
      return status(
        'Waiting',
        `${other} may still run it and cannot be reached${why ? ` (${why.message})` : ''}; ${runs}`,
      );
    }

    entry.owner = target;
    if (!this.usable(target, now)) {
      return status(
        entry.mayRun[target] ? 'Waiting' : 'Stopped',
        `${target} is not reachable and ready; it starts there when it is`,
      );
    }
    if (this.reportsActive(target, key, now)) {
      return status(
        'Running',
        target === preferred
          ? `runs on ${target}, its preferred side`
          : `runs on ${target}; ${preferred} is not available`,
      );
    }
    this.command(target, key, 1, now, actions);
    return status('Starting', `starting on ${target}`);
  }
}
