/**
 * Create a cluster: plan its machines, provision them, wait for their nodes to be Ready, mark the
 * cluster Ready. Every step can run again after a crash without creating anything twice: machine
 * names are derived from the spec, machines are ensured by id, sddc jobs have deterministic ids.
 */
import type { MachineStatus, NodeStatus } from '@cx/sddc-contract';
import { ProviderError } from '@cx/errors';
import { done, wait, type StepContext, type StepDefinition, type WorkflowDefinition } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { POLL_MS, machineSpec, perMachine } from './machines.js';

export const CREATE_CLUSTER = 'cluster.create';

/**
 * Waits until the machines `select` picks have Ready nodes; fails with the reason NodesNotReady,
 * naming the late ones, after `workflows.nodesReadyTimeoutSeconds`.
 */
export function waitNodesReady(select: (ctx: StepContext) => Machine[]): StepDefinition {
  return {
    name: 'wait-nodes-ready',
    async run(ctx) {
      const { cluster } = ctx;
      const machines = select(ctx);
      if (machines.length === 0) return done({ ready: 0 });
      const state = await ctx.operation<NodeStatus[]>(`nodes-${ctx.poll}`, { op: 'list-nodes', provider: cluster.provider, clusterId: cluster.id });
      if (state.state === 'failed') throw state.error;
      if (state.state === 'pending') return wait(POLL_MS / 4);
      const ready = new Set(state.result.filter((n) => n.status === 'Ready').map((n) => n.machineId));
      const readyCount = machines.filter((m) => ready.has(m.id)).length;
      if (readyCount < machines.length) {
        const startedAt = Date.parse(ctx.run.steps[ctx.run.currentStep]?.startedAt ?? '') || Date.now();
        const waitedMs = Date.now() - startedAt;
        if (waitedMs > ctx.deadlines.nodesReadyMs) {
          const late = machines.filter((m) => !ready.has(m.id)).map((m) => m.name);
          throw new ProviderError(
            `${readyCount}/${machines.length} nodes Ready after ${Math.round(waitedMs / 1000)} s (workflows.nodesReadyTimeoutSeconds); not Ready: ${late.join(', ')}. `
            + 'Check those machines\' consoles and cloud-init / kubeadm logs, then retry the workflow.',
            { details: { reason: 'NodesNotReady', machines: late } },
          );
        }
        return wait(POLL_MS, `${readyCount}/${machines.length} nodes Ready`, true);
      }
      return done({ ready: readyCount }, [{ kind: 'updateMachines', machines: machines.map((m) => ({ id: m.id, nodeStatus: 'Ready' as const })) }]);
    },
  };
}

export const createClusterWorkflow: WorkflowDefinition = {
  name: CREATE_CLUSTER,
  version: 2,
  steps: [
    {
      name: 'plan-machines',
      async run(ctx) {
        const { cluster } = ctx;
        const machines = [
          ...Array.from({ length: cluster.controlPlane.count }, (_, i) => ({ name: `${cluster.name}-cp-${i}`, pool: 'control-plane', role: 'control-plane' as const, kubernetesVersion: cluster.kubernetesVersion })),
          ...cluster.nodePools.flatMap((pool) => Array.from({ length: pool.count }, (_, i) => ({ name: `${cluster.name}-${pool.name}-${i}`, pool: pool.name, role: 'worker' as const, kubernetesVersion: cluster.kubernetesVersion }))),
        ];
        return done({ machines: machines.length }, [{ kind: 'upsertMachines', machines }]);
      },
    },
    {
      name: 'provision-machines',
      async run(ctx) {
        const { cluster, machines } = ctx;
        const fan = await perMachine<MachineStatus>(ctx, machines, (m) => ({ op: 'ensure-machine', provider: cluster.provider, spec: machineSpec(cluster, m) }));
        if (fan.failed.length > 0) throw fan.failed[0]!.error;
        if (fan.pending > 0) return wait(POLL_MS, `${fan.results.size}/${machines.length} machines provisioned`);
        const apiEndpoint = [...fan.results.values()].find((s) => s.apiEndpoint)?.apiEndpoint;
        return done({ provisioned: machines.length, apiEndpoint: apiEndpoint ?? null }, [
          { kind: 'updateMachines', machines: [...fan.results.values()].map((s) => ({ id: s.machineId, phase: s.phase, providerId: s.providerId, addresses: s.addresses })) },
          ...(apiEndpoint ? [{ kind: 'setClusterEndpoint' as const, apiEndpoint }] : []),
        ]);
      },
    },
    waitNodesReady((ctx) => ctx.machines),
    {
      // kubeconfigs carry the group cx:<role>; the cluster's RBAC gives each group its Kubernetes role.
      name: 'configure-access',
      async run(ctx) {
        const { cluster } = ctx;
        if (!cluster.apiEndpoint) return done({ skipped: `provider ${cluster.provider} runs no Kubernetes API` });
        const state = await ctx.operation<{ bindings: string[] }>('access', { op: 'configure-access', provider: cluster.provider, clusterId: cluster.id });
        if (state.state === 'failed') throw state.error;
        if (state.state === 'pending') return wait(POLL_MS / 4);
        return done(state.result);
      },
    },
    {
      name: 'mark-ready',
      async run() {
        return done(null, [{ kind: 'setClusterStatus', status: 'Ready', message: null }]);
      },
    },
  ],
};

/** A step of cluster.create, for the workflows that do the same thing again (scale, remediation). */
export function createStep(name: string): StepDefinition {
  const step = createClusterWorkflow.steps.find((s) => s.name === name);
  if (!step) throw new Error(`cluster.create has no step ${name}`);
  return step;
}
