/**
 * cluster.create with the addons of the cluster template it was created from (run input `addons`,
 * recorded by sm as Installing together with the run). They are installed by the create workflow
 * itself, between configure-access and mark-ready, rather than by addon.install workflows started
 * afterwards: one cluster runs one mutating workflow at a time, so follow-up workflows would have
 * to be chained and the cluster would be Ready, and open to other changes, before it is what the
 * template promised. This way Ready means the addons are installed too; a failed addon fails the
 * create at its step, and retrying the run resumes there. The steps apply through the same sddc
 * operations as addon.install (apply-addon, addon-status), so an addon comes out the same either way.
 *
 * A pod network addon (stage `network`, a CNI) cannot wait that long: kubelets report NotReady
 * until a CNI is there, so wait-nodes-ready would never end. It is applied by `apply-network`,
 * between provision-machines and wait-nodes-ready, as soon as the cluster's API accepts it; its
 * readiness is awaited and recorded by wait-addons-ready with the others.
 */
import { ProviderError } from '@cx/errors';
import { isNetworkAddon } from '@cx/k8s';
import { done, wait, type StepContext, type StepDefinition, type StepResult, type WorkflowDefinition } from '../engine.js';
import { DEFAULT_READY_TIMEOUT_SECONDS, STATUS_POLL_MS, addonPayload, describe, waitedMs, type StatusAnswer } from './addon.js';
import { createClusterWorkflow, createStep } from './cluster-create.js';

/** The steps that install a template's addons; a run is started without those its template gives nothing to do (templateAddonSteps). */
export const TEMPLATE_ADDON_STEPS: readonly string[] = ['apply-network', 'apply-addons', 'wait-addons-ready'];

/**
 * The addon steps a create run with these template addons needs: none without addons, so that a
 * cluster created from scratch runs the steps it always has; apply-network only with a pod network
 * addon, apply-addons only with another addon.
 */
export function templateAddonSteps(addons: readonly string[]): string[] {
  const network = addons.filter(isNetworkAddon).length;
  return [
    ...(network > 0 ? ['apply-network'] : []),
    ...(addons.length > network ? ['apply-addons'] : []),
    ...(addons.length > 0 ? ['wait-addons-ready'] : []),
  ];
}

const addonsOf = (ctx: StepContext): string[] => (ctx.run.input['addons'] as string[] | undefined) ?? [];

/** Addons go in through the cluster's Kubernetes API; a provider that runs none (sim) gets none (wfm refuses such a request first). */
function assertApi(ctx: StepContext): void {
  if (!ctx.cluster.apiEndpoint) {
    throw new ProviderError(`cluster ${ctx.cluster.name} has no Kubernetes API (provider ${ctx.cluster.provider}), so its template's addons cannot be installed`, { details: { reason: 'Refused' } });
  }
}

/**
 * Applies the template's pod network addon once the cluster's API accepts it. Right after
 * provisioning the API may not answer yet (kubeadm still bootstrapping): a transient failure is
 * asked again with the next poll, until workflows.nodesReadyTimeoutSeconds, the time the nodes
 * had to become Ready anyway.
 */
function applyNetwork(serviceToken: string): StepDefinition {
  return {
    name: TEMPLATE_ADDON_STEPS[0]!,
    async run(ctx) {
      const names = addonsOf(ctx).filter(isNetworkAddon);
      if (names.length === 0) return done({ skipped: 'the cluster template lists no pod network addon' });
      assertApi(ctx);
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(names.map(async (name) => ({
        name, state: await ctx.operation<{ applied: string[]; pruned: string[] }>(`network-${name}-${ctx.poll}`, { op: 'apply-addon', provider, clusterId, addon: await addonPayload(ctx, name, serviceToken) }),
      })));
      for (const { name, state } of states) {
        if (state.state !== 'failed') continue;
        if (!state.error.retryable || waitedMs(ctx) > ctx.deadlines.nodesReadyMs) throw state.error;
        return wait(STATUS_POLL_MS * 5, `the cluster's API does not take ${name} yet (${state.error.message}); asking again`, true);
      }
      if (states.some((s) => s.state.state === 'pending')) return wait(STATUS_POLL_MS, `applying ${names.join(', ')}`);
      return done({ applied: names });
    },
  };
}

