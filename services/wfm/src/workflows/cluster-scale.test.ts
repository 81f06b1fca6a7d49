/**
 * nodepool.scale's remove-machines step against scripted sddc operations: machines whose node
 * joined are cordoned and drained before they are deleted; a machine that never joined (never seen
 * Ready, not listed by the cluster's API: a host that never booted its OS) is deleted without a
 * drain, even when the cluster's API does not answer at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '@cx/api-schemas';
import { CxError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { OperationState, StepContext, StepResult } from '../engine.js';
import type { Machine, StepEffect } from '@cx/sm-contract';
import { scalePoolWorkflow } from './cluster-scale.js';

const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'baremetal',
  kubernetesVersion: '1.31.2',
  status: 'Updating',
  apiEndpoint: 'https://10.0.0.1:6443',
  controlPlane: { count: 1 },
  nodePools: [{ name: 'w', count: 3 }],
} as unknown as Cluster;

const row = (id: string, nodeStatus: Machine['nodeStatus']): Machine =>
  ({
    id,
    clusterId: 'c1',
    pool: 'w',
    name: `c-w-${id}`,
    role: 'worker',
    kubernetesVersion: '1.31.2',
    phase: 'Running',
    providerId: id,
    addresses: [],
    nodeStatus,
    createdAt: '2026-01-01T00:00:00.000Z',
    version: 1,
  }) as Machine;

const removeMachines = scalePoolWorkflow.steps.find((s) => s.name === 'remove-machines')!;

/** Runs remove-machines until done; `listed` is what list-nodes answers (undefined: the API does not answer). */
async function remove(
  machines: Machine[],
  listed: string[] | undefined,
): Promise<{ events: string[]; result: StepResult }> {
  const events: string[] = [];
  const finished = new Map<string, OperationState<unknown>>();
  const answer = (op: SddcOperation): OperationState<unknown> => {
    if (op.op === 'per-machine') {
      // As sddc answers one job for several machines: every item's answer, or the first failure.
      const states = op.items.map((item) => answer(item.operation));
      return (
        states.find((state) => state.state !== 'done') ?? {
          state: 'done',
          result: states.map((state) => (state as { result: unknown }).result),
        }
      );
    }
    events.push(
      op.op === 'delete-machine' ? `${op.op} ${op.machineId}` : 'nodeName' in op ? `${op.op} ${op.nodeName}` : op.op,
    );
    if (op.op === 'list-nodes')
      return listed
        ? {
            state: 'done',
            result: listed.map((machineId) => ({ machineId, name: `c-w-${machineId}`, status: 'NotReady' })),
          }
        : {
            state: 'failed',
            error: new CxError('CX_PROVIDER_ERROR', 'connect ETIMEDOUT 10.0.0.1:6443', { retryable: true }),
          };
    if (!listed && op.op !== 'delete-machine')
      return { state: 'failed', error: new CxError('CX_PROVIDER_ERROR', 'connect ETIMEDOUT', { retryable: true }) };
    if (op.op === 'drain-node')
      return { state: 'done', result: { node: op.nodeName, remaining: 0, blockedBy: [], pods: [] } };
    return { state: 'done', result: {} };
  };
  for (let poll = 0; poll < 50; poll += 1) {
    const ctx = {
      cluster,
      machines,
      poll,
      run: {
        input: { pool: 'w', count: 0 },
        currentStep: 3,
        steps: [{ name: 'plan-scale', output: { add: [], remove: machines.map((m) => m.id) } }],
      },
      operation: async (subject: string, op: SddcOperation) => {
        if (!finished.has(subject)) finished.set(subject, answer(op));
        return finished.get(subject)!;
      },
    } as unknown as StepContext;
    const result = await removeMachines.run(ctx);
    if (result.kind === 'done') return { events, result };
  }
  throw new Error(`remove-machines never finished: ${events.join(', ')}`);
}

describe('nodepool.scale remove-machines', () => {
  it('drains the machines seen Ready and those the API lists, and deletes one that never joined without a drain', async () => {
    const { events, result } = await remove(
      [row('a', 'Ready'), row('b', 'NotReady'), row('c', 'NotReady')],
      ['a', 'c'],
    );
    assert.deepEqual(events, [
      'list-nodes',
      'cordon-node c-w-a',
      'cordon-node c-w-c',
      'drain-node c-w-a',
      'drain-node c-w-c',
      'delete-machine a',
      'delete-machine b',
      'delete-machine c',
    ]);
    assert.deepEqual((result as { effects: StepEffect[] }).effects[0], {
      kind: 'deleteMachines',
      ids: ['a', 'b', 'c'],
    });
  });

  it('deletes machines that never joined when the cluster API does not answer at all, asking no drain of it', async () => {
    const { events } = await remove([row('b', 'NotReady')], undefined);
    assert.deepEqual(events, ['list-nodes', 'delete-machine b']);
  });

  it('asks nothing of the API before draining machines all seen Ready', async () => {
    const { events } = await remove([row('a', 'Ready')], ['a']);
    assert.deepEqual(events, ['cordon-node c-w-a', 'drain-node c-w-a', 'delete-machine a']);
  });
});
