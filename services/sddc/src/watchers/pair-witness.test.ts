import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAIR_TIMING_DEFAULTS } from '@cx/api-schemas';
import { DEFAULT_PAIR_TIMING, PairWitness, type PairSpec } from '@cx/pair';
import { statusView } from './pair-witness.js';

describe('pair witness driver', () => {
  it("publishes the API's timing defaults exactly as the decision logic defines them", () => {
    // api-schemas depends on nothing, so it keeps its own copy: this is what keeps the two equal.
    assert.deepEqual({ ...PAIR_TIMING_DEFAULTS }, { ...DEFAULT_PAIR_TIMING });
  });

  it('shows the witness status with ISO times, fence times included, and the recent events', () => {
    const spec: PairSpec = {
      name: 'edge',
      preferredSide: 'a',
      afterFence: 'stay-off',
      ...DEFAULT_PAIR_TIMING,
      sides: {
        a: { cluster: 'ca', bmc: { protocol: 'provider', address: 'kwok/m-a' } },
        b: { cluster: 'cb', bmc: { protocol: 'provider', address: 'kwok/m-b' } },
      },
      singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
    };
    const at = Date.parse('2026-11-23T10:00:00.000Z');
    const witness = PairWitness.create(spec, at);
    witness.observe({
      kind: 'report',
      at,
      report: { side: 'a', boot: 1, seq: 1, witnessTime: at, seesPeer: false, ready: true, appliedSeq: 0, active: [] },
    });
    const { status } = witness.decide(at + 1_000);
    const events = [
      {
        at: '2026-11-23T10:00:01.000Z',
        side: 'b' as const,
        action: 'fence',
        outcome: 'accepted',
        message: 'power-off of cb accepted (attempt 1)',
      },
    ];
    const view = statusView(status, events);
    assert.equal(view.at, '2026-11-23T10:00:01.000Z');
    assert.equal(view.sides.a['lastHeardAt'], '2026-11-23T10:00:00.000Z');
    assert.equal(view.sides.b['lastHeardAt'], null, 'never heard');
    assert.deepEqual(view.sides.a['fence'], { phase: 'idle' });
    assert.deepEqual(view.events, events);
    assert.equal(view.phase, status.phase);
    assert.deepEqual(
      view.singletons.map((s) => s['singleton']),
      ['apps/db'],
    );
  });
});
