/**
 * Work shared out among sddc replicas by shard: each cluster (or pair) belongs to one shard by a
 * hash of its id, and each shard is held by one replica at a time under a Redis lease it renews,
 * so a dead replica's shards are taken over once its leases expire. The node health monitor and
 * the pair witness each have their own leases.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The shard of a cluster: a stable hash of its id. */
export function shardOf(clusterId: string, shards: number): number {
  return createHash('sha256').update(clusterId).digest().readUInt32BE(0) % shards;
}

// Renew or release a lease only while this replica still holds it.
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * The shards this replica holds. Each replica announces itself in a sorted set (score: last seen),
 * counts the live ones, and holds ⌈shards / live⌉ shards: it renews those it has, releases any
 * surplus and takes free ones. A lease lasts `leaseMs`; a replica that stops renewing loses its
 * shards to the others after that.
 */
export class ShardLeases {
  readonly replicaId = randomUUID();
  private readonly held = new Set<number>();

  /** `purpose` names the work shared out (`health`, `pairs`): each has its own leases and replica set. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly shards: number,
    private readonly leaseMs: number,
    private readonly purpose = 'health',
  ) {}

  private key(shard: number): string {
    return `${this.prefix}:${this.purpose}:shard:${shard}`;
  }

  /** Renews, balances and returns the shards held now. */
  async refresh(now = Date.now()): Promise<ReadonlySet<number>> {
    const replicas = `${this.prefix}:${this.purpose}:replicas`;
    await this.redis.zadd(replicas, now, this.replicaId);
    await this.redis.zremrangebyscore(replicas, '-inf', now - this.leaseMs);
    const live = Math.max(1, await this.redis.zcard(replicas));
    const fair = Math.ceil(this.shards / live);
    for (const shard of [...this.held]) {
      if (Number(await this.redis.eval(RENEW, 1, this.key(shard), this.replicaId, this.leaseMs)) !== 1)
        this.held.delete(shard);
    }
    for (const shard of [...this.held].slice(fair)) {
      await this.redis.eval(RELEASE, 1, this.key(shard), this.replicaId);
      this.held.delete(shard);
    }
    // Start at a different shard on each replica so that replicas do not all race for shard 0.
    const start = Number.parseInt(this.replicaId.slice(0, 8), 16) % this.shards;
    for (let i = 0; i < this.shards && this.held.size < fair; i++) {
      const shard = (start + i) % this.shards;
      if (this.held.has(shard)) continue;
      if ((await this.redis.set(this.key(shard), this.replicaId, 'PX', this.leaseMs, 'NX')) === 'OK')
        this.held.add(shard);
    }
    return this.held;
  }

  async releaseAll(): Promise<void> {
    for (const shard of this.held) await this.redis.eval(RELEASE, 1, this.key(shard), this.replicaId);
    this.held.clear();
    await this.redis.zrem(`${this.prefix}:${this.purpose}:replicas`, this.replicaId);
  }
}
