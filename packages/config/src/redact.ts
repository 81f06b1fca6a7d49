import { configKeys } from './keys.js';
import { getPath, setPath } from './paths.js';
import type { CxConfig } from './schema.js';

/** A copy of the configuration fit for logs: secrets replaced, passwords in URLs masked. */
export function redactConfig(config: Readonly<CxConfig>): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const key of configKeys()) {
    if (!key.secret) continue;
    const value = getPath(copy, key.path);
    if (typeof value === 'string') setPath(copy, key.path, key.path.endsWith('url') ? redactUrl(value) : '<redacted>');
  }
  return copy;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:<redacted>@');
}
