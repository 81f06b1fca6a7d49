import { Redis } from 'ioredis';

/** An ioredis connection as BullMQ needs it: commands wait for a reconnect instead of failing. */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
