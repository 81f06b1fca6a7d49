import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PairWitness as Witness, PairWitness, type Side, type SideReport, type WitnessAction } from './index.js';
import { examplePairSpec } from './simulation.js';

const spec = examplePairSpec();

/** A side as the witness sees it through its answers; applies the commands it is sent, like an agent. */
class FakeSide {
  seq = 0;
  appliedSeq = 0;
  readonly active = new Set<string>();
  seesPeer = true;
  ready = true;
  constructor(
    readonly side: Side,
    public boot: number,
  ) {}

  answer(witness: Witness, at: number, overrides: Partial<SideReport> = {}): void {
    this.seq += 1;
    const report: SideReport = {
      side: this.side,
      boot: this.boot,
      seq: this.seq,
      witnessTime: at,
      seesPeer: this.seesPeer,
      ready: this.ready,
      appliedSeq: this.appliedSeq,
      active: [...this.active].sort(),
      ...overrides,
    };
    witness.observe({ kind: 'report', at, report });
  }

  apply(actions: WitnessAction[]): void {
    for (const action of actions) {
      if ((action.kind !== 'activate' && action.kind !== 'deactivate') || action.side !== this.side) continue;
      if (action.boot !== this.boot || action.seq <= this.appliedSeq) continue;
      this.appliedSeq = action.seq;
      if (action.kind === 'activate') this.active.add(action.singleton);
      else this.active.delete(action.singleton);
    }
  }

  restart(): void {
    this.boot += 1;
    this.seq = 0;
    this.appliedSeq = 0;
    this.active.clear();
  }
}

/** Both sides answer every second from `from` to `to`; returns every action of the period. */
function run(witness: Witness, sides: FakeSide[], from: number, to: number): WitnessAction[] {
  const all: WitnessAction[] = [];
  for (let t = from; t <= to; t += 1000) {
    for (const side of sides) side.answer(witness, t);
    const { actions } = witness.decide(t);
    for (const side of sides) side.apply(actions);
    all.push(...actions);
  }
  return all;
}

function kinds(actions: WitnessAction[]): string[] {
  return actions.map((a) => ('singleton' in a ? `${a.kind} ${a.singleton} on ${a.side}` : `${a.kind} ${a.side}`));
}

