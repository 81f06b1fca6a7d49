/**
 * Named scenarios of seed 002, played in the model world with the real witness and agents. The
 * world itself fails a scenario if a singleton ever runs on both sides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PairSpec, Side } from './index.js';
import { PairWorld, examplePairSpec } from './simulation.js';

// db prefers a, queue prefers b; b wins fencing races; loss after 5s, b fenced after 5s more.
const DB = 'apps/db';
const QUEUE = 'apps/queue';

function started(spec: PairSpec = examplePairSpec(), slowBmcDelayMs?: number): PairWorld {
  const world = new PairWorld(slowBmcDelayMs === undefined ? { spec } : { spec, slowBmcDelayMs });
  world.apply({ kind: 'advance', ms: 5000 });
  assert.deepEqual(world.runningOn(DB), ['a']);
  assert.deepEqual(world.runningOn(QUEUE), ['b']);
  assert.equal(world.status?.phase, 'Healthy');
  return world;
}

/** Runs `seconds` rounds, calling `check` after each (the world checks safety itself). */
function watch(world: PairWorld, seconds: number, check: () => void = () => {}): void {
  for (let i = 0; i < seconds; i += 1) {
    world.step();
    check();
  }
}

function messages(world: PairWorld): string[] {
  return world.status?.conditions.map((c) => c.message) ?? [];
}

function fencedSides(world: PairWorld, seen: Set<Side>): () => void {
  return () => {
    for (const side of ['a', 'b'] as const) if (world.status?.sides[side].fence.phase !== 'idle') seen.add(side);
  };
}

