/**
 * addon.remove against scripted sddc answers (the whole workflow runs for real in
 * test/e2e/addons.test.ts): what the addon removes first is deleted, and awaited with what holds it
 * named, before anything else is deleted; past the timeout the run fails with AddonNotRemoved; runs
 * of version 1 still find their steps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '@cx/api-schemas';
import type { CxError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { OperationState, StepContext, StepDefinition } from '../engine.js';
import { addonWorkflows, REMOVE_TIMEOUT_MS } from './addon.js';

const TOKEN = 'service-token-for-tests-0123456789';
const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'kwok',
  kubernetesVersion: '1.37.2',
  status: 'Updating',
  controlPlane: { count: 1 },
  nodePools: [],
} as unknown as Cluster;
const { remove } = addonWorkflows(TOKEN);
const step = (name: string): StepDefinition => remove.steps.find((s) => s.name === name)!;
const HELD = 'KubeVirt kubevirt/kubevirt: waiting for its finalizers (kubevirt.io/virtOperatorFinalize)';

/** A step context of a kubevirt removal at `poll`, whose sddc answers `answer(op)`; records what was asked. */
function context(
  answer: (op: SddcOperation) => OperationState<unknown>,
  options: { poll?: number; startedAt?: string } = {},
): { ctx: StepContext; asked: string[] } {
  const asked: string[] = [];
  const startedAt = options.startedAt ?? new Date().toISOString();
  const ctx = {
    run: { id: 'r1', input: { addon: 'kubevirt' }, currentStep: 0, steps: [{ name: 'delete-first', startedAt }] },
    cluster,
    machines: [],
    poll: options.poll ?? 0,
    sm: { revealAddon: async (_cluster: string, name: string) => ({ name, version: 'v1.4.1', settings: {} }) },
    async operation<T>(subject: string, op: SddcOperation): Promise<OperationState<T>> {
      asked.push(`${subject}:${op.op}${'phase' in op && op.phase ? `:${op.phase}` : ''}`);
      return answer(op) as OperationState<T>;
    },
  } as unknown as StepContext;
  return { ctx, asked };
}

describe('addon.remove', () => {
  it('deletes what the addon removes first before the rest, as version 2; the steps of version 1 are still there', () => {
    assert.equal(remove.version, 2);
    assert.deepEqual(
      remove.steps.map((s) => s.name),
      ['delete-first', 'delete-objects', 'wait-gone'],
    );
  });

  it('delete-first waits, naming what holds the first objects, and deletes nothing else meanwhile', async () => {
    const { ctx, asked } = context(
      () => ({ state: 'done', result: { deleted: ['KubeVirt/kubevirt/kubevirt'], remaining: [HELD] } }),
      { poll: 3 },
    );
    const result = await step('delete-first').run(ctx);
    assert.equal(result.kind, 'wait');
    assert.ok(
      result.kind === 'wait' && result.nextPoll,
      'the next poll deletes and looks again, under a new operation',
    );
    assert.equal(
      result.kind === 'wait' && result.message,
      `waiting until these are gone before deleting the rest of addon kubevirt: ${HELD}`,
    );
    assert.deepEqual(asked, ['delete-first-3:remove-addon:first'], 'only the first phase was asked for');
  });

  it('delete-first is done once none of them is left (or the addon has none)', async () => {
    const { ctx } = context(() => ({ state: 'done', result: { deleted: [], remaining: [] } }));
    assert.equal((await step('delete-first').run(ctx)).kind, 'done');
    const pending = context(() => ({ state: 'pending' }));
    assert.equal((await step('delete-first').run(pending.ctx)).kind, 'wait');
  });

  it('delete-first fails with AddonNotRemoved, naming what remains, after the removal timeout', async () => {
    const { ctx } = context(() => ({ state: 'done', result: { deleted: [], remaining: [HELD] } }), {
      startedAt: new Date(Date.now() - REMOVE_TIMEOUT_MS - 1_000).toISOString(),
    });
    await assert.rejects(step('delete-first').run(ctx), (error: CxError) => {
      assert.equal(error.details?.['reason'], 'AddonNotRemoved');
      assert.deepEqual(error.details?.['remaining'], [HELD]);
      assert.match(
        error.message,
        /still present 300 s after their deletion, so the rest of it \(its operator\) is kept: KubeVirt kubevirt\/kubevirt: waiting for its finalizers/,
      );
      assert.match(error.message, /retry the workflow/);
      return true;
    });
  });

  it('delete-objects then deletes everything, and wait-gone drops the addon once nothing is left', async () => {
    const deleting = context(() => ({ state: 'done', result: { deleted: ['Deployment/kubevirt/virt-operator'] } }));
    assert.equal((await step('delete-objects').run(deleting.ctx)).kind, 'done');
    assert.deepEqual(deleting.asked, ['delete:remove-addon'], 'the whole addon, not a phase');
    const gone = context(() => ({ state: 'done', result: { workloads: [], missing: [], remaining: [] } }));
    const result = await step('wait-gone').run(gone.ctx);
    assert.equal(result.kind, 'done');
    assert.deepEqual(result.kind === 'done' && result.effects?.map((e) => e.kind), ['deleteAddon', 'setClusterStatus']);
  });
});