describe('pair witness', () => {
  it('starts nothing until both sides have answered: a side that never answered may run anything', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    assert.deepEqual(kinds(run(witness, [a], 1000, 4000)), [], 'b has not answered and is not lost yet');
    const b = new FakeSide('b', 1);
    const actions = run(witness, [a, b], 5000, 7000);
    assert.deepEqual(kinds(actions), ['activate apps/db on a', 'activate apps/queue on b']);
    assert.equal(witness.decide(8000).status.phase, 'Healthy');
  });

  it('does not take an answer written before its last activation as a stop', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    const activation = a.appliedSeq;
    assert.ok(a.active.has('apps/db') && activation > 0);
    // a's kubelet dies: db must move to b, which needs proof that a has stopped it.
    a.ready = false;
    a.answer(witness, 4000);
    b.answer(witness, 4000);
    const stop = witness.decide(4000).actions;
    assert.deepEqual(kinds(stop), ['deactivate apps/db on a']);
    // A delayed answer from before the activation says db is inactive: not a proof.
    a.answer(witness, 4000, { appliedSeq: activation - 1, active: [] });
    b.answer(witness, 4000);
    const after = witness.decide(4500);
    assert.deepEqual(kinds(after.actions), []);
    assert.deepEqual(after.status.singletons.find((s) => s.singleton === 'apps/db')!.runningOn, ['a']);
    // The real answer after the stop was applied is one.
    a.apply(stop);
    a.answer(witness, 5000);
    b.answer(witness, 5000);
    assert.deepEqual(kinds(witness.decide(5000).actions), ['activate apps/db on b']);
  });

  it('ignores answers of an earlier boot, and takes a later boot as the stop of everything before it', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 3);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    assert.ok(a.active.has('apps/db'));
    // A delayed answer from boot 2, taken as current, would make a look not ready and db move.
    b.answer(witness, 4000);
    witness.observe({
      kind: 'report',
      at: 4000,
      report: {
        side: 'a',
        boot: 2,
        seq: 99,
        witnessTime: 4000,
        seesPeer: true,
        ready: false,
        appliedSeq: 999,
        active: [],
      },
    });
    const ignored = witness.decide(4000);
    assert.deepEqual(kinds(ignored.actions), []);
    assert.deepEqual(ignored.status.singletons.find((s) => s.singleton === 'apps/db')!.runningOn, ['a']);
    a.restart();
    a.ready = false;
    a.answer(witness, 5000);
    b.answer(witness, 5000);
    assert.deepEqual(kinds(witness.decide(5000).actions), ['activate apps/db on b']);
  });

  it('after a restart keeps its decisions, counts no side lost before peerLossTimeoutMs, and sends a pending fence again', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    a.seesPeer = false;
    // b (the preferred side) stops answering: fenced after peerLossTimeoutMs + fencingDelayMs of silence.
    const fenceAt = 3000 + spec.peerLossTimeoutMs + spec.fencingDelayMs;
    const before = run(witness, [a], 4000, fenceAt - 1000);
    assert.deepEqual(kinds(before), []);
    assert.deepEqual(kinds(run(witness, [a], fenceAt, fenceAt)), ['fence b']);
    const restarted = PairWitness.restore(spec, witness.snapshot(), fenceAt + 500);
    a.answer(restarted, fenceAt + 1000);
    const again = restarted.decide(fenceAt + 1000);
    assert.deepEqual(kinds(again.actions), ['fence b']);
    assert.equal(again.status.phase, 'Fencing');
    assert.deepEqual(
      again.status.singletons.map((s) => s.owner),
      ['a', 'b'],
    );
  });

  it('a restarted witness fences no side before peerLossTimeoutMs (plus the delay) has passed since it started', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    const restarted = PairWitness.restore(spec, witness.snapshot(), 100_000);
    a.seesPeer = false;
    const lostAfter = spec.peerLossTimeoutMs + spec.fencingDelayMs;
    assert.deepEqual(kinds(run(restarted, [a], 100_000, 100_000 + lostAfter - 1000)), []);
    assert.deepEqual(kinds(run(restarted, [a], 100_000 + lostAfter, 100_000 + lostAfter)), ['fence b']);
  });

  it('a fence that is never confirmed fails after fenceTimeoutMs and is tried again after fenceRetryMs', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    a.seesPeer = false;
    const fenceAt = 3000 + spec.peerLossTimeoutMs + spec.fencingDelayMs;
    run(witness, [a], 4000, fenceAt);
    witness.observe({ kind: 'fenceResult', at: fenceAt, side: 'b', attempt: 1, outcome: 'accepted' });
    let reads = 0;
    for (let t = fenceAt + 1000; t < fenceAt + spec.fenceTimeoutMs; t += 1000) {
      a.answer(witness, t);
      const { actions, status } = witness.decide(t);
      for (const action of actions) {
        assert.equal(action.kind, 'confirmPowerOff');
        reads += 1;
        witness.observe({ kind: 'powerState', at: t, side: 'b', attempt: 1, state: 'on' });
      }
      assert.equal(status.sides.b.fence.phase, 'pending');
      assert.equal(status.singletons.find((s) => s.singleton === 'apps/queue')!.state, 'Waiting');
    }
    assert.ok(reads >= 5, `power state read ${reads} times`);
    a.answer(witness, fenceAt + spec.fenceTimeoutMs);
    const failed = witness.decide(fenceAt + spec.fenceTimeoutMs).status;
    assert.equal(failed.phase, 'Blocked');
    const condition = failed.conditions.find((c) => c.reason === 'FenceFailed')!;
    assert.match(
      condition.message,
      /^fence of b failed: power-off not confirmed within 20s: the power state still reads on; singletons stay where they are/,
    );
    const retryAt = fenceAt + spec.fenceTimeoutMs + spec.fenceRetryMs;
    assert.deepEqual(kinds(run(witness, [a], fenceAt + spec.fenceTimeoutMs + 1000, retryAt - 1000)), []);
    assert.deepEqual(kinds(run(witness, [a], retryAt, retryAt)), ['fence b']);
  });

  it('an answer sent before a confirmed power-off does not undo the fence; one from the next boot ends it', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    a.seesPeer = false;
    const fenceAt = 3000 + spec.peerLossTimeoutMs + spec.fencingDelayMs;
    assert.deepEqual(kinds(run(witness, [a], 4000, fenceAt)), ['fence b']);
    witness.observe({ kind: 'fenceResult', at: fenceAt, side: 'b', attempt: 1, outcome: 'accepted' });
    assert.deepEqual(kinds(run(witness, [a], fenceAt + 1000, fenceAt + 1000)), ['confirmPowerOff b']);
    witness.observe({ kind: 'powerState', at: fenceAt + 1000, side: 'b', attempt: 1, state: 'off' });
    // A report b wrote just before it went off arrives late: b is off, whatever it says.
    b.answer(witness, fenceAt + 1500, { witnessTime: fenceAt + 500, active: ['apps/queue'] });
    a.answer(witness, fenceAt + 2000);
    const decision = witness.decide(fenceAt + 2000);
    assert.equal(decision.status.sides.b.fence.phase, 'confirmed');
    assert.equal(decision.status.sides.b.reachable, false);
    assert.deepEqual(kinds(decision.actions), ['powerOn b', 'activate apps/queue on a']);
    b.restart();
    b.seesPeer = false;
    b.answer(witness, fenceAt + 3000);
    assert.equal(witness.decide(fenceAt + 3000).status.sides.b.fence.phase, 'idle');
  });

  it('refuses a snapshot of another pair', () => {
    const snapshot = PairWitness.create(spec, 0).snapshot();
    assert.throws(
      () => PairWitness.restore(examplePairSpec({ name: 'other' }), snapshot, 0),
      /does not belong to pair other/,
    );
  });

  it('a singleton added to the spec after a restart may run anywhere until both sides answer', () => {
    const witness = PairWitness.create(spec, 0);
    const a = new FakeSide('a', 1);
    const b = new FakeSide('b', 1);
    run(witness, [a, b], 1000, 3000);
    const grown = examplePairSpec({
      singletons: [...spec.singletons, { namespace: 'apps', name: 'cache', preferredSide: 'a' }],
    });
    const restarted = PairWitness.restore(grown, witness.snapshot(), 4000);
    a.answer(restarted, 4000);
    const status = restarted.decide(4000).status;
    assert.deepEqual(status.singletons.find((s) => s.singleton === 'apps/cache')!.runningOn, ['b']);
    b.answer(restarted, 5000);
    a.answer(restarted, 5000);
    assert.deepEqual(kinds(restarted.decide(5000).actions), ['activate apps/cache on a']);
  });
});
