/** Helpers shared by the cluster workflows: driving one sddc operation per machine. */
import type { CxError } from '@cx/errors';
import type { SddcOperation } from '@cx/queue-contracts';
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
    else out.failed.push({ machine, error: state.error });
  }
  return out;
}
