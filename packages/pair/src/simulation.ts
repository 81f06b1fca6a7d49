/**
 * A model world for the pair's decision logic: two sides (power, crash, kubelet, the replicas
 * each singleton really runs), the three links a–b, a–witness, b–witness, each side's BMC
 * (working, failing, or slow: it powers off after a delay), the witness (crashing and restarting
 * from its persisted snapshot), messages that may be delayed and reordered, and virtual time. The
 * real `PairWitness` and `SideAgent` drive it; an action takes effect only where its path exists.
 * After every event the world checks that no singleton runs on both sides, and that the two sides
 * are never both fenced off.
 */
import { SideAgent } from './agent.js';
import type { ScaleCommand, SideReport, WitnessAction, WitnessObservation } from './messages.js';
import { type PairSpec, type Side, SIDES, otherSide, singletonKey } from './spec.js';
import { type PairStatus, PairWitness, type WitnessSnapshot } from './witness.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LinkName = 'a-b' | 'a-witness' | 'b-witness';
export const LINKS: readonly LinkName[] = ['a-b', 'a-witness', 'b-witness'];
/**
 * `failing`: unreachable, refuses everything. `slow`: powers off some seconds after accepting.
 * `hung`: accepts a power-off but never carries it out, and cannot read the power state. No mode
 * lies: a BMC that reads "off" is trusted.
 */
export type BmcMode = 'working' | 'failing' | 'slow' | 'hung';
export const BMC_MODES: readonly BmcMode[] = ['working', 'failing', 'slow', 'hung'];

export type WorldEvent =
  | { kind: 'advance'; ms: number }
  | { kind: 'linkDown' | 'linkUp'; link: LinkName }
  | { kind: 'bmc'; side: Side; mode: BmcMode }
  | { kind: 'witnessCrash' | 'witnessRestart' }
  | { kind: 'sideCrash' | 'sideBoot' | 'powerLoss' | 'kubeletStop' | 'kubeletStart'; side: Side }
  | { kind: 'deliver'; pick: number };

export function describeEvent(event: WorldEvent): string {
  switch (event.kind) {
    case 'advance':
      return `advance ${event.ms / 1000}s`;
    case 'linkDown':
    case 'linkUp':
      return `${event.kind} ${event.link}`;
    case 'bmc':
      return `bmc ${event.side} ${event.mode}`;
    case 'witnessCrash':
    case 'witnessRestart':
      return event.kind;
    case 'deliver':
      return `deliver delayed message #${event.pick}`;
    default:
      return `${event.kind} ${event.side}`;
  }
}

/** The world broke a rule; `trace` is what happened up to that point. */
export class SafetyViolation extends Error {
  constructor(
    message: string,
    readonly trace: readonly string[],
  ) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

interface SideWorld {
  power: 'on' | 'off';
  /** Powered on but hung or rebooting: runs nothing, answers nothing. */
  crashed: boolean;
  kubeletUp: boolean;
  /** Hardware gone for good (degraded ending): it stays off whatever anyone asks. */
  dead: boolean;
  boot: number;
  agent: SideAgent | null;
  /** spec.replicas of each singleton's Deployment, kept in etcd across reboots. */
  desired: Map<string, 0 | 1>;
  /** Replicas really running. */
  running: Map<string, 0 | 1>;
  bmc: BmcMode;
  /** When a power-off the slow BMC accepted takes effect. */
  offAt: number | null;
  /** Off because of a fence, and not powered on since. */
  fencedOff: boolean;
}

/** How often the interesting things happened, so that a test can show the runs exercised them. */
export interface WorldStats {
  fencesSent: number;
  fencesFailed: number;
  powerOffsConfirmed: number;
  powerUnreadable: number;
  activations: number;
  deactivations: number;
  commandsRefused: number;
  agentStops: number;
  partitionedRounds: number;
  witnessRestarts: number;
}

type InFlight = { kind: 'command'; command: ScaleCommand } | { kind: 'report'; report: SideReport };

export interface WorldOptions {
  spec: PairSpec;
  /** The heartbeat and poll interval: time advances in rounds of this length. */
  roundMs?: number;
  /** Randomness for delayed messages and slow BMCs; without it nothing is delayed. */
  rng?: () => number;
  /** Chance that a report or command is held in flight instead of delivered at once. */
  delayProbability?: number;
  /** Delay of a slow BMC's power-off; random up to half of `fenceTimeoutMs` when omitted and `rng` is given. */
  slowBmcDelayMs?: number;
  /** More messages in flight than this and the oldest is lost. */
  maxInFlight?: number;
}

function linkOf(side: Side): LinkName {
  return side === 'a' ? 'a-witness' : 'b-witness';
}

export class PairWorld {
  now = 0;
  readonly trace: string[] = [];
  /** The witness's status after its latest decision. */
  status: PairStatus | undefined;
  readonly spec: PairSpec;
  readonly keys: readonly string[];
  readonly sides: Record<Side, SideWorld>;
  readonly links: Record<LinkName, boolean> = { 'a-b': true, 'a-witness': true, 'b-witness': true };
  readonly stats: WorldStats = {
    fencesSent: 0,
    fencesFailed: 0,
    powerOffsConfirmed: 0,
    powerUnreadable: 0,
    activations: 0,
    deactivations: 0,
    commandsRefused: 0,
    agentStops: 0,
    partitionedRounds: 0,
    witnessRestarts: 0,
  };
  private witness: PairWitness | null;
  private persisted: WitnessSnapshot;
  private inFlight: InFlight[] = [];
  private readonly roundMs: number;
  private readonly rng: (() => number) | undefined;
  private delayProbability: number;
  private readonly maxInFlight: number;
  private readonly slowBmcDelayMs: number | undefined;
  /** During the liveness window an admin powers on every side that is off (and not dead). */
  private admin = false;

