/**
 * cx as the witness of two-node pairs (seed 002; docs/two-node-pair.md). The decisions are
 * `@cx/pair`'s PairWitness; this driver only carries them: it polls each side's agent, feeds the
 * answers in, writes the witness's snapshot to sm *before* acting on a decision, then fences and
 * reads power through the side's provider (the BMC, for baremetal) and sends scaling commands to
 * the agents. Pairs are shared out among sddc replicas with the same Redis shard leases as node
 * health, so one replica at a time witnesses a pair and a dead replica's pairs are taken over.
 */
import {
  PairWitness,
  SIDES,
  assertPairSpec,
  type PairStatus,
  type ScaleCommand,
  type Side,
  type SideReport,
  type WitnessAction,
  type WitnessObservation,
} from '@cx/pair';
import type { PairEvent, PairStatusView } from '@cx/api-schemas';
import type { Logger } from '@cx/service-kit';
import { shardOf, type ShardLeases } from './shard-leases.js';
import type { ProviderDirectory } from '../providers/provider-directory.js';
import type { PairTarget, SmClient } from '@cx/sm-contract';

/** Recent actions kept in a pair's status. */
const EVENTS_KEPT = 30;
/** An unchanged status is written again after this long, so that `lastHeardAt` stays meaningful. */
const STATUS_REFRESH_MS = 30_000;

export interface PairWitnessOptions {
  sm: SmClient;
  providers: ProviderDirectory;
  leases: ShardLeases;
  logger: Logger;
  /** How often each side is polled and the witness decides. */
  intervalMs: number;
}

/** An action as the witness records it: every member but the singleton is set. */
type WitnessEvent = Required<Omit<PairEvent, 'singleton'>> & Pick<PairEvent, 'singleton'>;

/** One pair this replica witnesses now. */
interface Witnessed {
  witness: PairWitness;
  specJson: string;
  persisted: string;
  statusKey: string;
  statusAt: number;
  events: WitnessEvent[];
  /** Fence, power and command actions under way, so that one is never sent twice at once. */
  inflight: Set<string>;
}

export class PairWitnessDriver {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly pairs = new Map<string, Witnessed>();
  /** New pairs whose witness has not started yet: the sides that answered so far. */
  private readonly answered = new Map<string, Set<Side>>();
  private readonly waitingStatus = new Map<string, { key: string; at: number }>();

  constructor(private readonly options: PairWitnessOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pass()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'pair witness pass failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.options.leases.releaseAll().catch(() => undefined);
  }

  /** One round over the pairs of the shards this replica holds: poll, decide, persist, act. */
  async pass(): Promise<void> {
    const { leases, sm } = this.options;
    const held = await leases.refresh();
    const targets = held.size === 0 ? [] : await sm.pairTargets();
    const mine = targets.filter((t) => held.has(shardOf(t.id, leases.shards)));
    // A pair deleted, or whose shard went to another replica, is forgotten: the next holder restores it from sm.
    const kept = new Set(mine.map((t) => t.id));
    for (const map of [this.pairs, this.answered, this.waitingStatus])
      for (const id of map.keys()) if (!kept.has(id)) map.delete(id);
    await Promise.all(
      mine.map((target) =>
        this.step(target).catch((error: unknown) => {
          this.options.logger.warn({ err: error, pairId: target.id }, 'pair witness step failed');
        }),
      ),
    );
  }

  private witnessed(target: PairTarget): Witnessed {
    const specJson = JSON.stringify(target.spec);
    const known = this.pairs.get(target.id);
    if (known && known.specJson === specJson) return known;
    const spec: unknown = target.spec;
    assertPairSpec(spec);
    const now = Date.now();
    // A replica that takes a pair over continues from the snapshot in sm (fences it started, owners, the command counter).
    const snapshot = known ? known.witness.snapshot() : target.witness;
    const witness = snapshot
      ? PairWitness.restore(spec, snapshot as Parameters<typeof PairWitness.restore>[1], now)
      : PairWitness.create(spec, now);
    const fresh: Witnessed = {
      witness,
      specJson,
      persisted: known?.persisted ?? JSON.stringify(snapshot ?? null),
      statusKey: '',
      statusAt: 0,
      events: known?.events ?? [],
      inflight: known?.inflight ?? new Set(),
    };
    this.pairs.set(target.id, fresh);
    return fresh;
  }

