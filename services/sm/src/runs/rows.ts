/** Row ↔ wire mapping of the workflow_runs and workflow_steps tables. */
import type { StepStatus, Workflow, WorkflowStatus, WorkflowStep } from '@cx/api-schemas';
import type { Run } from '@cx/sm-contract';

export interface RunRow {
  id: string;
  workflow: string;
  workflow_version: number;
  cluster_id: string;
  status: WorkflowStatus;
  current_step: number;
  generation: number;
  input: string;
  output: string | null;
  error: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  version: number;
  /** The step job that last started one of its steps (migration 0018). */
  owner_job: string | null;
}

export interface StepRow {
  run_id: string;
  idx: number;
  name: string;
  status: StepStatus;
  attempts: number;
  message: string | null;
  output: string | null;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export function toWorkflow(run: RunRow, steps: StepRow[]): Run {
  return {
    id: run.id,
    workflow: run.workflow,
    workflowVersion: run.workflow_version,
    clusterId: run.cluster_id,
    status: run.status,
    currentStep: run.current_step,
    generation: run.generation,
    input: JSON.parse(run.input) as Record<string, unknown>,
    error: run.error ? (JSON.parse(run.error) as { code: string; message: string }) : null,
    createdBy: run.created_by,
    createdAt: run.created_at,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    updatedAt: run.updated_at,
    steps: steps
      .sort((a, b) => a.idx - b.idx)
      .map((s) => ({
        name: s.name,
        status: s.status,
        attempts: s.attempts,
        message: s.message,
        error: s.error ? (JSON.parse(s.error) as WorkflowStep['error']) : null,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
        output: s.output ? (JSON.parse(s.output) as unknown) : null,
      })),
  };
}

/** A run as the public API shows it: without its input and its steps' outputs, which only the workflow reads. */
export function publicWorkflow(run: Run): Workflow {
  const { input: _input, steps, ...rest } = run;
  return { ...rest, steps: steps.map(({ output: _output, ...step }) => step) };
}
