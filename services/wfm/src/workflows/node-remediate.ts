/**
 * Remediation of one unhealthy node (seeds 000 and 004), started by the node health monitor:
 * fence (power off, and see it off: never assumed) → out-of-service taint, and the node's pods
 * deleted so that their controllers start them elsewhere and volumes detach → reboot or replace the
 * machine → wait for its node to be Ready → clear the taint. A fence that fails stops everything
 * here: the workload stays where it is, and the workflow says why.
 */
import { healthPolicyOf, type Cluster, type ProviderInfo, type Remediation } from '@cx/api-schemas';
import { type CxError, ProviderError } from '@cx/errors';
import type { RemediationRequest } from '@cx/queue-contracts';
import type { PowerState } from '@cx/sddc-contract';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { markReady, waitNodesReady } from './cluster-create.js';
import { defineWorkflow, type WorkflowContext } from './define.js';
import { POLL_MS, machineSpec } from './machines.js';
import { can } from '../infrastructure/capabilities.js';

export const REMEDIATE_NODE = 'node.remediate';

/** How long a fence may take to show the machine off before the workflow fails. */
const FENCE_CONFIRM_MS = 120_000;

/** The machine the run is about; undefined once it is gone (scaled away meanwhile). */
function target(ctx: WorkflowContext<RemediationRequest>): Machine | undefined {
  return ctx.machines.find((m) => m.id === ctx.input.machineId);
}

function fenceFailed(machine: Machine, why: string, cause?: CxError): CxError {
  return new ProviderError(
    `could not fence ${machine.name}: ${why}. Nothing was moved: its pods stay where they are, because starting them elsewhere before the machine is known to be off could run them twice. ` +
      "Check the machine's power control (provider or BMC), then retry this workflow (POST /api/v1/workflows/{id}/retry).",
    {
      details: {
        reason: 'FenceFailed',
        machine: machine.name,
        ...(cause ? { cause: cause.code, causeReason: cause.details?.['reason'] } : {}),
      },
    },
  );
}

/**
 * The policy's remediation, except that a control-plane machine of a provider without
 * `controlPlaneReplacement` (real infrastructure) is rebooted rather than replaced: its user data
 * would bootstrap it afresh (the first one runs `kubeadm init`) instead of rejoining the control
 * plane it left.
 */
export function remediationOf(
  cluster: Cluster,
  machine: Machine,
  provider: ProviderInfo,
): { remediation: Remediation } {
  const { remediation } = healthPolicyOf(cluster, machine.pool);
  const rebuilt =
    remediation === 'replace' && machine.role === 'control-plane' && !can(provider, 'controlPlaneReplacement');
  return { remediation: rebuilt ? 'reboot' : remediation };
}

