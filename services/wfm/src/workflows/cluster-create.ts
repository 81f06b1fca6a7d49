/**
 * Create a cluster: plan its machines, provision them, wait for their nodes to be Ready, configure
 * access, mark the cluster Ready; a cluster created from a template gets the template's addons on
 * the way (template-addons.ts: the pod network before the nodes are awaited, the others before
 * Ready). Every step can run again after a crash without creating anything twice: machine names
 * are derived from the spec, machines are ensured by id, sddc jobs have deterministic ids. The
 * steps other workflows do again (provision-machines, wait-nodes-ready, mark-ready) are exported.
 */
import type { MachineStatus, NodeStatus } from '@cx/sddc-contract';
import { ProviderError } from '@cx/errors';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { defineStep, defineWorkflow, type Step, type WorkflowContext } from './define.js';
import { POLL_MS, machineSpec, perMachine } from './machines.js';
import { applyAddons, applyNetwork, waitAddonsReady, type TemplateAddonsInput } from './template-addons.js';

export const CREATE_CLUSTER = 'cluster.create';

/** The run's input: the template's addons when the cluster comes from a template (sm records them as Installing). */
export type CreateClusterInput = TemplateAddonsInput;

/**
 * Waits until the machines `select` picks have Ready nodes; fails with the reason NodesNotReady,
 * naming the late ones, after `workflows.nodesReadyTimeoutSeconds`.
 */
export function waitNodesReady<I>(select: (ctx: WorkflowContext<I>) => Machine[]): Step<I, { ready: number }> {
  return defineStep<I, { ready: number }>({
    name: 'wait-nodes-ready',
    async run(ctx) {
      const { cluster } = ctx;
      const machines = select(ctx);
      if (machines.length === 0) return done({ ready: 0 });
      const state = await ctx.operation<NodeStatus[]>(`nodes-${ctx.poll}`, {
        op: 'list-nodes',
        provider: cluster.provider,
        clusterId: cluster.id,
      });
      // A cluster API that does not answer yet (booting machines) is no node Ready yet, until the deadline.
      if (state.state === 'failed' && !state.error.retryable) throw state.error;
      if (state.state === 'pending') return wait(POLL_MS / 4);
      const unanswered = state.state === 'failed' ? state.error.message : undefined;
      const listed = state.state === 'failed' ? [] : state.result;
      const ready = new Set(listed.filter((n) => n.status === 'Ready').map((n) => n.machineId));
      const readyCount = machines.filter((m) => ready.has(m.id)).length;
      if (readyCount < machines.length) {
        const startedAt = Date.parse(ctx.run.steps[ctx.run.currentStep]?.startedAt ?? '') || Date.now();
        const waitedMs = Date.now() - startedAt;
        if (waitedMs > ctx.deadlines.nodesReadyMs) {
          const late = machines.filter((m) => !ready.has(m.id)).map((m) => m.name);
          throw new ProviderError(
            `${readyCount}/${machines.length} nodes Ready after ${Math.round(waitedMs / 1000)} s (workflows.nodesReadyTimeoutSeconds); not Ready: ${late.join(', ')}. ` +
              (unanswered ? `The cluster's API did not answer: ${unanswered}. ` : '') +
              "Check those machines' consoles and cloud-init / kubeadm logs, then retry the workflow.",
            { details: { reason: 'NodesNotReady', machines: late } },
          );
        }
        return wait(
          POLL_MS,
          `${readyCount}/${machines.length} nodes Ready${unanswered ? ' (the API does not answer yet)' : ''}`,
          true,
        );
      }
      return done(
        { ready: readyCount },
        [{ kind: 'updateMachines', machines: machines.map((m) => ({ id: m.id, nodeStatus: 'Ready' as const })) }],
        `${readyCount}/${machines.length} nodes Ready`,
      );
    },
  });
}

