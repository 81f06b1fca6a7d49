/**
 * Install or remove an addon of the catalog in a cluster. sddc renders and applies it (server-side
 * apply); the install then waits until the addon's Deployments and DaemonSets are ready, within
 * the run's `readyTimeoutSeconds`, saying which are not while it waits, and only then marks the
 * addon Installed. Removal first deletes the objects of the kinds the addon removes first (an
 * operator's custom resource) and waits until they are gone, so that their operator, still running,
 * can clear its finalizers; then it deletes every object labelled with the addon and waits until none
 * is left before the addon's row goes. The settings (with their secrets) travel to sddc sealed.
 */
import { ProviderError } from '@cx/errors';
import { sealForTransit, type AddonPayload } from '@cx/queue-contracts';
import { done, wait, type StepContext, type WorkflowDefinition } from '../engine.js';
import { defineWorkflow, type WorkflowContext } from './define.js';

export const INSTALL_ADDON = 'addon.install';
export const REMOVE_ADDON = 'addon.remove';

/** How often an install or removal looks at the addon's objects again. */
export const STATUS_POLL_MS = 2_000;
export const DEFAULT_READY_TIMEOUT_SECONDS = 600;
/** Deleting objects takes finalizers and a namespace's content; past this something holds them (each removal step). */
export const REMOVE_TIMEOUT_MS = 300_000;

export interface WorkloadStatus {
  kind: string;
  namespace: string;
  name: string;
  ready: boolean;
  readyReplicas: number;
  desired: number;
}
export interface StatusAnswer {
  workloads: WorkloadStatus[];
  missing: string[];
  remaining: string[];
}

/** The run's input: the addon (sm recorded it with the run), and for an install how long its workloads may take to be ready. */
export interface AddonInput {
  addon: string;
  readyTimeoutSeconds?: number;
}

async function payload(ctx: WorkflowContext<AddonInput>, serviceToken: string): Promise<AddonPayload> {
  return addonPayload(ctx, ctx.input.addon, serviceToken);
}

/** What sddc applies for one addon of the step's cluster: as sm recorded it, settings sealed for transit (also for cluster.create's template addons). */
export async function addonPayload(ctx: StepContext, addonName: string, serviceToken: string): Promise<AddonPayload> {
  const addon = await ctx.sm.revealAddon(ctx.cluster.id, addonName);
  const { id, name, provider, kubernetesVersion } = ctx.cluster;
  return {
    name: addon.name,
    version: addon.version,
    sealedSettings: sealForTransit(addon.settings, serviceToken),
    cluster: { id, name, provider, kubernetesVersion },
  };
}

export function waitedMs(ctx: StepContext): number {
  return Date.now() - (Date.parse(ctx.run.steps[ctx.run.currentStep]?.startedAt ?? '') || Date.now());
}

export const describe = (w: WorkloadStatus): string =>
  `${w.kind} ${w.namespace}/${w.name} ${w.readyReplicas}/${w.desired} ready`;

