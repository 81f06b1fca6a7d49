import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** Sockets whose writes are already held to the end of the turn. */
const coalesced = new WeakSet<Socket>();

/**
 * Sends the commands `redis` writes during one turn of the event loop in one system call, on
 * this connection and on every one it reconnects with. ioredis writes each command to its socket
 * at once, one `write` each; BullMQ moves a job with several commands in a row, and on a virtual
 * machine a socket write costs tens of microseconds. The socket is corked at a turn's first write
 * and uncorked once the turn's callbacks and promise reactions have run, so nothing waits for a
 * later turn. (ioredis's `enableAutoPipelining` batches the same commands, but builds a pipeline
 * per turn, which cost more CPU than the writes it saved: docs/benchmarks.md, twelfth session.)
 */
export function coalesceWrites(redis: Redis): Redis {
  const hold = (): void => {
    const socket = redis.stream as Socket | undefined;
    if (!socket || coalesced.has(socket)) return;
    coalesced.add(socket);
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    let corked = false;
    socket.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      return write(...args);
    }) as Socket['write'];
  };
  hold();
  redis.on('connect', hold);
  return redis;
}