describe('two-node pair scenarios', () => {
  it('true peer death: b is fenced, its power-off confirmed, and only then queue starts on a', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off' }), 4000);
    world.apply({ kind: 'bmc', side: 'b', mode: 'slow' });
    world.apply({ kind: 'sideCrash', side: 'b' });
    const crashedAt = world.now;
    let sawWaiting = false;
    let startedAt: number | undefined;
    watch(world, 40, () => {
      if (messages(world).some((m) => m.startsWith('waiting for fence of b to be confirmed'))) {
        sawWaiting = true;
        assert.deepEqual(world.runningOn(QUEUE), [], 'queue must not start on a before the power-off is confirmed');
      }
      if (startedAt === undefined && world.runningOn(QUEUE).includes('a')) {
        startedAt = world.now;
        assert.equal(world.sides.b.power, 'off');
        assert.ok(world.stats.powerOffsConfirmed >= 1);
      }
    });
    assert.ok(sawWaiting, 'the status said it was waiting for the fence');
    assert.ok(startedAt !== undefined, 'queue started on a');
    // b is the preferred side: lost after 5s + a 5s fencing delay, then the slow BMC takes 4s.
    assert.ok(startedAt - crashedAt >= 14_000, `queue started ${startedAt - crashedAt}ms after the crash`);
    assert.deepEqual(world.runningOn(DB), ['a']);
    assert.deepEqual(world.runningOn(QUEUE), ['a']);
    assert.equal(world.stats.fencesSent, 1);
    assert.ok(messages(world).some((m) => m.startsWith('b is fenced (power off confirmed by its BMC)')));
  });

  it('pure a–b partition with the witness seeing both: nothing moves, nothing is fenced', () => {
    const world = started();
    world.apply({ kind: 'linkDown', link: 'a-b' });
    watch(world, 60, () => {
      assert.deepEqual(world.runningOn(DB), ['a']);
      assert.deepEqual(world.runningOn(QUEUE), ['b']);
    });
    assert.equal(world.stats.fencesSent, 0);
    assert.equal(world.status?.phase, 'Partitioned');
    assert.ok(messages(world).includes('partition: a and b are both alive but do not see each other; nothing moves'));
    world.apply({ kind: 'linkUp', link: 'a-b' });
    watch(world, 10);
    assert.equal(world.status?.phase, 'Healthy');
  });

  it('fence failing: nothing moves, the status says why, and the next attempt after the BMC is back moves queue', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off' }));
    world.apply({ kind: 'bmc', side: 'b', mode: 'failing' });
    world.apply({ kind: 'linkDown', link: 'a-b' });
    world.apply({ kind: 'linkDown', link: 'b-witness' });
    let statusSaidWhy = false;
    let singletonSaidWhy = false;
    watch(world, 60, () => {
      assert.ok(!world.runningOn(QUEUE).includes('a'), 'queue must not start on a');
      if (
        world.status?.phase === 'Blocked' &&
        messages(world).some((m) => m.startsWith('fence of b failed: BMC unreachable; singletons stay where they are'))
      )
        statusSaidWhy = true;
      if (
        /^fence of b failed: BMC unreachable; it stays where it is/.test(
          world.status!.singletons.find((s) => s.singleton === QUEUE)!.message,
        )
      )
        singletonSaidWhy = true;
    });
    assert.ok(world.stats.fencesFailed >= 2, `fences failed: ${world.stats.fencesFailed}`);
    assert.ok(statusSaidWhy, 'the pair status said why');
    assert.ok(singletonSaidWhy, "queue's status said why");
    assert.deepEqual(world.runningOn(DB), ['a']);
    assert.deepEqual(world.runningOn(QUEUE), [], 'b, isolated, stopped queue itself');
    world.apply({ kind: 'bmc', side: 'b', mode: 'working' });
    watch(world, 15);
    assert.deepEqual(world.runningOn(QUEUE), ['a']);
    assert.equal(world.sides.b.power, 'off');
  });

  for (const first of ['b', 'a'] as const) {
    it(`simultaneous mutual suspicion, ${first} heard first: only the non-preferred side a can be fenced`, () => {
      const world = started(examplePairSpec({ afterFence: 'stay-off' }));
      const fenced = new Set<Side>();
      world.apply({ kind: 'linkDown', link: 'a-b' });
      watch(world, 6, fencedSides(world, fenced));
      // Both now ask to fence the other; the witness loses both for 6s (more than the loss
      // timeout, less than loss + delay) and hears them back one second apart.
      world.apply({ kind: 'linkDown', link: 'a-witness' });
      world.apply({ kind: 'linkDown', link: 'b-witness' });
      watch(world, 6, fencedSides(world, fenced));
      world.apply({ kind: 'linkUp', link: `${first}-witness` });
      watch(world, 1, fencedSides(world, fenced));
      world.apply({ kind: 'linkUp', link: `${first === 'a' ? 'b' : 'a'}-witness` });
      watch(world, 30, fencedSides(world, fenced));
      assert.ok(!fenced.has('b'), 'the preferred side b is never fenced');
      assert.deepEqual([...fenced], first === 'b' ? ['a'] : []);
      assert.equal(world.sides.b.power, 'on');
      if (first === 'b') {
        assert.deepEqual(world.runningOn(DB), ['b']);
        assert.deepEqual(world.runningOn(QUEUE), ['b']);
      } else {
        assert.equal(world.status?.phase, 'Partitioned');
      }
    });
  }

  it('without a fencing delay the same race fences the preferred side (the delay is what protects it)', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off', fencingDelayMs: 0 }));
    const fenced = new Set<Side>();
    world.apply({ kind: 'linkDown', link: 'a-b' });
    watch(world, 6);
    world.apply({ kind: 'linkDown', link: 'a-witness' });
    world.apply({ kind: 'linkDown', link: 'b-witness' });
    watch(world, 6);
    world.apply({ kind: 'linkUp', link: 'a-witness' });
    watch(world, 1, fencedSides(world, fenced));
    world.apply({ kind: 'linkUp', link: 'b-witness' });
    watch(world, 30, fencedSides(world, fenced));
    assert.deepEqual([...fenced], ['b']);
  });

  it('never fences a side while the power-off of the other may still happen', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off' }), 8000);
    const fenced = new Set<Side>();
    world.apply({ kind: 'bmc', side: 'b', mode: 'slow' });
    world.apply({ kind: 'linkDown', link: 'a-b' });
    world.apply({ kind: 'linkDown', link: 'b-witness' });
    watch(world, 10, fencedSides(world, fenced));
    assert.equal(world.status?.sides.b.fence.phase, 'pending', 'b is being fenced; its slow BMC acts in 8s');
    // b answers again and a falls silent: a is lost, but b may still go off any second.
    world.apply({ kind: 'linkUp', link: 'b-witness' });
    world.apply({ kind: 'linkDown', link: 'a-witness' });
    watch(world, 30, fencedSides(world, fenced));
    assert.deepEqual([...fenced], ['b']);
    assert.equal(world.sides.a.power, 'on');
    assert.equal(world.sides.b.power, 'off');
  });

  it('a fenced side that restarts takes nothing back until it sees its peer (and the witness)', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off' }));
    world.apply({ kind: 'linkDown', link: 'a-b' });
    world.apply({ kind: 'linkDown', link: 'b-witness' });
    watch(world, 30);
    assert.equal(world.sides.b.power, 'off', 'b, isolated, was fenced');
    assert.deepEqual(world.runningOn(QUEUE), ['a']);
    world.apply({ kind: 'sideBoot', side: 'b' });
    const holds = (): void => {
      for (const key of world.keys) assert.ok(!world.runningOn(key).includes('b'), `${key} must not run on b`);
      assert.deepEqual(world.runningOn(QUEUE), ['a']);
    };
    watch(world, 60, holds);
    world.apply({ kind: 'linkUp', link: 'b-witness' });
    watch(world, 30, holds);
    assert.equal(world.status?.phase, 'Partitioned');
    world.apply({ kind: 'linkUp', link: 'a-b' });
    watch(world, 15);
    assert.deepEqual(world.runningOn(QUEUE), ['b']);
    assert.deepEqual(world.runningOn(DB), ['a']);
    assert.equal(world.status?.phase, 'Healthy');
  });

  it('witness down and peer death: nothing moves until the witness returns', () => {
    const world = started(examplePairSpec({ afterFence: 'stay-off' }));
    world.apply({ kind: 'witnessCrash' });
    world.apply({ kind: 'powerLoss', side: 'b' });
    watch(world, 60, () => assert.ok(!world.runningOn(QUEUE).includes('a')));
    assert.deepEqual(world.runningOn(DB), [], 'a, seeing neither peer nor witness, stopped db');
    world.apply({ kind: 'witnessRestart' });
    watch(world, 20);
    assert.deepEqual(world.runningOn(DB), ['a']);
    assert.deepEqual(world.runningOn(QUEUE), ['a']);
    assert.ok(world.stats.powerOffsConfirmed >= 1, 'queue moved on the BMC reading b off');
  });

  it('a side the witness cannot reach but its peer sees is not fenced and keeps its singletons', () => {
    const world = started();
    world.apply({ kind: 'linkDown', link: 'b-witness' });
    watch(world, 60, () => {
      assert.deepEqual(world.runningOn(DB), ['a']);
      assert.deepEqual(world.runningOn(QUEUE), ['b']);
    });
    assert.equal(world.stats.fencesSent, 0);
    assert.ok(messages(world).includes('b does not answer the witness but a still sees it; nothing moves'));
  });

  it('a side whose kubelet is down keeps running pods: its singleton does not start elsewhere', () => {
    const world = started();
    world.apply({ kind: 'kubeletStop', side: 'a' });
    watch(world, 30, () => assert.deepEqual(world.runningOn(DB), ['a']));
    assert.match(world.status!.singletons.find((s) => s.singleton === DB)!.message, /a is not ready/);
    world.apply({ kind: 'kubeletStart', side: 'a' });
    watch(world, 10, () => assert.ok(!world.runningOn(DB).includes('b')));
    assert.deepEqual(world.runningOn(DB), ['a']);
  });
});
