/** Helpers shared by the cluster workflows: driving one sddc operation per machine. */
import type { Cluster } from '@cx/api-schemas';
import { CxError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
import type { MachineSpec } from '@cx/sddc-contract';
import type { OperationState, StepContext } from '../engine.js';
import type { Machine } from '../sm-client.js';

/** Poll interval of steps waiting for infrastructure. */
export const POLL_MS = 200;

export interface FanOut<T> {
  results: Map<string, T>;
  pending: number;
  failed: Array<{ machine: Machine; error: CxError }>;
}

/** Starts (once) and observes one operation per machine; `kind` tells apart several operations of one step on the same machine. */
export async function perMachine<T>(ctx: StepContext, machines: Machine[], operation: (m: Machine) => SddcOperation, kind = ''): Promise<FanOut<T>> {
  const states = await Promise.all(machines.map(async (m) => [m, await ctx.operation<T>(kind ? `${kind}-${m.id}` : m.id, operation(m))] as const));
  const out: FanOut<T> = { results: new Map(), pending: 0, failed: [] };
  for (const [machine, state] of states as ReadonlyArray<readonly [Machine, OperationState<T>]>) {
    if (state.state === 'done') out.results.set(machine.id, state.result);
    else if (state.state === 'pending') out.pending += 1;
    // The machine travels with the error, so that the failed step names it and sm records its condition.
    else out.failed.push({ machine, error: new CxError(state.error.code, state.error.message, { retryable: state.error.retryable, details: { ...state.error.details, machineId: machine.id, machine: machine.name } }) });
  }
  return out;
}

const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const };

/** What the provider is asked to make of a machine: its identity, version, and its pool's labels and taints. */
export function machineSpec(cluster: Cluster, machine: Machine, kubernetesVersion = machine.kubernetesVersion): MachineSpec {
  const pool = cluster.nodePools.find((p) => p.name === machine.pool);
  const scheduling = machine.role === 'control-plane'
    ? { labels: {}, taints: cluster.controlPlane.schedulable ? [] : [CONTROL_PLANE_TAINT] }
    : { labels: pool?.labels ?? {}, taints: pool?.taints ?? [] };
  return { machineId: machine.id, clusterId: cluster.id, name: machine.name, role: machine.role, pool: machine.pool, kubernetesVersion, ...scheduling };
}
