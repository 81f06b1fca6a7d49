/**
 * Apply or remove an ha-config in its cluster: sddc renders keepalived's configuration for the
 * nodes that match and applies it (or removes it) through the tenant API. Applying again is how a
 * changed set of nodes is taken into account: the nodes an apply configured are recorded with the
 * ha-config, and sddc's health monitor asks for an apply when those that match differ from them.
 */
import type { HaConfig } from '@cx/api-schemas';
import type { HaConfigPayload } from '@cx/queue-contracts';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import { markReady } from './cluster-create.js';
import { defineWorkflow, type WorkflowContext } from './define.js';
import { POLL_MS } from './machines.js';

export const APPLY_HA_CONFIG = 'ha-config.apply';
export const REMOVE_HA_CONFIG = 'ha-config.remove';

/** An apply's input: the ha-config sm keeps. */
export interface HaConfigInput {
  haConfigId: string;
}
/** A removal's input: the ha-config, and its name, which sddc removes keepalived by. */
export interface RemoveHaConfigInput extends HaConfigInput {
  name: string;
}

/** The run's ha-config, as sm keeps it. */
async function haConfigOf(ctx: WorkflowContext<HaConfigInput>): Promise<HaConfig> {
  return ctx.sm.haConfig(ctx.input.haConfigId);
}

function payload(config: HaConfig): HaConfigPayload {
  const { name, virtualIps, selector, watchPort, interface: iface, unicast, vrrpIdOffset, preempt, profile } = config;
  // ha-configs stored before profiles existed have none: the default.
  return {
    name,
    virtualIps,
    selector,
    watchPort,
    interface: iface,
    unicast,
    vrrpIdOffset,
    preempt,
    profile: profile ?? 'default',
  };
}

export const applyHaConfigWorkflow: WorkflowDefinition = defineWorkflow<HaConfigInput>({
  name: APPLY_HA_CONFIG,
  version: 1,
  steps: [
    {
      name: 'apply-keepalived',
      async run(ctx) {
        const config = await haConfigOf(ctx);
        const state = await ctx.operation<{
          nodes: string[];
          addresses?: Record<string, string>;
          leaders: Record<string, string>;
        }>('apply', {
          op: 'apply-ha-config',
          provider: ctx.cluster.provider,
          clusterId: ctx.cluster.id,
          haConfig: payload(config),
        });
        if (state.state === 'failed') throw state.error;
        if (state.state === 'pending') return wait(POLL_MS, 'applying keepalived in the cluster');
        const nodes = state.result.nodes.map((name) => ({ name, address: state.result.addresses?.[name] ?? '' }));
        return done(state.result, [{ kind: 'setHaConfigApplied', id: config.id, nodes, workflowId: ctx.run.id }]);
      },
    },
    markReady,
  ],
});

export const removeHaConfigWorkflow: WorkflowDefinition = defineWorkflow<RemoveHaConfigInput>({
  name: REMOVE_HA_CONFIG,
  version: 1,
  steps: [
    {
      name: 'remove-keepalived',
      async run(ctx) {
        const state = await ctx.operation<{ removed: string }>('remove', {
          op: 'remove-ha-config',
          provider: ctx.cluster.provider,
          clusterId: ctx.cluster.id,
          name: ctx.input.name,
        });
        if (state.state === 'failed') throw state.error;
        if (state.state === 'pending') return wait(POLL_MS, 'removing keepalived from the cluster');
        return done(state.result, [{ kind: 'deleteHaConfig', id: ctx.input.haConfigId }]);
      },
    },
    markReady,
  ],
});
