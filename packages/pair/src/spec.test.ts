import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PairSpecError, assertPairSpec, checkPairSpec } from './index.js';
import { examplePairSpec } from './simulation.js';

describe('pair spec', () => {
  it('accepts a complete spec', () => {
    assert.deepEqual(checkPairSpec(examplePairSpec()), []);
  });

  it('refuses a side without a BMC, naming the side', () => {
    const spec = examplePairSpec();
    const problems = checkPairSpec({ ...spec, sides: { a: spec.sides.a, b: { cluster: 'edge-7b' } } });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, 'sides.b.bmc');
    assert.match(problems[0]!.message, /side b has no BMC/);
  });

  it('refuses the same singleton twice, pointing at both entries', () => {
    const spec = examplePairSpec();
    const problems = checkPairSpec({
      ...spec,
      singletons: [...spec.singletons, { namespace: 'apps', name: 'db', preferredSide: 'b' }],
    });
    assert.deepEqual(problems, [{ path: 'singletons[2]', message: 'apps/db is listed twice (also singletons[0])' }]);
  });

  it('refuses an unknown preferred side, for a singleton and for the pair', () => {
    const spec = examplePairSpec();
    const problems = checkPairSpec({
      ...spec,
      preferredSide: 'c',
      singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'left' }],
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['preferredSide', 'singletons[0].preferredSide'],
    );
    assert.match(problems[1]!.message, /unknown preferred side "left"/);
  });

  it('lists every problem at once: names, same cluster on both sides, timings, BMC fields', () => {
    const spec = examplePairSpec();
    const problems = checkPairSpec({
      ...spec,
      name: 'Edge_7',
      sides: {
        a: { cluster: 'x', bmc: { protocol: 'telnet', address: '' } },
        b: { cluster: 'x', bmc: spec.sides.b.bmc },
      },
      singletons: [{ namespace: 'Apps', name: '-db', preferredSide: 'a' }],
      peerLossTimeoutMs: 0,
      fencingDelayMs: 0,
      fenceTimeoutMs: 1.5,
      powerPollIntervalMs: 30_000,
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        'name',
        'sides.a.bmc.protocol',
        'sides.a.bmc.address',
        'sides.b.cluster',
        'singletons[0].namespace',
        'singletons[0].name',
        'peerLossTimeoutMs',
        'fenceTimeoutMs',
        'powerPollIntervalMs',
      ],
    );
  });

  it('takes JSON of any shape without throwing', () => {
    for (const input of [null, 42, 'pair', [], {}, { sides: [], singletons: {} }]) {
      assert.ok(checkPairSpec(input).length > 0, JSON.stringify(input));
    }
  });

  it('assertPairSpec throws a PairSpecError carrying the problems', () => {
    assert.doesNotThrow(() => assertPairSpec(examplePairSpec()));
    const error = (() => {
      try {
        assertPairSpec({ ...examplePairSpec(), preferredSide: 'c' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof PairSpecError);
    assert.deepEqual(
      error.problems.map((p) => p.path),
      ['preferredSide'],
    );
    assert.match(error.message, /^invalid pair spec: preferredSide: /);
  });
});
