/// <reference types="node" />
/** A cluster's events as the page keeps them: each once, newest first, the latest few. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterEvent } from '@cx/api-schemas';
import { EVENTS_SHOWN, mergeEvents } from './events.js';

const event = (id: string, at: string, message = id): ClusterEvent => ({
  id,
  at,
  type: 'Audit',
  message,
  reason: null,
  actor: null,
  workflowId: null,
  workflow: null,
  step: null,
  action: null,
});

describe('cluster events', () => {
  it('keeps each event once, the latest copy, newest first', () => {
    const page = [event('b', '2026-12-05T10:00:02Z'), event('a', '2026-12-05T10:00:01Z')];
    const merged = mergeEvents(page, [event('c', '2026-12-05T10:00:03Z'), event('b', '2026-12-05T10:00:02Z', 'again')]);
    assert.deepEqual(
      merged.map((e) => [e.id, e.message]),
      [
        ['c', 'c'],
        ['b', 'again'],
        ['a', 'a'],
      ],
    );
  });

  it('orders events of the same instant by id, and keeps only the latest few', () => {
    const same = mergeEvents([], [event('x.1', '2026-12-05T10:00:00Z'), event('x.2', '2026-12-05T10:00:00Z')]);
    assert.deepEqual(
      same.map((e) => e.id),
      ['x.2', 'x.1'],
    );
    const many = Array.from({ length: EVENTS_SHOWN + 5 }, (_, i) =>
      event(`e${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()),
    );
    const kept = mergeEvents([], many);
    assert.equal(kept.length, EVENTS_SHOWN);
    assert.equal(kept[0]!.id, `e${EVENTS_SHOWN + 4}`);
  });
});
