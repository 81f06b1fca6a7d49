/** A pool's labels and taints as people type them: `key=value, …` and `key[=value]:Effect, …`. */
import type { NodePoolRequest } from '@cx/api-schemas';

/** `a=b, c=d` → { a: 'b', c: 'd' }; answers a message for an entry without `=`. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    if (at <= 0) return `“${entry}” is not key=value`;
    labels[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return labels;
}
type Taint = NonNullable<NodePoolRequest['taints']>[number];
/** `key=value:Effect, key:Effect` → taints; answers a message for an entry without an effect. */
export function parseTaints(text: string): Taint[] | string {
  const taints: Taint[] = [];
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(entry);
    if (!match) return `“${entry}” is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute`;
    taints.push({ key: match[1]!, ...(match[2] ? { value: match[2] } : {}), effect: match[3] as Taint['effect'] });
  }
  return taints;
}

/** Labels as `parseLabels` reads them back: `a=b, c=d`. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/** Taints as `parseTaints` reads them back: `key=value:Effect, key:Effect`. */
export function formatTaints(taints: Taint[] | undefined): string {
  return (taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ');
}
