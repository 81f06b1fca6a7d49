/**
 * The providers each sddc replica serves, advertised in a Redis hash that wfm reads to know which
 * providers it can offer; an entry not refreshed lately counts as gone there.
 */
import type { Redis } from 'ioredis';
import { providersKey } from '@cx/queue-contracts';
import type { ProviderDirectory } from './provider-directory.js';

/** How often a replica writes its entries again, with the time it did. */
export const ADVERTISE_INTERVAL_MS = 10_000;

export async function advertiseProviders(redis: Redis, prefix: string, providers: ProviderDirectory): Promise<void> {
  const fields: Record<string, string> = {};
  for (const provider of providers.list()) {
    fields[provider.name] = JSON.stringify({ ...provider, seenAt: Date.now() });
  }
  if (Object.keys(fields).length > 0) await redis.hset(providersKey(prefix), fields);
}
