import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ScaleCommand, SideAgent } from './index.js';
import { examplePairSpec } from './simulation.js';

const spec = examplePairSpec({ peerLossTimeoutMs: 5000, isolationTimeoutMs: 8000 });

function command(overrides: Partial<ScaleCommand> = {}): ScaleCommand {
  return { side: 'a', singleton: 'apps/db', replicas: 1, boot: 4, seq: 10, issuedAt: 1000, ...overrides };
}

describe('side agent', () => {
  it('after a start holds everything inactive until it has seen its peer or the witness (wait-for-all)', () => {
    const agent = new SideAgent(spec, 'a', 4, 0);
    const held = agent.decide(60_000, ['apps/db', 'apps/queue']);
    assert.equal(held.state, 'held');
    assert.deepEqual(held.deactivate, ['apps/db', 'apps/queue']);
    agent.observePeer(61_000);
    const connected = agent.decide(61_000, ['apps/db']);
    assert.equal(connected.state, 'connected');
    assert.deepEqual(connected.deactivate, []);
  });

  it('stops its singletons once it has seen neither peer nor witness for isolationTimeoutMs, not before', () => {
    const agent = new SideAgent(spec, 'a', 4, 0);
    agent.observePeer(1000);
    agent.observeWitness(1000, 1000);
    assert.deepEqual(agent.decide(8999, ['apps/db']).deactivate, []);
    const isolated = agent.decide(9000, ['apps/db']);
    assert.equal(isolated.state, 'isolated');
    assert.deepEqual(isolated.deactivate, ['apps/db']);
    assert.match(isolated.message, /cannot prove it is the survivor/);
    agent.observeWitness(9500, 9500);
    assert.equal(agent.decide(9500, ['apps/db']).state, 'connected');
  });

  it('keeps running while it sees only its peer, or only the witness', () => {
    const peerOnly = new SideAgent(spec, 'a', 4, 0);
    const witnessOnly = new SideAgent(spec, 'a', 4, 0);
    for (let t = 1000; t <= 60_000; t += 1000) {
      peerOnly.observePeer(t);
      witnessOnly.observeWitness(t, t);
      assert.deepEqual(peerOnly.decide(t, ['apps/db']).deactivate, []);
      assert.deepEqual(witnessOnly.decide(t, ['apps/db']).deactivate, []);
    }
  });

  it('applies only commands addressed to this boot and newer than any applied', () => {
    const agent = new SideAgent(spec, 'a', 4, 0);
    assert.deepEqual(agent.acceptCommand(command({ boot: 3 }), 1000), {
      applied: false,
      reason: 'command for boot 3, this is boot 4',
    });
    assert.deepEqual(agent.acceptCommand(command({ seq: 10 }), 1000), { applied: true });
    assert.deepEqual(agent.acceptCommand(command({ seq: 9, replicas: 0 }), 1000), {
      applied: false,
      reason: 'stale command 9: applied up to 10',
    });
    assert.deepEqual(agent.acceptCommand(command({ seq: 10 }), 1000), {
      applied: false,
      reason: 'stale command 10: applied up to 10',
    });
    assert.equal(agent.acceptCommand(command({ singleton: 'apps/other', seq: 11 }), 1000).applied, false);
    assert.equal(agent.acceptCommand(command({ side: 'b', seq: 12 }), 1000).applied, false);
    assert.deepEqual(agent.acceptCommand(command({ seq: 13, replicas: 0 }), 1000), { applied: true });
  });

  it('reports only after a poll, echoing the newest witness time, with what it applied and whether it sees its peer', () => {
    const agent = new SideAgent(spec, 'b', 7, 0);
    assert.equal(agent.report(1000, { active: [], ready: true }), undefined);
    agent.observePeer(1000);
    agent.observeWitness(2000, 2000);
    agent.acceptCommand(command({ side: 'b', boot: 7, seq: 21, issuedAt: 1500 }), 2100);
    const first = agent.report(2200, { active: ['apps/db', 'not/mine'], ready: true })!;
    assert.deepEqual(first, {
      side: 'b',
      boot: 7,
      seq: 1,
      witnessTime: 2000,
      seesPeer: true,
      ready: true,
      appliedSeq: 21,
      active: ['apps/db'],
    });
    const later = agent.report(6000, { active: [], ready: false })!;
    assert.equal(later.seq, 2);
    assert.equal(later.seesPeer, false, 'the peer was last heard 5s ago');
    assert.equal(later.ready, false);
  });
});
