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

  it('checks a burst of reads with one version read, each against a version read after it came', async () => {
    const connection = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    try {
      // Count this replica's version reads, and hold the first one's answer until the test lets it go.
      let versionReads = 0;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const get = connection.get.bind(connection);
      connection.get = (async (name: string) => {
        const value = await get(name);
        if (++versionReads === 1) await held;
        return value;
      }) as typeof connection.get;
      const reader = new ClusterReadCache(connection, key, pino({ level: 'silent' }));
      const writer = new ClusterReadCache(redis, key, pino({ level: 'silent' }));
      let loads = 0;
      const load = async (): Promise<string> => `{"n":${++loads}}`;

      const first = reader.read('list', load); // its version read is on its way, and held
      await new Promise((resolve) => setTimeout(resolve, 50));
      await writer.bump(); // a change another replica made after that version was read
      const after = Array.from({ length: 10 }, () => reader.read('list', load));
      release();
      assert.equal(await first, '{"n":1}');
      assert.deepEqual(
        await Promise.all(after),
        Array.from({ length: 10 }, () => '{"n":2}'),
        'reads that came after the change are not answered from the version read before it',
      );
      assert.equal(versionReads, 2, 'the ten later reads shared one version read');
      assert.equal(await reader.read('list', load), '{"n":2}', 'and the next read is served from the cache');
      assert.equal(versionReads, 3);
    } finally {
      connection.disconnect();
    }
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
