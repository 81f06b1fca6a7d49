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
  /** Each key's answer, or its load while it is on its way, with the version it was read under. */
  private readonly entries = new Map<string, { version: string; json: Promise<string>; at: number }>();
  /**
   * Invalidates every replica's cached reads. A burst of step transitions costs two increments, not
   * one each (see `coalesced`).
   */
  readonly bump: () => Promise<void> = coalesced(() =>
    this.redis
      .incr(this.versionKey)
      .then(() => undefined)
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'cannot bump the cluster read version; cached reads expire within 30 s'),
      ),
  );
  private readonly version = coalesced(async () => (await this.redis.get(this.versionKey)) ?? '0');

  constructor(
    private readonly redis: Redis,
    private readonly versionKey: string,
    private readonly logger: Logger,
  ) {}

  /**
   * The JSON answer of `key`, from the cache while its version holds, else from `load`. The reads
   * that come while the version is being read share the next read of it, and the reads that miss
   * under one version share one load: one Redis round trip and one call to sm serve a burst of
   * requests, each checked against a version read after it came.
   */
  async read(key: string, load: () => Promise<string>): Promise<string> {
    let version: string;
    try {
      version = await this.version();
    } catch {
      return load();
    }
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && now - hit.at < MAX_AGE_MS) return hit.json;
    const json = load();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const entry = { version, json, at: now };
    this.entries.set(key, entry);
    // A failure is not kept: the next read loads again.
    void json.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return json;
  }
}

/**
 * `call`, shared by everyone who asks while it is on its way, and one more call after it shared by
 * those who asked meanwhile: whoever asks gets the answer of a call that started after they asked,
 * so it reflects every change made before they asked.
 */
function coalesced<T>(call: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;
  const start = (): Promise<T> => {
    if (!running) {
      const current = call().finally(() => {
        running = undefined;
      });
      running = current;
      return current;
    }
    next ??= running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
  return start;
}