  constructor(options: WorldOptions) {
    this.spec = options.spec;
    this.keys = options.spec.singletons.map(singletonKey);
    this.roundMs = options.roundMs ?? 1000;
    this.rng = options.rng;
    this.delayProbability = options.rng ? (options.delayProbability ?? 0) : 0;
    this.maxInFlight = options.maxInFlight ?? 16;
    this.slowBmcDelayMs = options.slowBmcDelayMs;
    const side = (name: Side): SideWorld => ({
      power: 'on',
      crashed: false,
      kubeletUp: true,
      dead: false,
      boot: 1,
      agent: new SideAgent(this.spec, name, 1, 0),
      desired: new Map(this.keys.map((key) => [key, 0])),
      running: new Map(this.keys.map((key) => [key, 0])),
      bmc: 'working',
      offAt: null,
      fencedOff: false,
    });
    this.sides = { a: side('a'), b: side('b') };
    this.witness = PairWitness.create(this.spec, 0);
    this.persisted = this.witness.snapshot();
  }

  /** Sides on which the singleton really runs (a side that is off or hung runs nothing). */
  runningOn(key: string): Side[] {
    return SIDES.filter((side) => this.alive(side) && this.sides[side].running.get(key) === 1);
  }

  get witnessUp(): boolean {
    return this.witness !== null;
  }

  get messagesInFlight(): number {
    return this.inFlight.length;
  }

  /** Carries out one event, then checks the safety rules (throws {@link SafetyViolation}). */
  apply(event: WorldEvent): void {
    this.trace.push(`t=${this.now / 1000}s ${describeEvent(event)}`);
    switch (event.kind) {
      case 'advance': {
        const rounds = Math.max(1, Math.round(event.ms / this.roundMs));
        for (let i = 0; i < rounds; i += 1) this.round();
        break;
      }
      case 'linkDown':
        this.links[event.link] = false;
        break;
      case 'linkUp':
        this.links[event.link] = true;
        break;
      case 'bmc':
        this.sides[event.side].bmc = event.mode;
        break;
      case 'witnessCrash':
        this.witness = null;
        break;
      case 'witnessRestart':
        if (this.witness === null) {
          this.witness = PairWitness.restore(this.spec, this.persisted, this.now);
          this.stats.witnessRestarts += 1;
        }
        break;
      case 'sideCrash': {
        const s = this.sides[event.side];
        if (this.alive(event.side)) {
          s.crashed = true;
          this.stopEverything(s);
        }
        break;
      }
      case 'sideBoot':
        if (this.sides[event.side].power === 'off' || this.sides[event.side].crashed) this.boot(event.side);
        break;
      case 'powerLoss':
        if (this.sides[event.side].power === 'on') this.powerOff(event.side, false);
        break;
      case 'kubeletStop':
        this.sides[event.side].kubeletUp = false;
        break;
      case 'kubeletStart':
        this.sides[event.side].kubeletUp = true;
        this.converge(event.side);
        break;
      case 'deliver':
        if (this.inFlight.length > 0) {
          const [message] = this.inFlight.splice(event.pick % this.inFlight.length, 1);
          if (message) this.deliver(message);
        }
        break;
    }
    this.checkSafety(describeEvent(event));
  }

