import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ClusterReadCache } from '../http/read-cache.js';

const redisUrl = process.env['CX_TEST_REDIS_URL'];

describe('ClusterReadCache on real Redis', () => {
  let redis: Redis;
  const key = `cxtest${randomBytes(3).toString('hex')}:cluster-read-version`;
  before(() => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('serves a cached read until any replica bumps the version', async () => {
    const replicaA = new ClusterReadCache(redis, key, pino({ level: 'silent' }));
    const replicaB = new ClusterReadCache(redis, key, pino({ level: 'silent' }));
    let loads = 0;
    const load = async (): Promise<string> => `{"n":${++loads}}`;
    assert.equal(await replicaA.read('list', load), '{"n":1}');
    assert.equal(await replicaA.read('list', load), '{"n":1}', 'second read is served from the cache');
    assert.equal(await replicaA.read('other', load), '{"n":2}', 'keys are separate');
    await replicaB.bump();
    assert.equal(await replicaA.read('list', load), '{"n":3}', 'a bump by another replica invalidates');
    await assert.rejects(
      replicaA.read('failing', async () => {
        throw new Error('sm down');
      }),
      /sm down/,
    );
    assert.equal(await replicaA.read('failing', load), '{"n":4}', 'failures are not cached');
  });

  it('coalesces a burst of bumps into two increments, each change still followed by one', async () => {
    const cache = new ClusterReadCache(redis, key, pino({ level: 'silent' }));
    const version = async (): Promise<number> => Number((await redis.get(key)) ?? 0);
    const before = await version();
    await Promise.all(Array.from({ length: 20 }, () => cache.bump()));
    assert.equal(await version(), before + 2, 'the first, and one after it for those asked meanwhile');
    await cache.bump();
    assert.equal(await version(), before + 3, 'a bump asked after the burst increments again');
  });

  it('reads through to the loader when Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    down.on('error', () => undefined);
    const cache = new ClusterReadCache(down, key, pino({ level: 'silent' }));
    let loads = 0;
    assert.equal(await cache.read('list', async () => String(++loads)), '1');
    assert.equal(
      await cache.read('list', async () => String(++loads)),
      '2',
      'nothing is served without a version to check',
    );
    await cache.bump(); // logs, does not throw
    down.disconnect();
  });
});
