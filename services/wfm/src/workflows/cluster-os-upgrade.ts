/**
 * Move a cluster's workers onto a new OS image by rolling replacement (replacement.ts): the first
 * step records the image on the cluster (every machine created afterwards boots it) together with
 * the new machines and the pairs (old → new); the next replaces the workers `maxSurge` at a time.
 * Control-plane machines keep their image (a new first one would `kubeadm init` a new cluster).
 */
import { done, type WorkflowDefinition } from '../engine.js';
import { markReady } from './cluster-create.js';
import { defineStep, defineWorkflow } from './define.js';
import { DRAIN_TIMEOUT_SECONDS } from './machines.js';
import {
  PLAN_REPLACEMENT,
  planReplacementStep,
  replaceWorkers,
  undoReplacements,
  type Replacement,
  type ReplacementPlan,
} from './replacement.js';

export const OS_UPGRADE_CLUSTER = 'cluster.os-upgrade';
export const ROLLBACK_OS_UPGRADE = 'cluster.os-upgrade-rollback';

/** `from`: the image the cluster had before (null: the provider's default), for a rollback; absent in runs started before rollbacks existed. */
export interface OsUpgradeInput {
  image: string;
  maxSurge: number;
  drainTimeoutSeconds?: number;
  from?: string | null;
}
/** A rollback of the run `rollsBack`: its plan, and the image the cluster had before it (null: the provider's default). */
export interface OsUpgradeRollbackInput {
  rollsBack: string;
  image: string;
  from: string | null;
  replacements: Replacement[];
  drainTimeoutSeconds?: number;
}

/** Records the image on the cluster, the new machines' rows and the pairs (old → new); a rollback reads them. */
export const planImageReplacement = defineStep<OsUpgradeInput, ReplacementPlan>({
  name: PLAN_REPLACEMENT,
  async run(ctx) {
    const { image } = ctx.input;
    return planReplacementStep(ctx, ctx.cluster.kubernetesVersion, { image }, [
      { kind: 'setClusterImage', osImage: image },
    ]);
  },
});

export const osUpgradeClusterWorkflow: WorkflowDefinition = defineWorkflow<OsUpgradeInput>({
  name: OS_UPGRADE_CLUSTER,
  version: 1,
  steps: [
    planImageReplacement,
    {
      name: 'replace-workers',
      async run(ctx) {
        const { maxSurge, drainTimeoutSeconds } = ctx.input;
        return replaceWorkers(
          ctx,
          ctx.output(planImageReplacement)?.replacements ?? [],
          maxSurge,
          drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS,
        );
      },
    },
    markReady,
  ],
});

/**
 * Rolls back a failed or cancelled OS upgrade (POST /workflows/{id}/rollback): the workers it had
 * not finished replacing keep their old machine (the new one goes), those it had replaced stay
 * replaced, and machines created from then on boot the image the cluster had before.
 */
export const rollbackOsUpgradeWorkflow: WorkflowDefinition = defineWorkflow<OsUpgradeRollbackInput>({
  name: ROLLBACK_OS_UPGRADE,
  version: 1,
  steps: [
    {
      name: 'undo-replacements',
      async run(ctx) {
        const { replacements, drainTimeoutSeconds } = ctx.input;
        return undoReplacements(ctx, replacements, drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS);
      },
    },
    {
      name: 'restore-image',
      async run(ctx) {
        const { from } = ctx.input;
        return done({ osImage: from }, [{ kind: 'setClusterImage', osImage: from }]);
      },
    },
    markReady,
  ],
});