/** The workflows, with the service token their payloads are sealed under. */
export function addonWorkflows(serviceToken: string): { install: WorkflowDefinition; remove: WorkflowDefinition } {
  const install: WorkflowDefinition = defineWorkflow<AddonInput>({
    name: INSTALL_ADDON,
    version: 1,
    steps: [
      {
        name: 'apply',
        async run(ctx) {
          const state = await ctx.operation<{ applied: string[]; pruned: string[] }>('apply', {
            op: 'apply-addon',
            provider: ctx.cluster.provider,
            clusterId: ctx.cluster.id,
            addon: await payload(ctx, serviceToken),
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending') return wait(STATUS_POLL_MS, `applying addon ${ctx.input.addon}`);
          return done(state.result);
        },
      },
      {
        name: 'wait-ready',
        async run(ctx) {
          const state = await ctx.operation<StatusAnswer>(`status-${ctx.poll}`, {
            op: 'addon-status',
            provider: ctx.cluster.provider,
            clusterId: ctx.cluster.id,
            addon: await payload(ctx, serviceToken),
            objects: false,
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending') return wait(STATUS_POLL_MS / 4);
          const { workloads, missing } = state.result;
          const late = workloads.filter((w) => !w.ready);
          if (late.length === 0 && missing.length === 0) return done({ workloads: workloads.map(describe) });
          const reason = [...late.map(describe), ...missing.map((m) => `${m} missing`)].join(', ');
          const timeoutSeconds = ctx.input.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS;
          if (waitedMs(ctx) > timeoutSeconds * 1000) {
            throw new ProviderError(
              `addon ${ctx.input.addon} not ready after ${timeoutSeconds} s (readyTimeoutSeconds): ${reason}. Look at those workloads' pods (image pulls, scheduling, probes), then retry the workflow.`,
              { details: { reason: 'AddonNotReady', workloads: [...late.map(describe), ...missing] } },
            );
          }
          return wait(STATUS_POLL_MS, `waiting for ${reason}`, true);
        },
      },
      {
        name: 'mark-installed',
        run: async (ctx) =>
          done(null, [
            { kind: 'setAddonInstalled', name: ctx.input.addon },
            { kind: 'setClusterStatus', status: 'Ready', message: null },
          ]),
      },
    ],
  });

  // Version 2 added delete-first; runs of version 1 (delete-objects, wait-gone) find their steps by name.
  const remove: WorkflowDefinition = defineWorkflow<AddonInput>({
    name: REMOVE_ADDON,
    version: 2,
    steps: [
      {
        // Deletes again on every poll (a no-op on what is already being deleted), so a retry or a
        // re-created object is handled too; answers what is still there and what holds it.
        name: 'delete-first',
        async run(ctx) {
          const { addon } = ctx.input;
          const state = await ctx.operation<{ deleted: string[]; remaining?: string[] }>(`delete-first-${ctx.poll}`, {
            op: 'remove-addon',
            provider: ctx.cluster.provider,
            clusterId: ctx.cluster.id,
            addon: await payload(ctx, serviceToken),
            phase: 'first',
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending') return wait(STATUS_POLL_MS / 4);
          const remaining = state.result.remaining ?? [];
          // This poll's deletions only (earlier polls' are gone by now): the step's output says nothing more.
          if (remaining.length === 0) return done();
          if (waitedMs(ctx) > REMOVE_TIMEOUT_MS) {
            throw new ProviderError(
              `objects addon ${addon} removes first still present ${REMOVE_TIMEOUT_MS / 1000} s after their deletion, so the rest of it (its operator) is kept: ${remaining.join('; ')}. Look at what holds them (an operator that is not running cannot clear its finalizers), then retry the workflow.`,
              { details: { reason: 'AddonNotRemoved', remaining } },
            );
          }
          return wait(
            STATUS_POLL_MS,
            `waiting until these are gone before deleting the rest of addon ${addon}: ${remaining.slice(0, 5).join('; ')}`,
            true,
          );
        },
      },
      {
        name: 'delete-objects',
        async run(ctx) {
          const state = await ctx.operation<{ deleted: string[] }>('delete', {
            op: 'remove-addon',
            provider: ctx.cluster.provider,
            clusterId: ctx.cluster.id,
            addon: await payload(ctx, serviceToken),
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending')
            return wait(STATUS_POLL_MS, `deleting the objects of addon ${ctx.input.addon}`);
          return done(state.result);
        },
      },
      {
        name: 'wait-gone',
        async run(ctx) {
          const state = await ctx.operation<StatusAnswer>(`gone-${ctx.poll}`, {
            op: 'addon-status',
            provider: ctx.cluster.provider,
            clusterId: ctx.cluster.id,
            addon: await payload(ctx, serviceToken),
            objects: true,
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending') return wait(STATUS_POLL_MS / 4);
          const { remaining } = state.result;
          if (remaining.length === 0) {
            return done(null, [
              { kind: 'deleteAddon', name: ctx.input.addon },
              { kind: 'setClusterStatus', status: 'Ready', message: null },
            ]);
          }
          if (waitedMs(ctx) > REMOVE_TIMEOUT_MS) {
            throw new ProviderError(
              `objects of addon ${ctx.input.addon} still present ${REMOVE_TIMEOUT_MS / 1000} s after their deletion: ${remaining.join(', ')}. Look at what holds them (finalizers), then retry the workflow.`,
              { details: { reason: 'AddonNotRemoved', remaining } },
            );
          }
          return wait(
            STATUS_POLL_MS,
            `${remaining.length} object(s) still present: ${remaining.slice(0, 5).join(', ')}`,
            true,
          );
        },
      },
    ],
  });
  return { install, remove };
}