  private async step(target: PairTarget): Promise<void> {
    const observations = await Promise.all(SIDES.map((side) => this.poll(target, side)));
    if (!this.pairs.has(target.id) && !target.witness && !this.bothAnswered(target.id, observations)) {
      await this.publishWaiting(target, observations);
      return;
    }
    const state = this.witnessed(target);
    for (const observation of observations) state.witness.observe(observation);
    const now = Date.now();
    const decision = state.witness.decide(now);
    const snapshot = state.witness.snapshot();
    const json = JSON.stringify(snapshot);
    if (json !== state.persisted) {
      // Written before anything is done: a witness restarted elsewhere must know what this one may have done.
      await this.options.sm.savePairWitness(target.id, snapshot);
      state.persisted = json;
    }
    for (const action of decision.actions) this.act(target, state, action);
    await this.publish(target, state, decision.status, now);
  }

  /**
   * Wait-for-all at declaration: a new pair is witnessed only once both agents have answered at
   * least once. Before that a side is silent because its agent is not deployed yet, not because it
   * died, and fencing it would only punish the order in which an admin started the agents.
   */
  private bothAnswered(pairId: string, observations: WitnessObservation[]): boolean {
    const seen = this.answered.get(pairId) ?? new Set<Side>();
    for (const observation of observations) if (observation.kind === 'report') seen.add(observation.report.side);
    this.answered.set(pairId, seen);
    if (seen.size < SIDES.length) return false;
    this.answered.delete(pairId);
    return true;
  }

  private async publishWaiting(target: PairTarget, observations: WitnessObservation[]): Promise<void> {
    const seen = this.answered.get(target.id) ?? new Set<Side>();
    const missing = SIDES.filter((side) => !seen.has(side));
    const reasons = observations.flatMap((o) =>
      o.kind === 'unreachable' && missing.includes(o.side) ? [`${o.side}: ${o.reason}`] : [],
    );
    const side = (name: Side): Record<string, unknown> => ({
      reachable: observations.some((o) => o.kind === 'report' && o.report.side === name),
      answeredOnce: seen.has(name),
    });
    const view: PairStatusView = {
      at: new Date().toISOString(),
      phase: 'Blocked',
      conditions: [
        {
          reason: 'WaitingForAgents',
          message: `waiting for the agent of side ${missing.join(' and ')} to answer once before witnessing the pair (wait-for-all); nothing is fenced or moved until then${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`,
        },
      ],
      sides: { a: side('a'), b: side('b') },
      singletons: [],
      events: [],
    };
    const key = JSON.stringify({ ...view, at: undefined });
    const last = this.waitingStatus.get(target.id);
    if (last && last.key === key && Date.now() - last.at < STATUS_REFRESH_MS) return;
    await this.options.sm.savePairStatus(target.id, view);
    this.waitingStatus.set(target.id, { key, at: Date.now() });
  }

  /** Asks a side's agent for its report; what cannot be delivered is an `unreachable` observation. */
  private async poll(target: PairTarget, side: Side): Promise<WitnessObservation> {
    const witnessTime = Date.now();
    try {
      const { report } = await this.agentCall<{ report: SideReport | null }>(target, side, '/v1/poll', { witnessTime });
      if (!report || report.side !== side)
        return {
          kind: 'unreachable',
          at: Date.now(),
          side,
          reason: `the agent at ${target.sides[side].agentUrl} answered as side ${report?.side ?? 'none'}`,
        };
      return { kind: 'report', at: Date.now(), report };
    } catch (error) {
      return { kind: 'unreachable', at: Date.now(), side, reason: (error as Error).message };
    }
  }

