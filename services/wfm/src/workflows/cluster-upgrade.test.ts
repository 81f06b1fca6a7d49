/**
 * cluster.upgrade's choice between moving workers in place and replacing them (maxSurge): the plan
 * step pairs the workers with new machines at the target version only when asked to surge, and a
 * run without maxSurge (as version 1 runs were started) plans nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '@cx/api-schemas';
import type { StepContext } from '../engine.js';
import type { Machine, StepEffect } from '@cx/sm-contract';
import { upgradeClusterWorkflow } from './cluster-upgrade.js';

const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'kwok',
  kubernetesVersion: '1.36.3',
  controlPlane: { count: 1 },
  nodePools: [{ name: 'w', count: 2 }],
} as unknown as Cluster;
const row = (id: string, name: string, role: Machine['role'] = 'worker'): Machine =>
  ({
    id,
    clusterId: 'c1',
    pool: role === 'worker' ? 'w' : 'control-plane',
    name,
    role,
    kubernetesVersion: '1.36.3',
    phase: 'Running',
    nodeStatus: 'Ready',
  }) as Machine;
const machines = [row('cp', 'c-control-plane-0', 'control-plane'), row('w0', 'c-w-0'), row('w1', 'c-w-1')];
const plan = upgradeClusterWorkflow.steps.find((s) => s.name === 'plan-replacement')!;
const planWith = (input: Record<string, unknown>) =>
  plan.run({
    cluster,
    machines,
    run: { input: { kubernetesVersion: '1.37.2', maxUnavailable: 1, ...input }, steps: [] },
  } as unknown as StepContext);

describe('cluster.upgrade with maxSurge', () => {
  it('runs the plan between the control plane and the workers', () => {
    assert.deepEqual(
      upgradeClusterWorkflow.steps.map((s) => s.name),
      ['upgrade-control-plane', 'plan-replacement', 'upgrade-workers', 'mark-upgraded'],
    );
  });

  it('pairs each worker with a new machine at the target version when maxSurge > 0', async () => {
    const result = await planWith({ maxSurge: 2 });
    assert.equal(result.kind, 'done');
    assert.deepEqual(
      (result as { output: { replacements: Array<{ name: string; by: string }> } }).output.replacements.map(
        (p) => `${p.name}>${p.by}`,
      ),
      ['c-w-0>c-w-2', 'c-w-1>c-w-3'],
    );
    assert.deepEqual((result as { effects: StepEffect[] }).effects, [
      {
        kind: 'upsertMachines',
        machines: ['c-w-2', 'c-w-3'].map((name) => ({ name, pool: 'w', role: 'worker', kubernetesVersion: '1.37.2' })),
      },
    ]);
  });

  it('plans nothing for an in-place upgrade, or a run started before maxSurge existed', async () => {
    for (const input of [{ maxSurge: 0 }, {}]) {
      const result = await planWith(input);
      assert.deepEqual(result, { kind: 'done', output: { replacements: [] }, effects: [] }, JSON.stringify(input));
    }
  });
});