  /**
   * Ends the faults: BMC power-offs already accepted complete, every link comes up and delivers
   * at once, every BMC works, the witness runs, every kubelet runs, delayed messages arrive (in random order), and
   * every side runs, except `keepOff`, which is powered off for good (its BMC still reads it
   * off). From now on an admin powers on any side that goes off.
   */
  heal(keepOff?: Side): void {
    this.trace.push(`t=${this.now / 1000}s heal${keepOff ? ` (${keepOff} powered off for good)` : ''}`);
    for (const side of SIDES) if (this.sides[side].offAt !== null) this.powerOff(side, true);
    for (const link of LINKS) this.links[link] = true;
    this.delayProbability = 0;
    if (this.witness === null) this.witness = PairWitness.restore(this.spec, this.persisted, this.now);
    for (const side of SIDES) {
      const s = this.sides[side];
      s.bmc = 'working';
      s.kubeletUp = true;
      this.converge(side);
    }
    const pending = this.inFlight;
    this.inFlight = [];
    for (let left = pending.length; left > 0; left -= 1) {
      const [message] = pending.splice(this.rng ? Math.floor(this.rng() * pending.length) : 0, 1);
      if (message) this.deliver(message);
    }
    for (const side of SIDES) {
      const s = this.sides[side];
      if (side === keepOff) {
        if (s.power === 'on') this.powerOff(side, false);
        s.dead = true;
      } else if (s.power === 'off' || s.crashed) {
        this.boot(side);
      }
    }
    this.admin = true;
    this.checkSafety('heal');
  }

  /** One round (a heartbeat interval) with no trace line; the safety rules are checked after it. */
  step(): void {
    this.round();
  }

  private alive(side: Side): boolean {
    const s = this.sides[side];
    return s.power === 'on' && !s.crashed && s.agent !== null;
  }

  private active(side: Side): string[] {
    const s = this.sides[side];
    return this.keys.filter((key) => s.desired.get(key) === 1 || s.running.get(key) === 1);
  }

  private converge(side: Side): void {
    const s = this.sides[side];
    if (!this.alive(side) || !s.kubeletUp) return;
    for (const key of this.keys) s.running.set(key, s.desired.get(key) ?? 0);
  }

  private stopEverything(s: SideWorld): void {
    s.agent = null;
    for (const key of this.keys) s.running.set(key, 0);
  }

  private powerOff(side: Side, byFence: boolean): void {
    const s = this.sides[side];
    s.power = 'off';
    s.crashed = false;
    s.offAt = null;
    s.fencedOff = byFence;
    this.stopEverything(s);
  }

  /** A start: new boot number, fresh agent; the agent's wait-for-all hold acts before the kubelet starts any pod. */
  private boot(side: Side): void {
    const s = this.sides[side];
    if (s.dead) return;
    s.power = 'on';
    s.crashed = false;
    s.fencedOff = false;
    s.kubeletUp = true;
    s.boot += 1;
    s.agent = new SideAgent(this.spec, side, s.boot, this.now);
    for (const key of this.keys) s.running.set(key, 0);
    for (const key of s.agent.decide(this.now, this.active(side)).deactivate) s.desired.set(key, 0);
    this.converge(side);
  }

