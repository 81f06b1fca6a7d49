/**
 * The addon steps of cluster.create, against scripted sddc answers (the whole workflow runs for
 * real in test/e2e/cluster-templates.test.ts): each template addon applied and awaited, marked
 * Installed with the step that sees them all ready, AddonNotReady naming the late workloads after
 * the timeout, nothing asked of a cluster without template addons.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '@cx/api-schemas';
import { type CxError, ProviderError, ProviderUnavailableError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { OperationState, StepContext, StepDefinition } from '../engine.js';
import { createClusterWorkflow } from './cluster-create.js';
import { templateAddonSteps } from './template-addons.js';

const TOKEN = 'service-token-for-tests-0123456789';
const cluster = {
  id: 'c1',
  name: 'c',
  provider: 'kwok',
  kubernetesVersion: '1.37.2',
  status: 'Provisioning',
  apiEndpoint: 'https://127.0.0.1:6443',
  controlPlane: { count: 1 },
  nodePools: [],
} as unknown as Cluster;
const workflow = createClusterWorkflow(TOKEN);
const step = (name: string): StepDefinition => workflow.steps.find((s) => s.name === name)!;

const workload = (name: string, ready: boolean): Record<string, unknown> => ({
  kind: 'Deployment',
  namespace: 'kube-system',
  name,
  ready,
  readyReplicas: ready ? 1 : 0,
  desired: 1,
});

/** A step context with the run's template addons, whose sddc answers `answer(op, subject)`; records what was asked. */
function context(
  addons: string[] | undefined,
  answer: (op: SddcOperation, subject: string) => OperationState<unknown>,
  options: { startedAt?: string; apiEndpoint?: string | null } = {},
): { ctx: StepContext; asked: string[] } {
  const asked: string[] = [];
  const startedAt = options.startedAt ?? new Date().toISOString();
  const ctx = {
    run: { id: 'r1', input: addons ? { addons } : {}, currentStep: 0, steps: [{ name: 'step', startedAt }] },
    cluster: { ...cluster, apiEndpoint: options.apiEndpoint === undefined ? cluster.apiEndpoint : options.apiEndpoint },
    machines: [],
    poll: 0,
    deadlines: { nodesReadyMs: 20 * 60_000 },
    sm: { revealAddon: async (_cluster: string, name: string) => ({ name, version: 'v1', settings: {} }) },
    async operation<T>(subject: string, op: SddcOperation): Promise<OperationState<T>> {
      asked.push(`${subject}:${op.op}`);
      return answer(op, subject) as OperationState<T>;
    },
  } as unknown as StepContext;
  return { ctx, asked };
}

