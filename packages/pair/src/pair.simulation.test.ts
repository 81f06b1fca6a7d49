/**
 * The randomized proof: PAIR_SEQUENCES (default 1000) seeded sequences, each played twice, once
 * ending healed and once degraded (one side off for good). Safety is checked after every event
 * and every round; liveness at the end. A failure prints its seed and events; replay one with
 * `PAIR_SEED=123 node --test packages/pair/dist/` (the trace is then printed even on success).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Ending, type SequenceResult, SimulationFailure, type WorldStats, runSequence } from './simulation.js';

const only = process.env.PAIR_SEED === undefined ? undefined : Number(process.env.PAIR_SEED);
const count = Number(process.env.PAIR_SEQUENCES ?? 1000);
const seeds = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => i + 1);

function runAll(ending: Ending): SequenceResult[] {
  const results: SequenceResult[] = [];
  for (const seed of seeds) {
    try {
      const result = runSequence(seed, ending);
      if (only !== undefined) console.log(`seed ${seed}, ending ${ending}:\n${result.trace.join('\n')}`);
      results.push(result);
    } catch (error) {
      if (error instanceof SimulationFailure) assert.fail(error.message);
      throw error;
    }
  }
  return results;
}

/** In how many sequences each thing happened at least once. */
function coverage(results: SequenceResult[]): Record<keyof WorldStats, number> {
  const keys = Object.keys(results[0]!.stats) as (keyof WorldStats)[];
  return Object.fromEntries(keys.map((key) => [key, results.filter((r) => r.stats[key] > 0).length])) as Record<
    keyof WorldStats,
    number
  >;
}

describe('two-node pair, randomized', () => {
  for (const ending of ['healed', 'degraded'] as const) {
    it(`${seeds.length} sequences of 20-60 random events stay safe and end ${ending === 'healed' ? 'with every singleton on its preferred side' : 'with every singleton on the survivor'}`, () => {
      const results = runAll(ending);
      assert.equal(results.length, seeds.length);
      const events = results.reduce((n, r) => n + r.events, 0);
      const slowest = Math.max(...results.map((r) => r.settledAfterMs));
      const seen = coverage(results);
      console.log(
        `${ending}: ${results.length} sequences, ${events} random events, settled at most ${slowest / 1000}s after the heal; sequences with: ${JSON.stringify(seen)}`,
      );
      if (only === undefined && seeds.length >= 200) {
        // The runs must have exercised what they claim to prove, or passing would mean nothing.
        for (const [key, sequences] of Object.entries(seen))
          assert.ok(sequences >= seeds.length / 50, `only ${sequences} sequences had ${key}`);
      }
    });
  }
});
