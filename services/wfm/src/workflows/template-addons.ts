/**
 * The steps of cluster.create (cluster-create.ts) that install the addons the cluster was created
 * with: its cluster template's and its request's own (run input `addons`, recorded by sm as
 * Installing together with the run). They are installed by the create workflow itself, between configure-access and
 * mark-ready, rather than by addon.install workflows started afterwards: one cluster runs one mutating workflow at a time, so follow-up workflows would have
 * to be chained and the cluster would be Ready, and open to other changes, before it is what was
 * asked for. This way Ready means the addons are installed too; a failed addon fails the
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
import { done, wait, type StepContext } from '../engine.js';
import {
  DEFAULT_READY_TIMEOUT_SECONDS,
  STATUS_POLL_MS,
  addonPayload,
  describe,
  waitedMs,
  type StatusAnswer,
} from './addon.js';
import { defineStep, type Step } from './define.js';

/** cluster.create's input: the names of the addons it installs (its template's and its request's); absent when none. */
export interface TemplateAddonsInput {
  addons?: string[];
}

/**
 * Which addon steps a create run goes through (their `when`): none without addons, so that a
 * cluster created from scratch runs the steps it always has; apply-network only with a pod network
 * addon, apply-addons only with another addon.
 */
const needs = {
  'apply-network': (input: TemplateAddonsInput): boolean => (input.addons ?? []).some(isNetworkAddon),
  'apply-addons': (input: TemplateAddonsInput): boolean => (input.addons ?? []).some((name) => !isNetworkAddon(name)),
  'wait-addons-ready': (input: TemplateAddonsInput): boolean => (input.addons ?? []).length > 0,
};

/** The steps that install a create's addons, in their order. */
export const TEMPLATE_ADDON_STEPS: readonly string[] = Object.keys(needs);

/** The addon steps a create run with these addons goes through. */
export function templateAddonSteps(addons: readonly string[]): string[] {
  return Object.entries(needs)
    .filter(([, needed]) => needed({ addons: [...addons] }))
    .map(([name]) => name);
}

type Applied = { applied: string[] } | { skipped: string };

/** Addons go in through the cluster's Kubernetes API; a provider that runs none (sim) gets none (wfm refuses such a request first). */
function assertApi(ctx: StepContext): void {
  if (!ctx.cluster.apiEndpoint) {
    throw new ProviderError(
      `cluster ${ctx.cluster.name} has no Kubernetes API (provider ${ctx.cluster.provider}), so its addons cannot be installed`,
      { details: { reason: 'Refused' } },
    );
  }
}

/**
 * Applies the pod network addon once the cluster's API accepts it. Right after
 * provisioning the API may not answer yet (kubeadm still bootstrapping): a transient failure is
 * asked again with the next poll, until workflows.nodesReadyTimeoutSeconds, the time the nodes
 * had to become Ready anyway.
 */
export function applyNetwork(serviceToken: string): Step<TemplateAddonsInput, Applied> {
  return defineStep<TemplateAddonsInput, Applied>({
    name: 'apply-network',
    when: needs['apply-network'],
    async run(ctx) {
      const names = (ctx.input.addons ?? []).filter(isNetworkAddon);
      if (names.length === 0) return done({ skipped: 'no pod network addon was asked for' });
      assertApi(ctx);
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(
        names.map(async (name) => ({
          name,
          state: await ctx.operation<{ applied: string[]; pruned: string[] }>(`network-${name}-${ctx.poll}`, {
            op: 'apply-addon',
            provider,
            clusterId,
            addon: await addonPayload(ctx, name, serviceToken),
          }),
        })),
      );
      for (const { name, state } of states) {
        if (state.state !== 'failed') continue;
        if (!state.error.retryable || waitedMs(ctx) > ctx.deadlines.nodesReadyMs) throw state.error;
        return wait(
          STATUS_POLL_MS * 5,
          `the cluster's API does not take ${name} yet (${state.error.message}); asking again`,
          true,
        );
      }
      if (states.some((s) => s.state.state === 'pending')) return wait(STATUS_POLL_MS, `applying ${names.join(', ')}`);
      return done({ applied: names });
    },
  });
}

/** Applies the other addons once the nodes are Ready and access is configured. */
export function applyAddons(serviceToken: string): Step<TemplateAddonsInput, Applied> {
  return defineStep<TemplateAddonsInput, Applied>({
    name: 'apply-addons',
    when: needs['apply-addons'],
    async run(ctx) {
      // The pod network went in before the nodes were awaited (apply-network).
      const names = (ctx.input.addons ?? []).filter((name) => !isNetworkAddon(name));
      if (names.length === 0) return done({ skipped: 'no addon besides the pod network was asked for' });
      assertApi(ctx);
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(
        names.map(async (name) => ({
          name,
          state: await ctx.operation<{ applied: string[]; pruned: string[] }>(`apply-${name}`, {
            op: 'apply-addon',
            provider,
            clusterId,
            addon: await addonPayload(ctx, name, serviceToken),
          }),
        })),
      );
      for (const { state } of states) if (state.state === 'failed') throw state.error;
      const applied = states.filter((s) => s.state.state === 'done').map((s) => s.name);
      if (applied.length < names.length)
        return wait(STATUS_POLL_MS, `${applied.length}/${names.length} addons applied`);
      return done({ applied });
    },
  });
}

/** Waits until every such addon's workloads are ready, then marks the addons Installed. */
export function waitAddonsReady(
  serviceToken: string,
): Step<TemplateAddonsInput, { workloads: string[] } | { skipped: string }> {
  return defineStep<TemplateAddonsInput, { workloads: string[] } | { skipped: string }>({
    name: 'wait-addons-ready',
    when: needs['wait-addons-ready'],
    async run(ctx) {
      const names = ctx.input.addons ?? [];
      if (names.length === 0) return done({ skipped: 'no addon was asked for' });
      const { provider, id: clusterId } = ctx.cluster;
      const states = await Promise.all(
        names.map(async (name) =>
          ctx.operation<StatusAnswer>(`status-${name}-${ctx.poll}`, {
            op: 'addon-status',
            provider,
            clusterId,
            addon: await addonPayload(ctx, name, serviceToken),
            objects: false,
          }),
        ),
      );
      const late: string[] = [];
      const ready: string[] = [];
      for (const state of states) {
        if (state.state === 'failed') throw state.error;
        if (state.state === 'pending') return wait(STATUS_POLL_MS / 4);
        late.push(
          ...state.result.workloads.filter((w) => !w.ready).map(describe),
          ...state.result.missing.map((m) => `${m} missing`),
        );
        ready.push(...state.result.workloads.filter((w) => w.ready).map(describe));
      }
      if (late.length === 0)
        return done(
          { workloads: ready },
          names.map((name) => ({ kind: 'setAddonInstalled' as const, name })),
        );
      if (waitedMs(ctx) > DEFAULT_READY_TIMEOUT_SECONDS * 1000) {
        throw new ProviderError(
          `the cluster's addons (${names.join(', ')}) not ready after ${DEFAULT_READY_TIMEOUT_SECONDS} s: ${late.join(', ')}. Look at those workloads' pods (image pulls, scheduling, probes), then retry the workflow.`,
          { details: { reason: 'AddonNotReady', workloads: late } },
        );
      }
      return wait(STATUS_POLL_MS, `waiting for ${late.join(', ')}`, true);
    },
  });
}
