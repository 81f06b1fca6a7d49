/** A cluster's events as the page keeps them: one of each, newest first, the latest few. */
import type { ClusterEvent } from '@cx/api-schemas';

export const EVENTS_SHOWN = 50;

/** `known` with `more` added: an event seen twice (the first page and the stream overlap) once. */
export function mergeEvents(known: ClusterEvent[], more: ClusterEvent[]): ClusterEvent[] {
  const byId = new Map(known.map((e) => [e.id, e]));
  for (const e of more) byId.set(e.id, e);
  return [...byId.values()]
    .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
    .slice(0, EVENTS_SHOWN);
}
