/**
 * Queue names, payloads and deterministic job ids shared by wfm (producer of sddc operations,
 * consumer of workflow steps) and sddc (consumer of operations). A job id is derived from the
 * business identity of the work, so that a retried or duplicated enqueue never does it twice.
 * BullMQ refuses custom ids containing ':', hence the dots.
 */

import type { MachineSpec, PowerAction } from '@cx/sddc-contract';

export const WORKFLOW_STEP_QUEUE = 'workflow-steps';
export const SDDC_OPERATION_QUEUE = 'sddc-operations';

/** One step of one workflow run; `generation` grows each time the run is retried. */
export interface WorkflowStepJob {
  runId: string;
  stepIndex: number;
  generation: number;
}

export function workflowStepJobId(job: WorkflowStepJob): string {
  return `${job.runId}.${job.stepIndex}.${job.generation}`;
}


export type SddcOperation =
  | { op: 'ensure-machine'; provider: string; spec: MachineSpec }
  | { op: 'delete-machine'; provider: string; clusterId: string; machineId: string }
  | { op: 'list-machines'; provider: string; clusterId: string }
  | { op: 'list-nodes'; provider: string; clusterId: string }
  | { op: 'set-power'; provider: string; clusterId: string; machineId: string; action: PowerAction }
  /** Binds cx's roles to Kubernetes roles inside the tenant cluster (RBAC), through its API. */
  | { op: 'configure-access'; provider: string; clusterId: string }
  /** Marks a node unschedulable (or schedulable again with `unschedulable: false`). */
  | { op: 'cordon-node'; provider: string; clusterId: string; nodeName: string; unschedulable: boolean }
  /** One pass of a PDB-aware drain: evictions, then what is left and which budgets refused. */
  | { op: 'drain-node'; provider: string; clusterId: string; nodeName: string };

/**
 * Id of an sddc operation started by a workflow step: one per (run, step, generation, subject),
 * where the subject is the machine (or the cluster for cluster-wide operations).
 */
export function sddcOperationJobId(step: WorkflowStepJob, subject: string): string {
  return `${workflowStepJobId(step)}.${subject}`;
}

/** Attempts and backoff of sddc operations failing with a retryable error. */
export const SDDC_OPERATION_RETRY = { attempts: 4, backoff: { type: 'exponential', delay: 500 } } as const;

/** How long finished jobs are kept so that a late duplicate enqueue still finds them. */
export const FINISHED_JOB_RETENTION = { age: 24 * 3600, count: 50_000 } as const;