  private round(): void {
    this.now += this.roundMs;
    for (const side of SIDES) {
      const offAt = this.sides[side].offAt;
      if (offAt !== null && offAt <= this.now) this.powerOff(side, true);
    }
    if (this.links['a-b'] && this.alive('a') && this.alive('b')) {
      this.sides.a.agent!.observePeer(this.now);
      this.sides.b.agent!.observePeer(this.now);
    }
    const witness = this.witness;
    if (witness) {
      for (const side of SIDES) {
        const agent = this.sides[side].agent;
        if (!this.links[linkOf(side)] || !this.alive(side) || agent === null) {
          witness.observe({ kind: 'unreachable', at: this.now, side, reason: 'poll failed' });
          continue;
        }
        agent.observeWitness(this.now, this.now);
        const report = agent.report(this.now, { active: this.active(side), ready: this.sides[side].kubeletUp });
        if (report) this.send({ kind: 'report', report });
      }
    }
    for (const side of SIDES) {
      const agent = this.sides[side].agent;
      if (!this.alive(side) || agent === null) continue;
      const stop = agent.decide(this.now, this.active(side)).deactivate;
      for (const key of stop) this.sides[side].desired.set(key, 0);
      this.stats.agentStops += stop.length;
      this.converge(side);
    }
    if (witness) {
      const decision = witness.decide(this.now);
      this.status = decision.status;
      if (decision.status.phase === 'Partitioned') this.stats.partitionedRounds += 1;
      this.persisted = witness.snapshot();
      for (const action of decision.actions) this.execute(witness, action);
    }
    if (this.admin) {
      for (const side of SIDES) if (this.sides[side].power === 'off' && !this.sides[side].dead) this.boot(side);
    }
    this.checkSafety('round');
  }

  private send(message: InFlight): void {
    if (this.rng && this.rng() < this.delayProbability) {
      this.inFlight.push(message);
      if (this.inFlight.length > this.maxInFlight) this.inFlight.shift();
      return;
    }
    this.deliver(message);
  }

  private deliver(message: InFlight): void {
    if (message.kind === 'report') {
      if (this.witness && this.links[linkOf(message.report.side)])
        this.witness.observe({ kind: 'report', at: this.now, report: message.report });
      return;
    }
    const side = message.command.side;
    const agent = this.sides[side].agent;
    if (!this.links[linkOf(side)] || !this.alive(side) || agent === null) return;
    if (agent.acceptCommand(message.command, this.now).applied) {
      this.sides[side].desired.set(message.command.singleton, message.command.replicas);
      this.converge(side);
    } else {
      this.stats.commandsRefused += 1;
    }
  }

  private slowDelay(): number {
    if (this.slowBmcDelayMs !== undefined) return this.slowBmcDelayMs;
    const max = Math.max(this.roundMs, Math.floor(this.spec.fenceTimeoutMs / 2));
    return this.rng ? this.roundMs + Math.floor(this.rng() * (max - this.roundMs + 1)) : max;
  }

  private execute(witness: PairWitness, action: WitnessAction): void {
    const at = this.now;
    const observe = (observation: WitnessObservation): void => witness.observe(observation);
    switch (action.kind) {
      case 'fence': {
        const s = this.sides[action.side];
        this.stats.fencesSent += 1;
        if (s.bmc === 'failing') {
          this.stats.fencesFailed += 1;
          observe({
            kind: 'fenceResult',
            at,
            side: action.side,
            attempt: action.attempt,
            outcome: 'failed',
            reason: 'BMC unreachable',
          });
          return;
        }
        if (s.bmc === 'working' && s.power === 'on') this.powerOff(action.side, true);
        if (s.bmc === 'slow' && s.power === 'on' && s.offAt === null) s.offAt = this.now + this.slowDelay();
        observe({ kind: 'fenceResult', at, side: action.side, attempt: action.attempt, outcome: 'accepted' });
        return;
      }
      case 'confirmPowerOff': {
        const s = this.sides[action.side];
        if (s.bmc === 'failing')
          observe({
            kind: 'powerState',
            at,
            side: action.side,
            attempt: action.attempt,
            state: 'unknown',
            reason: 'BMC unreachable',
          });
        else if (s.bmc === 'hung')
          observe({
            kind: 'powerState',
            at,
            side: action.side,
            attempt: action.attempt,
            state: 'unknown',
            reason: 'BMC does not answer power state reads',
          });
        else observe({ kind: 'powerState', at, side: action.side, attempt: action.attempt, state: s.power });
        if ((s.bmc === 'working' || s.bmc === 'slow') && s.power === 'off') this.stats.powerOffsConfirmed += 1;
        if (s.bmc === 'failing' || s.bmc === 'hung') this.stats.powerUnreadable += 1;
        return;
      }
      case 'powerOn': {
        const s = this.sides[action.side];
        if ((s.bmc === 'working' || s.bmc === 'slow') && s.power === 'off') this.boot(action.side);
        return;
      }
      case 'activate':
      case 'deactivate': {
        const { kind, ...command } = action;
        this.stats[kind === 'activate' ? 'activations' : 'deactivations'] += 1;
        if (!this.links[linkOf(command.side)] || !this.alive(command.side)) {
          observe({ kind: 'unreachable', at, side: command.side, reason: 'scale request failed' });
          return;
        }
        this.send({ kind: 'command', command });
        return;
      }
    }
  }

