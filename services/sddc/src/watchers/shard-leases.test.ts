/** Shards of clusters (pure) and their leases shared between replicas (against real Redis). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { shardOf, ShardLeases } from './shard-leases.js';

describe('shard leases against real Redis', () => {
  const redisUrl = process.env['CX_TEST_REDIS_URL'];
  const prefix = `healthtest${randomBytes(3).toString('hex')}`;
  let redis: Redis;
  before(() => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    redis = new Redis(redisUrl);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('spreads clusters over shards', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 800; i++) counts[shardOf(`cluster-${i}`, 8)]! += 1;
    assert.ok(Math.min(...counts) > 60, `uneven shards: ${counts.join(',')}`);
  });

  it("shares the shards between live replicas, never twice, and takes over a dead replica's", async () => {
    const leaseMs = 600;
    const a = new ShardLeases(redis, prefix, 16, leaseMs);
    const b = new ShardLeases(redis, prefix, 16, leaseMs);
    assert.equal((await a.refresh()).size, 16, 'a lone replica holds every shard');
    await b.refresh(); // b is seen: a gives up half on its next refresh, b takes them on its own
    await a.refresh();
    await b.refresh();
    const heldA = new Set(await a.refresh());
    const heldB = new Set(await b.refresh());
    assert.equal(heldA.size, 8);
    assert.equal(heldB.size, 8);
    assert.deepEqual(
      [...heldA].filter((s) => heldB.has(s)),
      [],
      'a shard is held by both replicas',
    );

    // a stops renewing (dead): once its leases expire, b holds every shard.
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 200));
    assert.equal((await b.refresh()).size, 16);
    await b.releaseAll();
    assert.equal(await redis.exists(`${prefix}:health:shard:0`), 0);
  });
});