  /** Carries out one action in the background; its outcome is observed as soon as it is known. */
  private act(target: PairTarget, state: Witnessed, action: WitnessAction): void {
    const key =
      action.kind === 'activate' || action.kind === 'deactivate'
        ? `${action.side}|command|${action.seq}`
        : `${action.side}|${action.kind}|${action.attempt}`;
    if (state.inflight.has(key)) return;
    state.inflight.add(key);
    const record = (event: Omit<WitnessEvent, 'at'>): void => {
      state.events.push({ at: new Date().toISOString(), ...event });
      if (state.events.length > EVENTS_KEPT) state.events.splice(0, state.events.length - EVENTS_KEPT);
      this.options.logger.info({ pairId: target.id, ...event }, 'pair witness action');
      // Read power states are observations, not actions: only what changed something is audited.
      if (event.action === 'confirm-power-off') return;
      this.options.sm
        .audit({
          actor: 'cx:pair-witness',
          action: `pair.${event.action}`,
          targetKind: 'pair',
          targetId: target.id,
          outcome: ['accepted', 'applied'].includes(event.outcome) ? 'success' : 'failure',
          details: {
            side: event.side,
            result: event.outcome,
            cluster: target.sides[event.side].clusterId,
            ...(event.singleton ? { singleton: event.singleton } : {}),
            message: event.message,
          },
        })
        .catch((error: unknown) => this.options.logger.warn({ err: error, pairId: target.id }, 'audit record lost'));
    };
    void this.carryOut(target, action, record)
      .then((observation) => {
        if (observation) state.witness.observe(observation);
      })
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, pairId: target.id, action: action.kind }, 'pair witness action failed'),
      )
      .finally(() => state.inflight.delete(key));
  }

  private async carryOut(
    target: PairTarget,
    action: WitnessAction,
    record: (event: Omit<WitnessEvent, 'at'>) => void,
  ): Promise<WitnessObservation | undefined> {
    const { side } = action;
    const machine = target.sides[side];
    switch (action.kind) {
      case 'fence': {
        try {
          await this.power(target, side, 'off');
          record({
            side,
            action: 'fence',
            outcome: 'accepted',
            message: `power-off of ${machine.clusterName} accepted (attempt ${action.attempt})`,
          });
          return { kind: 'fenceResult', at: Date.now(), side, attempt: action.attempt, outcome: 'accepted' };
        } catch (error) {
          const reason = (error as Error).message;
          record({
            side,
            action: 'fence',
            outcome: 'failed',
            message: `power-off of ${machine.clusterName} failed: ${reason}`,
          });
          return { kind: 'fenceResult', at: Date.now(), side, attempt: action.attempt, outcome: 'failed', reason };
        }
      }
      case 'confirmPowerOff': {
        try {
          const state = await this.powerState(target, side);
          if (state === 'off')
            record({
              side,
              action: 'confirm-power-off',
              outcome: 'off',
              message: `${machine.clusterName} reads off: fence confirmed`,
            });
          return { kind: 'powerState', at: Date.now(), side, attempt: action.attempt, state };
        } catch (error) {
          return {
            kind: 'powerState',
            at: Date.now(),
            side,
            attempt: action.attempt,
            state: 'unknown',
            reason: (error as Error).message,
          };
        }
      }
      case 'powerOn':
        try {
          await this.power(target, side, 'on');
          record({
            side,
            action: 'power-on',
            outcome: 'accepted',
            message: `${machine.clusterName} powered on again after its fence`,
          });
        } catch (error) {
          record({
            side,
            action: 'power-on',
            outcome: 'failed',
            message: `power-on of ${machine.clusterName} failed: ${(error as Error).message}`,
          });
        }
        return undefined;
      case 'activate':
      case 'deactivate': {
        const command: ScaleCommand = {
          side,
          singleton: action.singleton,
          replicas: action.replicas,
          boot: action.boot,
          seq: action.seq,
          issuedAt: action.issuedAt,
        };
        try {
          const answer = await this.agentCall<{ applied: boolean; reason?: string }>(
            target,
            side,
            '/v1/commands',
            command,
          );
          record({
            side,
            action: action.kind,
            singleton: action.singleton,
            outcome: answer.applied ? 'applied' : 'refused',
            message: answer.applied
              ? `${action.singleton} scaled to ${action.replicas} on ${machine.clusterName}`
              : `${machine.clusterName} refused command ${action.seq}: ${answer.reason ?? ''}`,
          });
          return undefined;
        } catch (error) {
          record({
            side,
            action: action.kind,
            singleton: action.singleton,
            outcome: 'undelivered',
            message: `command ${action.seq} to ${machine.clusterName} not delivered: ${(error as Error).message}`,
          });
          return { kind: 'unreachable', at: Date.now(), side, reason: (error as Error).message };
        }
      }
    }
  }

  private async machineOf(
    target: PairTarget,
    side: Side,
  ): Promise<{
    provider: Awaited<ReturnType<ProviderDirectory['resolve']>>['provider'];
    clusterId: string;
    machineId: string;
  }> {
    const { clusterId, machineId, provider: name, clusterName } = target.sides[side];
    if (!machineId) throw new Error(`cluster ${clusterName} has no machine to power`);
    const { provider } = await this.options.providers.resolve(name, clusterId);
    return { provider, clusterId, machineId };
  }

  private async power(target: PairTarget, side: Side, action: 'on' | 'off'): Promise<void> {
    const { provider, clusterId, machineId } = await this.machineOf(target, side);
    await provider.setPower(clusterId, machineId, action);
  }

  private async powerState(target: PairTarget, side: Side): Promise<'on' | 'off'> {
    const { provider, clusterId, machineId } = await this.machineOf(target, side);
    return provider.getPowerState(clusterId, machineId);
  }

  private async agentCall<T>(target: PairTarget, side: Side, path: string, body: unknown): Promise<T> {
    const timeoutMs = Math.max(500, Math.min(2_000, this.options.intervalMs * 2));
    const response = await fetch(new URL(path, target.sides[side].agentUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the agent of side ${side} answered ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  /** Writes the status to sm when what a user sees changed, and at least every STATUS_REFRESH_MS. */
  private async publish(target: PairTarget, state: Witnessed, status: PairStatus, now: number): Promise<void> {
    const view = statusView(status, state.events);
    const key = JSON.stringify({
      ...view,
      at: undefined,
      sides: Object.fromEntries(SIDES.map((s) => [s, { ...view.sides[s], lastHeardAt: undefined }])),
    });
    if (key === state.statusKey && now - state.statusAt < STATUS_REFRESH_MS) return;
    await this.options.sm.savePairStatus(target.id, view);
    state.statusKey = key;
    state.statusAt = now;
  }
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** The witness's status as the API shows it: times as ISO strings, and the recent actions. */
export function statusView(status: PairStatus, events: PairEvent[]) {
  const side = (name: Side): Record<string, unknown> => {
    const { lastHeardAt, fence, ...rest } = status.sides[name];
    const times =
      'startedAt' in fence ? { startedAt: iso(fence.startedAt) } : 'at' in fence ? { at: iso(fence.at) } : {};
    return { ...rest, lastHeardAt: iso(lastHeardAt), fence: { ...fence, ...times } };
  };
  const sides = { a: side('a'), b: side('b') };
  return {
    at: iso(status.at)!,
    phase: status.phase,
    conditions: status.conditions,
    sides,
    singletons: status.singletons.map((s) => ({ ...s })),
    events: [...events],
  } satisfies PairStatusView;
}
