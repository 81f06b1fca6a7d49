/**
 * Scale a node pool to its new desired size (already recorded by sm when the workflow started):
 * plan the machines to add or remove, provision the new ones, wait for the new nodes, then remove
 * the surplus — the machines the caller named, else the newest first. Adding a pool is a scale from
 * 0 (sm records the pool first); deleting one a scale to 0 whose last step takes the pool away.
 */
import { InputError } from '@cx/errors';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import type { StepEffect } from '@cx/sm-contract';
import { markReady, provisionMachines, waitNodesReady } from './cluster-create.js';
import { defineStep, defineWorkflow } from './define.js';
import { DRAIN_TIMEOUT_SECONDS, POLL_MS, cordonAndDrain, machinesToDrain, perMachine } from './machines.js';

export const SCALE_POOL = 'cluster.scale';

/** Index of a machine named `<cluster>-<pool>-<i>`, or -1. */
const indexOf = (name: string, prefix: string): number =>
  name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : -1;

/**
 * The run's input: the pool and its new size (sm adds both when it records the change), the
 * machines the caller named to remove, whether the pool goes once empty (a deleted pool).
 */
export interface ScaleInput {
  pool: string;
  to: number;
  remove?: string[];
  removePool?: boolean;
  drainTimeoutSeconds?: number;
}

/** The machines to add (by name; their rows are recorded by this step) and to remove (by id). */
export interface ScalePlan {
  add: string[];
  remove: string[];
}

const planScale = defineStep<ScaleInput, ScalePlan>({
  name: 'plan-scale',
  async run(ctx) {
    const { cluster, machines } = ctx;
    const { pool, to, remove } = ctx.input;
    const members = machines.filter((m) => m.pool === pool);
    const role = pool === 'control-plane' ? ('control-plane' as const) : ('worker' as const);
    const prefix = pool === 'control-plane' ? `${cluster.name}-cp-` : `${cluster.name}-${pool}-`;
    if (to >= members.length) {
      let next = Math.max(-1, ...members.map((m) => indexOf(m.name, prefix))) + 1;
      const added = Array.from({ length: to - members.length }, () => ({
        name: `${prefix}${next++}`,
        pool,
        role,
        kubernetesVersion: cluster.kubernetesVersion,
      }));
      return done(
        { add: added.map((m) => m.name), remove: [] },
        added.length > 0 ? [{ kind: 'upsertMachines', machines: added }] : [],
      );
    }
    const surplus = members.length - to;
    const named = (remove ?? []).map((name) => {
      const machine = members.find((m) => m.name === name);
      if (!machine) throw new InputError(`${name} is not a machine of pool ${pool}`);
      return machine;
    });
    if (named.length > 0 && named.length !== surplus)
      throw new InputError(`name ${surplus} machines to remove, not ${named.length}`);
    const chosen =
      named.length > 0
        ? named
        : [...members].sort((a, b) => indexOf(b.name, prefix) - indexOf(a.name, prefix)).slice(0, surplus);
    return done({ add: [], remove: chosen.map((m) => m.id) });
  },
});

/**
 * Cordon, drain through the eviction API (PodDisruptionBudgets are honoured, and a blocked drain
 * says which budget blocks it), then delete. Providers without a Kubernetes API skip the drain,
 * and so do machines that never joined (machinesToDrain).
 */
const removeMachines = defineStep<ScaleInput, { removed: number | string[] }>({
  name: 'remove-machines',
  async run(ctx) {
    const { cluster, machines } = ctx;
    const plan = ctx.output(planScale);
    const leaving = machines.filter((m) => plan?.remove.includes(m.id));
    // A pool being deleted leaves the cluster with its last machine.
    const { pool, removePool, drainTimeoutSeconds } = ctx.input;
    const poolGoes: StepEffect[] = removePool === true ? [{ kind: 'removePool', pool }] : [];
    if (leaving.length === 0) return done({ removed: 0 }, poolGoes);
    if (cluster.apiEndpoint) {
      const toDrain = await machinesToDrain(ctx, leaving);
      if (!toDrain) return wait(POLL_MS / 4);
      const draining = await cordonAndDrain(ctx, toDrain, drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS);
      if (draining) return draining;
    }
    const fan = await perMachine(ctx, leaving, (m) => ({
      op: 'delete-machine',
      provider: cluster.provider,
      clusterId: cluster.id,
      machineId: m.id,
    }));
    if (fan.failed.length > 0) throw fan.failed[0]!.error;
    if (fan.pending > 0) return wait(POLL_MS, `${fan.results.size}/${leaving.length} machines removed`);
    return done(
      { removed: leaving.map((m) => m.name) },
      [{ kind: 'deleteMachines', ids: leaving.map((m) => m.id) }, ...poolGoes],
      `${leaving.length}/${leaving.length} machines removed`,
    );
  },
});

export const scalePoolWorkflow: WorkflowDefinition = defineWorkflow<ScaleInput>({
  name: SCALE_POOL,
  version: 1,
  steps: [
    planScale,
    provisionMachines,
    // Only the machines this scale adds: nodes that are leaving, or were NotReady before, do not hold it up.
    waitNodesReady((ctx) => ctx.machines.filter((m) => ctx.output(planScale)?.add.includes(m.name))),
    removeMachines,
    markReady,
  ],
});