/** The run's input is the health monitor's report (RemediationRequest). */
export const remediateNodeWorkflow: WorkflowDefinition = defineWorkflow<RemediationRequest>({
  name: REMEDIATE_NODE,
  version: 1,
  steps: [
    {
      name: 'fence',
      async run(ctx) {
        const { cluster } = ctx;
        const machine = target(ctx);
        if (!machine) return done({ skipped: 'the machine no longer exists' });
        const off = await ctx.operation<{ powerState: PowerState }>('power-off', {
          op: 'set-power',
          provider: cluster.provider,
          clusterId: cluster.id,
          machineId: machine.id,
          action: 'off',
        });
        if (off.state === 'pending') return wait(POLL_MS, `powering ${machine.name} off`);
        if (off.state === 'failed') throw fenceFailed(machine, off.error.message, off.error);
        if (off.result.powerState === 'off') return done({ machine: machine.name, powerState: 'off' });
        // Asked, not yet seen: read the power state again until it is off or the deadline passes.
        const read = await ctx.operation<{ powerState: PowerState }>(`power-state-${ctx.poll}`, {
          op: 'power-state',
          provider: cluster.provider,
          clusterId: cluster.id,
          machineId: machine.id,
        });
        if (read.state === 'pending') return wait(POLL_MS / 4);
        if (read.state === 'failed') throw fenceFailed(machine, read.error.message, read.error);
        if (read.result.powerState === 'off') return done({ machine: machine.name, powerState: 'off' });
        const started = Date.parse(ctx.run.steps[ctx.run.currentStep]?.startedAt ?? '') || Date.now();
        if (Date.now() - started > FENCE_CONFIRM_MS)
          throw fenceFailed(
            machine,
            `it still reads ${read.result.powerState} ${FENCE_CONFIRM_MS / 1000} s after the power-off`,
          );
        return wait(POLL_MS * 5, `waiting to see ${machine.name} off (reads ${read.result.powerState})`, true);
      },
    },
    {
      name: 'mark-out-of-service',
      async run(ctx) {
        const { cluster } = ctx;
        const machine = target(ctx);
        if (!machine) return done({ skipped: 'the machine no longer exists' });
        // A sim cluster has no Kubernetes API, hence no pods to move: the fence was all there is to do.
        if (!cluster.apiEndpoint) return done({ skipped: `provider ${cluster.provider} runs no Kubernetes API` });
        const marked = await ctx.operation<{ outOfService: boolean; podsDeleted: string[] }>('taint', {
          op: 'mark-out-of-service',
          provider: cluster.provider,
          clusterId: cluster.id,
          nodeName: machine.name,
          outOfService: true,
        });
        if (marked.state === 'pending') return wait(POLL_MS, `tainting ${machine.name} out of service`);
        if (marked.state === 'failed') throw marked.error;
        return done(marked.result);
      },
    },
    {
      name: 'recover-machine',
      async run(ctx) {
        const { cluster } = ctx;
        const machine = target(ctx);
        if (!machine) return done({ skipped: 'the machine no longer exists' });
        const provider = await ctx.provider();
        if (!provider) return wait(POLL_MS, `waiting for an sddc to advertise provider ${cluster.provider}`);
        const { remediation } = remediationOf(cluster, machine, provider);
        if (remediation === 'reboot') {
          const on = await ctx.operation('power-on', {
            op: 'set-power',
            provider: cluster.provider,
            clusterId: cluster.id,
            machineId: machine.id,
            action: 'on',
          });
          if (on.state === 'pending') return wait(POLL_MS, `powering ${machine.name} on`);
          if (on.state === 'failed') throw on.error;
          return done({ remediation, machine: machine.name });
        }
        if (remediation === 'none') return done({ remediation, machine: machine.name });
        // Replace: the machine is destroyed and made again under the same name and id.
        const deleted = await ctx.operation('delete', {
          op: 'delete-machine',
          provider: cluster.provider,
          clusterId: cluster.id,
          machineId: machine.id,
        });
        if (deleted.state === 'pending') return wait(POLL_MS, `deleting ${machine.name}`);
        if (deleted.state === 'failed') throw deleted.error;
        const made = await ctx.operation('ensure', {
          op: 'ensure-machine',
          provider: cluster.provider,
          spec: machineSpec(cluster, machine),
        });
        if (made.state === 'pending') return wait(POLL_MS, `provisioning a new ${machine.name}`);
        if (made.state === 'failed') throw made.error;
        return done({ remediation, machine: machine.name });
      },
    },
    waitNodesReady((ctx) => {
      const machine = target(ctx);
      return machine && healthPolicyOf(ctx.cluster, machine.pool).remediation !== 'none' ? [machine] : [];
    }),
    {
      name: 'clear-out-of-service',
      async run(ctx) {
        const { cluster } = ctx;
        const machine = target(ctx);
        if (!machine || healthPolicyOf(cluster, machine.pool).remediation === 'none' || !cluster.apiEndpoint)
          return done({ skipped: true });
        const cleared = await ctx.operation('untaint', {
          op: 'mark-out-of-service',
          provider: cluster.provider,
          clusterId: cluster.id,
          nodeName: machine.name,
          outOfService: false,
        });
        if (cleared.state === 'pending') return wait(POLL_MS, `clearing the out-of-service taint of ${machine.name}`);
        if (cleared.state === 'failed') throw cleared.error;
        return done({ machine: machine.name });
      },
    },
    markReady,
  ],
});