function applyAddons(serviceToken: string): StepDefinition {
  return {
    name: TEMPLATE_ADDON_STEPS[1]!,
    async run(ctx) {
      // The pod network went in before the nodes were awaited (apply-network).
      const names = addonsOf(ctx).filter((name) => !isNetworkAddon(name));
      if (names.length === 0) return done({ skipped: 'the cluster was not created from a template with addons besides its pod network' });
      assertApi(ctx);
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(names.map(async (name) => ({
        name, state: await ctx.operation<{ applied: string[]; pruned: string[] }>(`apply-${name}`, { op: 'apply-addon', provider, clusterId, addon: await addonPayload(ctx, name, serviceToken) }),
      })));
      for (const { state } of states) if (state.state === 'failed') throw state.error;
      const applied = states.filter((s) => s.state.state === 'done').map((s) => s.name);
      if (applied.length < names.length) return wait(STATUS_POLL_MS, `${applied.length}/${names.length} addons applied`);
      return done({ applied });
    },
  };
}

function waitAddonsReady(serviceToken: string): StepDefinition {
  return {
    name: TEMPLATE_ADDON_STEPS[2]!,
    async run(ctx): Promise<StepResult> {
      const names = addonsOf(ctx);
      if (names.length === 0) return done({ skipped: 'the cluster was not created from a template with addons' });
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(names.map(async (name) => ctx.operation<StatusAnswer>(`status-${name}-${ctx.poll}`, {
        op: 'addon-status', provider, clusterId, addon: await addonPayload(ctx, name, serviceToken), objects: false,
      })));
      const late: string[] = [];
      const ready: string[] = [];
      for (const state of states) {
        if (state.state === 'failed') throw state.error;
        if (state.state === 'pending') return wait(STATUS_POLL_MS / 4);
        late.push(...state.result.workloads.filter((w) => !w.ready).map(describe), ...state.result.missing.map((m) => `${m} missing`));
        ready.push(...state.result.workloads.filter((w) => w.ready).map(describe));
      }
      if (late.length === 0) return done({ workloads: ready }, names.map((name) => ({ kind: 'setAddonInstalled' as const, name })));
      if (waitedMs(ctx) > DEFAULT_READY_TIMEOUT_SECONDS * 1000) {
        throw new ProviderError(
          `the template's addons (${names.join(', ')}) not ready after ${DEFAULT_READY_TIMEOUT_SECONDS} s: ${late.join(', ')}. Look at those workloads' pods (image pulls, scheduling, probes), then retry the workflow.`,
          { details: { reason: 'AddonNotReady', workloads: late } },
        );
      }
      return wait(STATUS_POLL_MS, `waiting for ${late.join(', ')}`, true);
    },
  };
}

/**
 * cluster.create as wfm registers it: apply-network before wait-nodes-ready, the other addon steps
 * before mark-ready (they seal settings with the service token, hence a function).
 */
export function createClusterWithTemplateAddons(serviceToken: string): WorkflowDefinition {
  const steps = createClusterWorkflow.steps.filter((s) => s.name !== 'mark-ready');
  const nodesReady = steps.findIndex((s) => s.name === 'wait-nodes-ready');
  return {
    ...createClusterWorkflow,
    // A new step list is a new version (2: the addon steps, 3: apply-network); runs started before keep the steps they were started with.
    version: createClusterWorkflow.version + 2,
    steps: [...steps.slice(0, nodesReady), applyNetwork(serviceToken), ...steps.slice(nodesReady), applyAddons(serviceToken), waitAddonsReady(serviceToken), createStep('mark-ready')],
  };
}
