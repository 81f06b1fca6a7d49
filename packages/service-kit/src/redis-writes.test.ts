import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { coalesceWrites } from './redis-writes.js';

const redisUrl = process.env['CX_TEST_REDIS_URL'];

/** Counts the writes that reach the socket's handle: one `_write` per chunk, or one `_writev` for the chunks held. */
function countWrites(socket: Socket): { writes: number; chunks: number } {
  const counts = { writes: 0, chunks: 0 };
  const internals = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], ...rest: unknown[]) => void;
  };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...args) => {
    counts.writes++;
    counts.chunks++;
    write(...args);
  };
  internals._writev = (chunks, ...rest) => {
    counts.writes++;
    counts.chunks += chunks.length;
    writev(chunks, ...rest);
  };
  return counts;
}

describe('coalesceWrites on real Redis', () => {
  let redis: Redis;
  const key = `cxtest${randomBytes(3).toString('hex')}:coalesce`;
  before(async () => {
    assert.ok(
      redisUrl,
      'CX_TEST_REDIS_URL is not set: run the tests with `npm test`, which starts Redis (test/peers/redis.sh)',
    );
    redis = coalesceWrites(new Redis(redisUrl, { maxRetriesPerRequest: 1 }));
    await redis.ping();
  });
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('sends the commands of one turn in one write, and answers each', async () => {
    const counts = countWrites(redis.stream as Socket);
    const replies = await Promise.all(Array.from({ length: 20 }, () => redis.incr(key)));
    assert.deepEqual(
      replies,
      Array.from({ length: 20 }, (_, i) => i + 1),
      'every command answered, in order',
    );
    assert.deepEqual(counts, { writes: 1, chunks: 20 });
  });

  it('holds no command past its turn', { timeout: 5_000 }, async () => {
    const counts = countWrites(redis.stream as Socket);
    // Each command is written in a turn of its own and awaited there: a write held to a later turn would never be answered.
    for (let i = 0; i < 5; i++) assert.equal(await redis.get(key), '20');
    assert.deepEqual(counts, { writes: 5, chunks: 5 });
  });

  it('coalesces on the socket of a reconnection too', async () => {
    const first = redis.stream;
    redis.disconnect(true);
    await once(redis, 'ready');
    assert.notEqual(redis.stream, first, 'a new socket');
    const counts = countWrites(redis.stream as Socket);
    await Promise.all([redis.get(key), redis.get(key), redis.get(key)]);
    assert.deepEqual(counts, { writes: 1, chunks: 3 });
  });
});
