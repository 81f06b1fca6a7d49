import { Redis } from 'ioredis';
import { coalesceWrites } from '@cx/service-kit';

/**
 * An ioredis connection as BullMQ needs it: commands wait for a reconnect instead of failing, and
 * the commands of one event-loop turn go out in one write.
 */
export function connectRedis(url: string, name: string): Redis {
  return coalesceWrites(
    new Redis(url, {
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      connectionName: name,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }),
  );
}