  private checkSafety(after: string): void {
    for (const key of this.keys) {
      const on = this.runningOn(key);
      if (on.length > 1)
        throw new SafetyViolation(`after "${after}" at t=${this.now / 1000}s: ${key} runs on both sides`, this.trace);
    }
    if (this.sides.a.fencedOff && this.sides.b.fencedOff) {
      throw new SafetyViolation(`after "${after}" at t=${this.now / 1000}s: both sides are fenced off`, this.trace);
    }
  }
}

function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/**
 * A valid pair for tests: singletons `apps/db` (prefers a) and `apps/queue` (prefers b), side b
 * wins fencing races, timings in whole seconds so scenarios read easily.
 */
export function examplePairSpec(overrides: Partial<PairSpec> = {}): PairSpec {
  return {
    name: 'edge-7',
    sides: {
      a: { cluster: 'edge-7a', bmc: { protocol: 'redfish', address: 'https://10.0.0.11' } },
      b: { cluster: 'edge-7b', bmc: { protocol: 'redfish', address: 'https://10.0.0.12' } },
    },
    singletons: [
      { namespace: 'apps', name: 'db', preferredSide: 'a' },
      { namespace: 'apps', name: 'queue', preferredSide: 'b' },
    ],
    preferredSide: 'b',
    afterFence: 'power-on',
    peerLossTimeoutMs: 5000,
    fencingDelayMs: 5000,
    fenceTimeoutMs: 20_000,
    fenceRetryMs: 10_000,
    powerPollIntervalMs: 1000,
    isolationTimeoutMs: 8000,
    commandRetryMs: 3000,
    ...overrides,
  };
}

/** A random pair: 1 to 4 singletons with random preferred sides, timings in whole seconds. */
export function randomSpec(rng: () => number): PairSpec {
  const side = (): Side => (rng() < 0.5 ? 'a' : 'b');
  return {
    name: 'sim',
    sides: {
      a: { cluster: 'site-a', bmc: { protocol: 'redfish', address: 'https://bmc-a' } },
      b: { cluster: 'site-b', bmc: { protocol: 'ipmi', address: 'bmc-b' } },
    },
    singletons: Array.from({ length: randomInt(rng, 1, 4) }, (_, i) => ({
      namespace: 'apps',
      name: `s${i}`,
      preferredSide: side(),
    })),
    preferredSide: side(),
    afterFence: rng() < 0.5 ? 'power-on' : 'stay-off',
    peerLossTimeoutMs: randomInt(rng, 3, 6) * 1000,
    fencingDelayMs: randomInt(rng, 0, 5) * 1000,
    fenceTimeoutMs: randomInt(rng, 8, 20) * 1000,
    fenceRetryMs: randomInt(rng, 4, 15) * 1000,
    powerPollIntervalMs: randomInt(rng, 1, 2) * 1000,
    isolationTimeoutMs: randomInt(rng, 3, 10) * 1000,
    commandRetryMs: randomInt(rng, 2, 6) * 1000,
  };
}

/** A random event that makes sense in the world as it is (a boot picks a side that is down). */
export function randomEvent(rng: () => number, world: PairWorld): WorldEvent {
  const r = rng();
  const side = pick(rng, SIDES);
  if (r < 0.34) return { kind: 'advance', ms: randomInt(rng, 1, 12) * 1000 };
  if (r < 0.54) {
    const link = pick(rng, LINKS);
    return { kind: world.links[link] ? 'linkDown' : 'linkUp', link };
  }
  if (r < 0.61) return { kind: 'bmc', side, mode: pick(rng, BMC_MODES) };
  if (r < 0.66) return { kind: world.witnessUp ? 'witnessCrash' : 'witnessRestart' };
  if (r < 0.71) return { kind: 'sideCrash', side };
  if (r < 0.79) {
    const down = SIDES.filter((s) => world.sides[s].power === 'off' || world.sides[s].crashed);
    return { kind: 'sideBoot', side: down.length > 0 ? pick(rng, down) : side };
  }
  if (r < 0.82) return { kind: 'powerLoss', side };
  if (r < 0.88) return { kind: world.sides[side].kubeletUp ? 'kubeletStop' : 'kubeletStart', side };
  return { kind: 'deliver', pick: randomInt(rng, 0, 1000) };
}

/** The time within which a healed (or degraded) pair must have settled; bounded by the spec's timings. */
export function livenessBoundMs(spec: PairSpec): number {
  return (
    2 *
      (spec.peerLossTimeoutMs +
        spec.fencingDelayMs +
        spec.fenceTimeoutMs +
        spec.fenceRetryMs +
        spec.commandRetryMs +
        spec.isolationTimeoutMs) +
    20_000
  );
}

export type Ending = 'healed' | 'degraded';

export interface SequenceResult {
  seed: number;
  ending: Ending;
  events: number;
  /** Virtual time from the heal until the pair had settled for good. */
  settledAfterMs: number;
  stats: WorldStats;
  trace: readonly string[];
}

/** A failed sequence, with everything needed to replay and read it. */
export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly ending: Ending,
    reason: string,
    readonly trace: readonly string[],
    spec: PairSpec,
    status: PairStatus | undefined,
  ) {
    super(
      [
        `pair simulation failed (seed ${seed}, ending ${ending}): ${reason}`,
        `replay: PAIR_SEED=${seed} node --test packages/pair/dist/`,
        `spec: ${JSON.stringify({ ...spec, sides: undefined, name: undefined })}`,
        'events:',
        ...trace.map((line, i) => `  ${i + 1}. ${line}`),
        `witness status: ${status ? `${status.phase}; ${status.conditions.map((c) => c.message).join(' | ')}; ${status.singletons.map((s) => `${s.singleton}: ${s.state} (${s.message})`).join(' | ')}` : 'none'}`,
      ].join('\n'),
    );
    this.name = 'SimulationFailure';
  }
}

