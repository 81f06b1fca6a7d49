import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchUpdate, type WatchState } from './watch.js';

describe('cx get --watch', () => {
  const item = (key: string, status: string, age: string) => ({
    key,
    content: JSON.stringify({ key, status }),
    row: `${key}   ${status}   ${age}`,
  });

  it('prints every row first, then only new and changed items, and names the items that went away', () => {
    const empty: WatchState = { printed: new Map() };
    const first = watchUpdate(empty, [item('a', 'Provisioning', '1s'), item('b', 'Ready', '3d')]);
    assert.deepEqual(first.rows, ['a   Provisioning   1s', 'b   Ready   3d']);
    assert.deepEqual(first.gone, []);
    const same = watchUpdate(first.state, [item('a', 'Provisioning', '2s'), item('b', 'Ready', '3d')]);
    assert.deepEqual([same.rows, same.gone], [[], []], 'only the age moved: nothing printed');
    const next = watchUpdate(same.state, [item('a', 'Ready', '3s'), item('c', 'Provisioning', '0s')]);
    assert.deepEqual(next.rows, ['a   Ready   3s', 'c   Provisioning   0s']);
    assert.deepEqual(next.gone, ['b']);
    assert.deepEqual([...next.state.printed.keys()], ['a', 'c']);
  });
});