describe('cluster.create with template addons', () => {
  it('installs the addons after configure-access and before mark-ready, the pod network before wait-nodes-ready, as a new version of cluster.create', () => {
    assert.equal(workflow.name, 'cluster.create');
    assert.equal(workflow.version, 4);
    assert.deepEqual(
      workflow.steps.map((s) => s.name),
      [
        'plan-machines',
        'provision-machines',
        'apply-network',
        'wait-nodes-ready',
        'configure-access',
        'apply-addons',
        'wait-addons-ready',
        'mark-ready',
      ],
    );
  });

  it('starts a run with only the addon steps its template needs: none without addons, apply-network only with a CNI', () => {
    assert.deepEqual(templateAddonSteps([]), []);
    assert.deepEqual(templateAddonSteps(['metrics-server']), ['apply-addons', 'wait-addons-ready']);
    assert.deepEqual(templateAddonSteps(['cni-flannel']), ['apply-network', 'wait-addons-ready']);
    assert.deepEqual(templateAddonSteps(['metrics-server', 'cni-flannel']), [
      'apply-network',
      'apply-addons',
      'wait-addons-ready',
    ]);
  });

  it('apply-network applies only the pod network addon; apply-addons the others; wait-addons-ready awaits both', async () => {
    const applied = { state: 'done', result: { applied: [], pruned: [] } } as const;
    const network = context(['metrics-server', 'cni-flannel'], () => applied);
    assert.deepEqual(await step('apply-network').run(network.ctx), {
      kind: 'done',
      output: { applied: ['cni-flannel'] },
      effects: [],
    });
    assert.deepEqual(network.asked, ['network-cni-flannel-0:apply-addon']);
    const others = context(['metrics-server', 'cni-flannel'], () => applied);
    assert.equal((await step('apply-addons').run(others.ctx)).kind, 'done');
    assert.deepEqual(others.asked, ['apply-metrics-server:apply-addon']);
    const ready = context(['metrics-server', 'cni-flannel'], () => ({
      state: 'done',
      result: { workloads: [workload('x', true)], missing: [], remaining: [] },
    }));
    const done = await step('wait-addons-ready').run(ready.ctx);
    assert.deepEqual(done.kind === 'done' ? done.effects : [], [
      { kind: 'setAddonInstalled', name: 'metrics-server' },
      { kind: 'setAddonInstalled', name: 'cni-flannel' },
    ]);
    const none = context(['metrics-server'], () => assert.fail('nothing is asked'));
    assert.equal((await step('apply-network').run(none.ctx)).kind, 'done');
  });

  it('apply-network asks again while the new API is not up, and fails once the nodes would have timed out', async () => {
    const down = (): OperationState<unknown> => ({
      state: 'failed',
      error: new ProviderUnavailableError('connect ECONNREFUSED 10.0.0.5:6443'),
    });
    const waiting = await step('apply-network').run(context(['cni-flannel'], down).ctx);
    assert.equal(waiting.kind, 'wait');
    assert.equal(waiting.kind === 'wait' && waiting.nextPoll, true, 'the next poll starts a fresh apply');
    assert.match(
      waiting.kind === 'wait' ? (waiting.message ?? '') : '',
      /does not take cni-flannel yet \(connect ECONNREFUSED/,
    );
    await assert.rejects(
      step('apply-network').run(
        context(['cni-flannel'], down, { startedAt: new Date(Date.now() - 21 * 60_000).toISOString() }).ctx,
      ),
      /ECONNREFUSED/,
    );
    const refused = (): OperationState<unknown> => ({
      state: 'failed',
      error: new ProviderError('the tenant API refused DaemonSet kube-flannel/kube-flannel-ds'),
    });
    await assert.rejects(
      step('apply-network').run(context(['cni-flannel'], refused).ctx),
      /refused DaemonSet/,
      'a refusal is not retried',
    );
  });

  it('asks nothing of a cluster created without template addons', async () => {
    for (const name of ['apply-addons', 'wait-addons-ready']) {
      const { ctx, asked } = context(undefined, () => assert.fail('nothing is asked'));
      assert.equal((await step(name).run(ctx)).kind, 'done');
      assert.deepEqual(asked, []);
    }
  });

  it('applies every addon and waits until each is applied; a failed apply fails the step', async () => {
    const partly = context(['metrics-server', 'monitoring'], (_op, subject) =>
      subject === 'apply-monitoring' ? { state: 'pending' } : { state: 'done', result: { applied: [], pruned: [] } },
    );
    const waiting = await step('apply-addons').run(partly.ctx);
    assert.deepEqual(waiting, { kind: 'wait', afterMs: 2_000, nextPoll: false, message: '1/2 addons applied' });
    assert.deepEqual(partly.asked.sort(), ['apply-metrics-server:apply-addon', 'apply-monitoring:apply-addon']);
    const failed = context(['metrics-server'], () => ({
      state: 'failed',
      error: new ProviderError('server-side apply refused'),
    }));
    await assert.rejects(step('apply-addons').run(failed.ctx), /server-side apply refused/);
  });

  it('refuses a cluster without a Kubernetes API before asking anything', async () => {
    const { ctx, asked } = context(['metrics-server'], () => assert.fail('nothing is asked'), { apiEndpoint: null });
    await assert.rejects(step('apply-addons').run(ctx), /has no Kubernetes API/);
    assert.deepEqual(asked, []);
  });

  it('marks every addon Installed once all are ready, and names the late ones until then', async () => {
    const ready = context(['metrics-server', 'monitoring'], (_op, subject) => ({
      state: 'done',
      result: { workloads: [workload(subject.split('-').slice(1, -1).join('-'), true)], missing: [], remaining: [] },
    }));
    const done = await step('wait-addons-ready').run(ready.ctx);
    assert.equal(done.kind, 'done');
    assert.deepEqual(done.kind === 'done' ? done.effects : [], [
      { kind: 'setAddonInstalled', name: 'metrics-server' },
      { kind: 'setAddonInstalled', name: 'monitoring' },
    ]);

    const late = (op: SddcOperation, subject: string): OperationState<unknown> => ({
      state: 'done',
      result: subject.startsWith('status-monitoring')
        ? {
            workloads: [workload('prometheus', false)],
            missing: ['DaemonSet cx-monitoring/node-exporter'],
            remaining: [],
          }
        : { workloads: [workload('metrics-server', true)], missing: [], remaining: [] },
    });
    const waiting = await step('wait-addons-ready').run(context(['metrics-server', 'monitoring'], late).ctx);
    assert.equal(waiting.kind, 'wait');
    assert.equal(
      waiting.kind === 'wait' ? waiting.message : '',
      'waiting for Deployment kube-system/prometheus 0/1 ready, DaemonSet cx-monitoring/node-exporter missing',
    );

    const tooLong = context(['metrics-server', 'monitoring'], late, {
      startedAt: new Date(Date.now() - 11 * 60_000).toISOString(),
    });
    await assert.rejects(step('wait-addons-ready').run(tooLong.ctx), (error: CxError) => {
      assert.equal(error.details?.['reason'], 'AddonNotReady');
      assert.deepEqual(error.details?.['workloads'], [
        'Deployment kube-system/prometheus 0/1 ready',
        'DaemonSet cx-monitoring/node-exporter missing',
      ]);
      assert.equal(error.retryable, false);
      return true;
    });
  });
});
