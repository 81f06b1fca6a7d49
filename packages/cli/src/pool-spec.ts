/**
 * `--pool NAME=COUNT[:LABEL=VALUE,…]`, the node pools of `cx create cluster` and `cx scale`:
 * `--pool workers=5`, `--pool gpu=2:accelerator=nvidia,tier=batch`. Checked here with the API's own
 * patterns so that a typo is a usage error (exit 2) before anything is sent.
 */
import { DNS1123_LABEL, MAX_POOL_COUNT, type NodePoolRequest } from '@cx/api-schemas';
import { UsageError } from './exit-codes.js';

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export const POOL_SYNTAX = 'NAME=COUNT[:LABEL=VALUE,…]';

export function parsePool(text: string): NodePoolRequest {
  const match = /^([^=:]+)=(\d+)(?::(.*))?$/.exec(text.trim());
  if (!match) throw new UsageError(`--pool ${text}: expected ${POOL_SYNTAX}`, 'e.g. --pool workers=3:tier=web');
  const [, name, countText, labelText] = match as unknown as [string, string, string, string | undefined];
  if (!new RegExp(DNS1123_LABEL).test(name) || name.length > 40)
    throw new UsageError(`--pool ${text}: pool name ${name} must be a DNS-1123 label (a-z, 0-9, -) of at most 40`);
  const count = Number(countText);
  if (!Number.isSafeInteger(count) || count > MAX_POOL_COUNT)
    throw new UsageError(`--pool ${text}: count must be between 0 and ${MAX_POOL_COUNT}`);
  const pool: NodePoolRequest = { name, count };
  if (labelText !== undefined) pool.labels = parseLabels(labelText, `--pool ${text}`);
  return pool;
}

/** `k=v,k2=v2` (Kubernetes label syntax). */
export function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text.trim() === '') throw new UsageError(`${where}: no labels after ':'`);
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${where}: label ${pair} is not KEY=VALUE`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!LABEL_KEY.test(key) || key.length > 316) throw new UsageError(`${where}: ${key} is not a label key`);
    if (!LABEL_VALUE.test(value) || value.length > 63)
      throw new UsageError(`${where}: ${value} is not a label value (alphanumerics, -, _, . ; at most 63)`);
    if (key in labels) throw new UsageError(`${where}: label ${key} given twice`);
    labels[key] = value;
  }
  return labels;
}

/** Several `--pool`s; a name given twice is a usage error. */
export function parsePools(texts: string[]): NodePoolRequest[] {
  const pools = texts.map(parsePool);
  const seen = new Set<string>();
  for (const pool of pools) {
    if (seen.has(pool.name)) throw new UsageError(`--pool ${pool.name} given twice`);
    seen.add(pool.name);
  }
  return pools;
}
