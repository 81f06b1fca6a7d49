/**
 * defineWorkflow: a run's step list follows the steps' `when` (cluster.create with and without
 * template addons), a step sees the run's input and reads an earlier step's output by that step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { done, type StepContext } from '../engine.js';
import { createClusterWorkflow } from './cluster-create.js';
import { defineStep, defineWorkflow, runSteps } from './define.js';

const BASE = ['plan-machines', 'provision-machines', 'wait-nodes-ready', 'configure-access', 'mark-ready'];

describe('defineWorkflow', () => {
  it('starts cluster.create without addon steps from scratch, and with those its template addons need', () => {
    const create = createClusterWorkflow('service-token-for-tests-0123456789');
    assert.deepEqual(runSteps(create, {}), BASE);
    assert.deepEqual(runSteps(create, { addons: ['metrics-server'] }), [
      'plan-machines',
      'provision-machines',
      'wait-nodes-ready',
      'configure-access',
      'apply-addons',
      'wait-addons-ready',
      'mark-ready',
    ]);
    assert.deepEqual(
      runSteps(create, { addons: ['cni-flannel', 'metrics-server'] }),
      create.steps.map((s) => s.name),
    );
  });

  it("gives a step the run's input and an earlier step's output, by that step's name", async () => {
    const plan = defineStep<{ count: number }, { names: string[] }>({
      name: 'plan',
      run: async (ctx) => done({ names: Array.from({ length: ctx.input.count }, (_, i) => `m-${i}`) }),
    });
    const seen: Array<string[] | undefined> = [];
    const workflow = defineWorkflow<{ count: number }>({
      name: 'test.flow',
      version: 1,
      steps: [
        plan,
        {
          name: 'use',
          run: async (ctx) => {
            seen.push(ctx.output(plan)?.names);
            return done(null);
          },
        },
      ],
    });
    const ctx = (steps: Array<{ name: string; output?: unknown }>): StepContext =>
      ({ run: { input: { count: 2 }, steps } }) as unknown as StepContext;
    assert.deepEqual(await workflow.steps[0]!.run(ctx([])), {
      kind: 'done',
      output: { names: ['m-0', 'm-1'] },
      effects: [],
    });
    await workflow.steps[1]!.run(ctx([{ name: 'use' }, { name: 'plan', output: { names: ['a'] } }]));
    await workflow.steps[1]!.run(ctx([{ name: 'use' }]));
    assert.deepEqual(
      seen,
      [['a'], undefined],
      'found by name wherever it is in the run, undefined when the run has no such step',
    );
  });
});
