import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT, type CliError } from './exit-codes.js';
import { parseLabels, parsePool, parsePools } from './pool-spec.js';

const usage = (error: CliError): boolean => error.exitCode === EXIT.usage;

describe('--pool NAME=COUNT[:LABEL=VALUE,…]', () => {
  it('reads a name and a count', () => {
    assert.deepEqual(parsePool('workers=5'), { name: 'workers', count: 5 });
    assert.deepEqual(parsePool('empty=0'), { name: 'empty', count: 0 });
  });

  it('reads labels after the colon, with DNS-prefixed keys', () => {
    assert.deepEqual(parsePool('gpu=2:accelerator=nvidia,example.com/tier=batch'), {
      name: 'gpu',
      count: 2,
      labels: { accelerator: 'nvidia', 'example.com/tier': 'batch' },
    });
    assert.deepEqual(parseLabels('a=', 'x'), { a: '' });
  });

  it('refuses what the API would refuse, as usage errors', () => {
    for (const bad of ['workers', 'workers=', 'workers=-1', 'workers=x', 'Workers=1', 'w_1=1', 'workers=501', '=3'])
      assert.throws(() => parsePool(bad), usage, bad);
    assert.throws(() => parsePool('w=1:'), /no labels/);
    assert.throws(() => parsePool('w=1:tier'), /not KEY=VALUE/);
    assert.throws(() => parsePool('w=1:tier=a b'), /not a label value/);
    assert.throws(() => parsePool('w=1:-bad=x'), /not a label key/);
    assert.throws(() => parsePool('w=1:a=1,a=2'), /given twice/);
  });

  it('refuses the same pool twice', () => {
    assert.throws(() => parsePools(['w=1', 'w=2']), /--pool w given twice/);
    assert.deepEqual(
      parsePools(['a=1', 'b=2']).map((p) => p.name),
      ['a', 'b'],
    );
  });
});
