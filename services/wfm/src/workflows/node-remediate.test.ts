/**
 * The fence step of node.remediate, against scripted sddc answers (the whole workflow runs for real
 * in test/e2e/node-health.test.ts): a power-off that fails or is never seen stops the remediation
 * with the reason FenceFailed, and nothing after the fence runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEALTH_POLICY_DEFAULTS, type Cluster } from '@cx/api-schemas';
import { type CxError, ProviderUnavailableError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { OperationState, StepContext, StepResult } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { remediateNodeWorkflow, remediationOf } from './node-remediate.js';

const machine: Machine = {
  id: 'm1',
  clusterId: 'c1',
  pool: 'workers',
  name: 'c-workers-0',
  role: 'worker',
  kubernetesVersion: '1.37.2',
  phase: 'Running',
  providerId: 'p',
  addresses: [],
  nodeStatus: 'NotReady',
  createdAt: '2026-01-01T00:00:00.000Z',
  version: 1,
};
const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'kwok',
  kubernetesVersion: '1.37.2',
  status: 'Updating',
  controlPlane: { count: 1 },
  nodePools: [{ name: 'workers', count: 2 }],
  health: HEALTH_POLICY_DEFAULTS,
  healthStatus: null,
} as unknown as Cluster;

/** A step context whose sddc answers each operation with `answer(op)`; records what was asked. */
function context(
  answer: (op: SddcOperation, subject: string) => OperationState<unknown>,
  startedAt = new Date().toISOString(),
): { ctx: StepContext; asked: string[] } {
  const asked: string[] = [];
  const ctx = {
    run: {
      id: 'r1',
      input: { clusterId: 'c1', machineId: 'm1', machineName: machine.name, reason: 'r', since: startedAt },
      currentStep: 0,
      steps: [{ name: 'fence', startedAt }],
    },
    cluster,
    machines: [machine],
    poll: 0,
    async operation<T>(subject: string, op: SddcOperation): Promise<OperationState<T>> {
      asked.push(`${subject}:${op.op}${'action' in op ? `:${op.action}` : ''}`);
      return answer(op, subject) as OperationState<T>;
    },
  } as unknown as StepContext;
  return { ctx, asked };
}

const fence = remediateNodeWorkflow.steps[0]!;

describe('node.remediate fence step', () => {
  it('is done once the machine reads off, asking nothing but power', async () => {
    const { ctx, asked } = context(() => ({ state: 'done', result: { powerState: 'off' } }));
    const result: StepResult = await fence.run(ctx);
    assert.equal(result.kind, 'done');
    assert.deepEqual(asked, ['power-off:set-power:off']);
  });

  it('fails with FenceFailed, naming the cause, when the power-off fails', async () => {
    const { ctx } = context(() => ({
      state: 'failed',
      error: new ProviderUnavailableError('the BMC did not answer', { details: { reason: 'Unreachable' } }),
    }));
    await assert.rejects(fence.run(ctx), (error: CxError) => {
      assert.equal(error.details?.['reason'], 'FenceFailed');
      assert.equal(error.details?.['causeReason'], 'Unreachable');
      assert.equal(error.retryable, false);
      assert.match(error.message, /could not fence c-workers-0: the BMC did not answer\. Nothing was moved/);
      return true;
    });
  });

  it('keeps reading the power state until it is off, and fails if it never is', async () => {
    const stillOn = (op: SddcOperation): OperationState<unknown> => ({
      state: 'done',
      result: { powerState: op.op === 'set-power' ? 'unknown' : 'on' },
    });
    const recent = context(stillOn);
    const waiting = await fence.run(recent.ctx);
    assert.equal(waiting.kind, 'wait');
    assert.deepEqual(recent.asked, ['power-off:set-power:off', 'power-state-0:power-state']);

    const long = context(stillOn, new Date(Date.now() - 10 * 60_000).toISOString());
    await assert.rejects(fence.run(long.ctx), /still reads on 120 s after the power-off/);
  });

  it('skips a machine that no longer exists', async () => {
    const { ctx, asked } = context(() => ({ state: 'done', result: { powerState: 'off' } }));
    (ctx as { machines: Machine[] }).machines = [];
    assert.equal((await fence.run(ctx)).kind, 'done');
    assert.deepEqual(asked, []);
  });

  it('reboots rather than replaces a control-plane machine on real infrastructure', () => {
    const controlPlane = { ...machine, pool: 'control-plane', role: 'control-plane' as const };
    const capabilities = { power: true, loadBalancer: false, virtualIp: false, kubernetesApi: true };
    const vsphere = {
      name: 'vsphere',
      kubernetesVersions: [],
      contractVersion: '1.8.0',
      takesCredential: true,
      capabilities: { ...capabilities, controlPlaneReplacement: false },
    };
    const kwok = {
      name: 'kwok',
      kubernetesVersions: [],
      contractVersion: '1.8.0',
      takesCredential: false,
      capabilities: { ...capabilities, controlPlaneReplacement: true },
    };
    assert.equal(remediationOf({ ...cluster, provider: 'vsphere' }, controlPlane, vsphere).remediation, 'reboot');
    assert.equal(remediationOf({ ...cluster, provider: 'vsphere' }, machine, vsphere).remediation, 'replace');
    assert.equal(
      remediationOf(cluster, controlPlane, kwok).remediation,
      'replace',
      'kwok makes a node, not a kubeadm bootstrap',
    );
  });
});
