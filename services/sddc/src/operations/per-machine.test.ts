import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { CxError } from '@cx/errors';
import type { OneOperation, PerMachineOperation } from '@cx/queue-contracts';
import { runPerMachine } from './per-machine.js';

const deleting = (...ids: string[]): PerMachineOperation => ({
  op: 'per-machine',
  provider: 'sim',
  items: ids.map((machineId) => ({
    machineId,
    operation: { op: 'delete-machine', provider: 'sim', clusterId: 'c', machineId },
  })),
});
const idOf = (item: OneOperation): string => (item as { machineId: string }).machineId;

describe('per-machine operations', () => {
  it('answers every item in order, at most `concurrency` running at once', async () => {
    let running = 0;
    let most = 0;
    const answers = await runPerMachine(deleting('a', 'b', 'c', 'd', 'e'), 2, async (item) => {
      running += 1;
      most = Math.max(most, running);
      // Later items finish first: the answers still come back in the items' order.
      await sleep(idOf(item) === 'a' ? 30 : 5);
      running -= 1;
      return `deleted ${idOf(item)}`;
    });
    assert.deepEqual(answers, ['deleted a', 'deleted b', 'deleted c', 'deleted d', 'deleted e']);
    assert.equal(most, 2);
  });

  it('runs every item to its end, then fails naming the machine, a failure that is not retryable first', async () => {
    const ran: string[] = [];
    const failure = await runPerMachine(deleting('a', 'b', 'c'), 3, async (item) => {
      const id = idOf(item);
      if (id === 'a') throw new CxError('CX_PROVIDER_UNAVAILABLE', 'a: timed out', { retryable: true });
      await sleep(10);
      ran.push(id);
      if (id === 'c') throw new CxError('CX_PROVIDER_ERROR', 'c: quota exceeded', { retryable: false });
      return null;
    }).catch((error: unknown) => error as CxError);
    assert.ok(failure instanceof CxError);
    assert.deepEqual(ran, ['b', 'c']);
    assert.equal(failure.code, 'CX_PROVIDER_ERROR');
    assert.equal(failure.retryable, false);
    assert.equal(failure.details?.['machineId'], 'c');
  });

  it('fails retryably when every failure can be retried', async () => {
    const failure = await runPerMachine(deleting('a', 'b'), 2, async (item) => {
      if (idOf(item) === 'b') throw new CxError('CX_PROVIDER_UNAVAILABLE', 'b: timed out', { retryable: true });
      return null;
    }).catch((error: unknown) => error as CxError);
    assert.ok(failure instanceof CxError);
    assert.equal(failure.retryable, true);
    assert.equal(failure.details?.['machineId'], 'b');
  });
});