/**
 * One randomized sequence: a random pair, a warm-up, 20 to 60 random events, then the ending.
 * `healed`: every fault ends; every singleton must then run on exactly one side, its preferred
 * one. `degraded`: one side is powered off for good; every singleton must run on the other.
 * Either must hold within {@link livenessBoundMs}. Throws {@link SimulationFailure}.
 */
export function runSequence(seed: number, ending: Ending): SequenceResult {
  const rng = mulberry32(seed);
  const spec = randomSpec(rng);
  const world = new PairWorld({ spec, rng, delayProbability: 0.15 });
  const fail = (reason: string): never => {
    throw new SimulationFailure(seed, ending, reason, world.trace, spec, world.status);
  };
  const count = randomInt(rng, 20, 60);
  try {
    world.apply({ kind: 'advance', ms: 5000 });
    for (let i = 0; i < count; i += 1) world.apply(randomEvent(rng, world));
    const keepOff = ending === 'degraded' ? pick(rng, SIDES) : undefined;
    world.heal(keepOff);
    const healedAt = world.now;
    const settled = (): boolean =>
      world.keys.every((key, i) => {
        const on = world.runningOn(key);
        const wanted = keepOff ? otherSide(keepOff) : spec.singletons[i]!.preferredSide;
        return on.length === 1 && on[0] === wanted;
      });
    let settledSince: number | null = null;
    const bound = livenessBoundMs(spec);
    world.trace.push(`t=${world.now / 1000}s liveness window of ${bound / 1000}s, checked every second`);
    for (let t = 0; t < bound; t += 1000) {
      world.step();
      if (!settled()) settledSince = null;
      else settledSince ??= world.now;
    }
    if (settledSince === null) {
      const where = world.keys.map((key) => `${key} on [${world.runningOn(key).join(',')}]`).join(', ');
      fail(`not settled ${bound / 1000}s after the heal: ${where}`);
    }
    if (ending === 'healed' && world.status?.phase !== 'Healthy')
      fail(`settled, but the witness says ${world.status?.phase ?? 'nothing'}`);
    return {
      seed,
      ending,
      events: count,
      settledAfterMs: settledSince! - healedAt,
      stats: world.stats,
      trace: world.trace,
    };
  } catch (error) {
    if (error instanceof SafetyViolation) fail(error.message);
    throw error;
  }
}