/** Records a machine row per control-plane machine and per worker of each pool, named from the spec. */
export const planMachines = defineStep<unknown, { machines: number }>({
  name: 'plan-machines',
  async run(ctx) {
    const { cluster } = ctx;
    const machines = [
      ...Array.from({ length: cluster.controlPlane.count }, (_, i) => ({
        name: `${cluster.name}-cp-${i}`,
        pool: 'control-plane',
        role: 'control-plane' as const,
        kubernetesVersion: cluster.kubernetesVersion,
      })),
      ...cluster.nodePools.flatMap((pool) =>
        Array.from({ length: pool.count }, (_, i) => ({
          name: `${cluster.name}-${pool.name}-${i}`,
          pool: pool.name,
          role: 'worker' as const,
          kubernetesVersion: cluster.kubernetesVersion,
        })),
      ),
    ];
    return done({ machines: machines.length }, [{ kind: 'upsertMachines', machines }]);
  },
});

/** Ensures every machine of the cluster at its provider; the cluster's API endpoint comes with them. */
export const provisionMachines = defineStep<unknown, { provisioned: number; apiEndpoint: string | null }>({
  name: 'provision-machines',
  async run(ctx) {
    const { cluster, machines } = ctx;
    const fan = await perMachine<MachineStatus>(ctx, machines, (m) => ({
      op: 'ensure-machine',
      provider: cluster.provider,
      spec: machineSpec(cluster, m),
    }));
    if (fan.failed.length > 0) throw fan.failed[0]!.error;
    if (fan.pending > 0) return wait(POLL_MS, `${fan.results.size}/${machines.length} machines provisioned`);
    const apiEndpoint = [...fan.results.values()].find((s) => s.apiEndpoint)?.apiEndpoint;
    return done(
      { provisioned: machines.length, apiEndpoint: apiEndpoint ?? null },
      [
        {
          kind: 'updateMachines',
          machines: [...fan.results.values()].map((s) => ({
            id: s.machineId,
            phase: s.phase,
            providerId: s.providerId,
            addresses: s.addresses,
          })),
        },
        ...(apiEndpoint ? [{ kind: 'setClusterEndpoint' as const, apiEndpoint }] : []),
      ],
      `${machines.length}/${machines.length} machines provisioned`,
    );
  },
});

/** kubeconfigs carry the group cx:<role>; the cluster's RBAC gives each group its Kubernetes role. */
export const configureAccess = defineStep<unknown, { bindings: string[] } | { skipped: string }>({
  name: 'configure-access',
  async run(ctx) {
    const { cluster } = ctx;
    if (!cluster.apiEndpoint) return done({ skipped: `provider ${cluster.provider} runs no Kubernetes API` });
    const state = await ctx.operation<{ bindings: string[] }>('access', {
      op: 'configure-access',
      provider: cluster.provider,
      clusterId: cluster.id,
    });
    if (state.state === 'failed') throw state.error;
    if (state.state === 'pending') return wait(POLL_MS / 4);
    return done(state.result);
  },
});

/** The cluster is Ready: the last step of every workflow that leaves it as it was asked to be. */
export const markReady = defineStep<unknown, null>({
  name: 'mark-ready',
  async run() {
    return done(null, [{ kind: 'setClusterStatus', status: 'Ready', message: null }]);
  },
});

/**
 * cluster.create as it runs, read top to bottom. The template addon steps carry a `when`: a run
 * started without template addons (or without a pod network addon) leaves them out of its step
 * list. Versions: 2 added configure-access, 3 the template addon steps, 4 apply-network; a run
 * started by an older version keeps the steps it was started with. The addon steps seal addon
 * settings with the service token, hence a function.
 */
export function createClusterWorkflow(serviceToken: string): WorkflowDefinition {
  return defineWorkflow<CreateClusterInput>({
    name: CREATE_CLUSTER,
    version: 4,
    steps: [
      planMachines,
      provisionMachines,
      // A pod network addon goes in as soon as the API takes it: without it the nodes never turn Ready.
      applyNetwork(serviceToken),
      waitNodesReady((ctx) => ctx.machines),
      configureAccess,
      applyAddons(serviceToken),
      waitAddonsReady(serviceToken),
      markReady,
    ],
  });
}
