import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  contains,
  expand,
  findOverlap,
  firstFree,
  parseAddress,
  parseRanges,
  RangeSyntaxError,
  size,
} from './index.js';

describe('address ranges', () => {
  it("reads the seeds' syntax: short and full ends, single addresses, CIDR, IPv6", () => {
    assert.deepEqual(expand(parseRanges('10.1.1.5-8,42.42.42.42'), 100), [
      '10.1.1.5',
      '10.1.1.6',
      '10.1.1.7',
      '10.1.1.8',
      '42.42.42.42',
    ]);
    assert.deepEqual(expand(parseRanges('192.0.2.254-192.0.3.1'), 100), [
      '192.0.2.254',
      '192.0.2.255',
      '192.0.3.0',
      '192.0.3.1',
    ]);
    assert.deepEqual(expand(parseRanges('198.51.100.0/30'), 100), [
      '198.51.100.0',
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
    ]);
    assert.deepEqual(expand(parseRanges('2001:db8::fe-101'), 100), [
      '2001:db8::fe',
      '2001:db8::ff',
      '2001:db8::100',
      '2001:db8::101',
    ]);
    assert.equal(size(parseRanges('2001:db8::/64')), 2n ** 64n);
  });

  it('refuses malformed parts, naming them', () => {
    for (const bad of [
      '10.1.1.8-5',
      '10.1.1.5-300',
      '10.1',
      '010.0.0.1',
      'x',
      '10.1.1.5-2001:db8::1',
      '10.1.1.0/33',
      '',
      '10.0.0.1,,10.0.0.2',
      'fe80::1%eth0',
    ]) {
      assert.throws(() => parseRanges(bad), RangeSyntaxError, bad);
    }
    assert.throws(() => parseRanges('10.0.0.1-10,10.0.0.5'), /overlapping parts: 10.0.0.1-10 and 10.0.0.5/);
  });

  it('finds overlaps between lists, only within a family', () => {
    const a = parseRanges('10.0.0.0/24');
    assert.ok(findOverlap(a, parseRanges('10.0.0.255-10.0.1.3')));
    assert.equal(findOverlap(a, parseRanges('10.0.1.0/24,2001:db8::/120')), undefined);
  });

  it('gives the first free address in the order of the ranges', () => {
    const ranges = parseRanges('10.1.1.5-6,42.42.42.42');
    assert.equal(firstFree(ranges, new Set()), '10.1.1.5');
    assert.equal(firstFree(ranges, new Set(['10.1.1.5', '10.1.1.6'])), '42.42.42.42');
    assert.equal(firstFree(ranges, new Set(['10.1.1.5', '10.1.1.6', '42.42.42.42'])), undefined);
    assert.ok(contains(ranges, parseAddress('10.1.1.6')!));
    assert.ok(!contains(ranges, parseAddress('10.1.1.7')!));
  });
});
