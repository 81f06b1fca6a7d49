/**
 * A cache of cluster reads in wfm, validated on every request against a version counter in Redis
 * that is bumped after every call to sm that may change a cluster (SmClient.onClusterChange). A
 * cached answer is served only while the version is the one it was read under, so a replica never
 * serves a list older than the last change any replica made; entries also expire after a while, in
 * case a bump was lost. Without Redis, reads go to sm.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

const MAX_AGE_MS = 30_000;
const MAX_ENTRIES = 10_000;

export class ClusterReadCache {
  private readonly entries = new Map<string, { version: string; json: string; at: number }>();
  private bumping: Promise<void> | undefined;
  private nextBump: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly versionKey: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Invalidates every replica's cached reads. Bumps asked for while one is on its way share one more
   * after it (a change they follow may have come after Redis applied the first), so a burst of step
   * transitions costs two increments, not one each.
   */
  bump(): Promise<void> {
    if (!this.bumping) {
      this.bumping = this.increment().finally(() => (this.bumping = undefined));
      return this.bumping;
    }
    this.nextBump ??= this.bumping.then(() => {
      this.nextBump = undefined;
      return this.bump();
    });
    return this.nextBump;
  }

  private async increment(): Promise<void> {
    await this.redis
      .incr(this.versionKey)
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'cannot bump the cluster read version; cached reads expire within 30 s'),
      );
  }

  async read(key: string, load: () => Promise<string>): Promise<string> {
    let version: string;
    try {
      version = (await this.redis.get(this.versionKey)) ?? '0';
    } catch {
      return load();
    }
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && now - hit.at < MAX_AGE_MS) return hit.json;
    const json = await load();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { version, json, at: now });
    return json;
  }
}
