/**
 * Workflow runs as sm stores them, and what a workflow step tells sm: the start, progress, result
 * (with its effects on the state) or failure of a step.
 */
import Type, { type Static } from 'typebox';
import type { Problem } from '@cx/errors';
import { CLUSTER_STATUSES, NullableString, workflowListQuerySchema } from '@cx/api-schemas';
import type { Cluster, Workflow, WorkflowStep } from '@cx/api-schemas';
import { MachineRole, NodeReadiness, type Machine } from './machines.js';
import { JsonObject } from './schema.js';

/** A cluster's status (the public enum). */
export const ClusterStatus = Type.Enum(CLUSTER_STATUSES, { type: 'string' });
export type ClusterStatus = Static<typeof ClusterStatus>;

/** The workflow a caller asks sm to start: its identity, its step names and what it does to the cluster. */
export const WorkflowStart = Type.Object({
  workflow: Type.String(),
  version: Type.Integer(),
  steps: Type.Array(Type.String(), { minItems: 1 }),
  input: JsonObject,
  /** Cluster status while the workflow runs (and again when it is retried). */
  clusterStatus: ClusterStatus,
});
export type WorkflowStart = Static<typeof WorkflowStart>;

/** What every internal route that starts a workflow takes. */
export const StartRequest = Type.Object({
  actor: Type.String({ minLength: 1 }),
  idempotencyKey: Type.Optional(Type.String({ maxLength: 255 })),
  /** Hash of the public request, to tell a retry from a different request reusing the key. */
  requestHash: Type.Optional(Type.String()),
  workflow: WorkflowStart,
});
export type StartRequest = Static<typeof StartRequest>;

/** The body of the routes that start a workflow and take nothing else (an addon's removal, an etcd snapshot or restore). */
export const StartBody = Type.Object({ start: StartRequest });
export type StartBody = Static<typeof StartBody>;

/** The cluster, the workflow started, and what the start created with it (an ha-config…). */
export interface AcceptedBody {
  cluster: Cluster;
  workflow: { id: string; status: string };
  [created: string]: unknown;
}
/** sm's answer to a start, with whether it replays an earlier request of the same idempotency key. */
export interface Accepted {
  body: AcceptedBody;
  replayed: boolean;
}

/** A run's step with what it produced: the public step, plus its output for the steps after it. */
export type RunStep = WorkflowStep & { output: unknown };
/** A run as sm answers it: the public workflow, its steps with their outputs. */
export type Run = Omit<Workflow, 'steps'> & { steps: RunStep[]; input: JsonObject };

/** A Pending or Running run as the reconciler lists it. */
export const ActiveRun = Type.Object({
  id: Type.String(),
  currentStep: Type.Integer(),
  generation: Type.Integer(),
  status: Type.String(),
  /** The step job that last started one of its steps (it may have gone on to the current one). */
  ownerJob: Type.Union([Type.String(), Type.Null()]),
});
export type ActiveRun = Static<typeof ActiveRun>;

const MachineUpdate = Type.Object({
  id: Type.String(),
  phase: Type.Optional(Type.String()),
  providerId: Type.Optional(NullableString()),
  addresses: Type.Optional(Type.Array(Type.String())),
  nodeStatus: Type.Optional(NodeReadiness),
  kubernetesVersion: Type.Optional(Type.String()),
});

/** A change a workflow step makes to the state, committed together with the step's result. */
export const StepEffect = Type.Union([
  Type.Object({
    kind: Type.Literal('upsertMachines'),
    machines: Type.Array(
      Type.Object({ name: Type.String(), pool: Type.String(), role: MachineRole, kubernetesVersion: Type.String() }),
    ),
  }),
  Type.Object({ kind: Type.Literal('updateMachines'), machines: Type.Array(MachineUpdate) }),
  Type.Object({ kind: Type.Literal('deleteMachines'), ids: Type.Array(Type.String()) }),
  /** A worker pool scaled to 0 leaves the cluster (DELETE /clusters/{id}/nodepools/{pool}). */
  Type.Object({ kind: Type.Literal('removePool'), pool: Type.String() }),
  Type.Object({
    kind: Type.Literal('setClusterStatus'),
    status: ClusterStatus,
    message: Type.Optional(NullableString()),
  }),
  Type.Object({ kind: Type.Literal('setClusterEndpoint'), apiEndpoint: Type.String() }),
  Type.Object({ kind: Type.Literal('setClusterVersion'), kubernetesVersion: Type.String() }),
  /** The OS image the cluster's new machines boot from (an OS upgrade records it before replacing the workers). */
  Type.Object({ kind: Type.Literal('setClusterImage'), osImage: NullableString() }),
  Type.Object({ kind: Type.Literal('beginCaRotation') }),
  Type.Object({ kind: Type.Literal('finishCaRotation') }),
  Type.Object({ kind: Type.Literal('rotateCertificates') }),
  Type.Object({ kind: Type.Literal('deleteHaConfig'), id: Type.String() }),
  /** The nodes an apply of the ha-config configured (what its health monitor compares with). */
  Type.Object({
    kind: Type.Literal('setHaConfigApplied'),
    id: Type.String(),
    nodes: Type.Array(Type.Object({ name: Type.String(), address: Type.String() })),
    workflowId: Type.String(),
  }),
  /** The addon's install finished: it is Installed (committed with the install workflow's last step). */
  Type.Object({ kind: Type.Literal('setAddonInstalled'), name: Type.String() }),
  /** The addon's objects are gone from the cluster: its row goes too. */
  Type.Object({ kind: Type.Literal('deleteAddon'), name: Type.String() }),
  Type.Object({ kind: Type.Literal('deleteCluster') }),
]);
export type StepEffect = Static<typeof StepEffect>;

/** A failed step's error; `reason` is a provider's documented reason (docs/errors.md). */
export const StepError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  retryable: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  /** The machine whose provider operation failed. */
  machineId: Type.Optional(Type.String()),
});
export type StepError = Static<typeof StepError>;

/** What a workflow step starts from. */
export interface StepStart {
  run: Run;
  cluster: Cluster;
  machines: Machine[];
}

/** The index of the step to run next; null when the run is over. */
export interface StepCompleted {
  next: number | null;
}
/** The step started next and what it reads; null when the run is over. */
export interface StepAdvanced {
  next: number | null;
  start: StepStart | null;
}

/** Which step of which run a transition is for, and the run's generation its job was started in. */
const StepRef = {
  runId: Type.String({ minLength: 1, maxLength: 255 }),
  idx: Type.Integer({ minimum: 0 }),
  generation: Type.Integer(),
};
/** The step's job, new or back after a wait, marks the step started (its attempt counted); answers StepStart. */
export const StartStepCall = Type.Object({
  call: Type.Literal('start'),
  ...StepRef,
  attempt: Type.Integer({ minimum: 1 }),
  /** The step job starting it, recorded as the run's owner (ActiveRun.ownerJob). */
  jobId: Type.Optional(Type.String({ maxLength: 255 })),
});
export type StartStepCall = Static<typeof StartStepCall>;
/** What the step is doing, shown on it until it finishes. */
export const StepProgressCall = Type.Object({ call: Type.Literal('progress'), ...StepRef, message: Type.String() });
export type StepProgressCall = Static<typeof StepProgressCall>;
/** The step's output and its effects, committed together; answers StepCompleted. */
export const CompleteStepCall = Type.Object({
  call: Type.Literal('complete'),
  ...StepRef,
  output: Type.Optional(Type.Unknown()),
  effects: Type.Optional(Type.Array(StepEffect)),
  /** The finished step's message (what it did); absent: none, its last progress message is not kept. */
  message: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type CompleteStepCall = Static<typeof CompleteStepCall>;
/** Completes the step as `complete` does and starts the next one for the same job (its first attempt); answers StepAdvanced. */
export const AdvanceStepCall = Type.Object({
  call: Type.Literal('advance'),
  ...StepRef,
  output: Type.Optional(Type.Unknown()),
  effects: Type.Optional(Type.Array(StepEffect)),
  jobId: Type.String({ maxLength: 255 }),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type AdvanceStepCall = Static<typeof AdvanceStepCall>;
/** Fails the step and its run. */
export const FailStepCall = Type.Object({ call: Type.Literal('fail'), ...StepRef, error: StepError });

/** One step transition as a request carries it, named by `call`. */
export const StepTransitionCall = Type.Union([
  StartStepCall,
  StepProgressCall,
  CompleteStepCall,
  AdvanceStepCall,
  FailStepCall,
]);
export type StepTransitionCall = Static<typeof StepTransitionCall>;

/** The most transitions one request carries. */
export const TRANSITIONS_PER_REQUEST = 100;
/**
 * POST /workflow-runs/transitions: the step transitions, of any runs, that a wfm has to send at
 * one time. sm commits them in one transaction where it can, each guarded on its own: one refused
 * (a stale step, a conflict) changes nothing and stops none of the others.
 */
export const StepTransitionRequest = Type.Object({
  calls: Type.Array(StepTransitionCall, { minItems: 1, maxItems: TRANSITIONS_PER_REQUEST }),
});
export type StepTransitionRequest = Static<typeof StepTransitionRequest>;
/** A call's answer: its result (null for progress and fail), or the problem that refused it. */
export type StepTransitionAnswer = { result: unknown } | { problem: Problem };
/** The answers, in the order of the calls. */
export interface StepTransitionResponse {
  answers: StepTransitionAnswer[];
}

/** What a step transition came to inside sm: its result (null for progress and fail), or the error that refused it. */
export type StepTransitionOutcome = { result: unknown } | { error: unknown };
/**
 * sm's own handling of a batch of step transitions (WorkflowRuns.transitions), which the engine
 * calls directly when sm runs in its process (the all-in-one): the same batches as over HTTP,
 * committed in one transaction where they can be, without loopback HTTP and JSON.
 */
export type StepTransitionsInProcess = (calls: StepTransitionCall[]) => Promise<StepTransitionOutcome[]>;

/** GET /workflow-runs: the public list's filters, the cluster by id, for the user whose grants decide what it shows. */
export const RunListQuery = Type.Object(
  {
    limit: workflowListQuerySchema.properties.limit,
    cursor: workflowListQuerySchema.properties.cursor,
    status: workflowListQuerySchema.properties.status,
    workflow: workflowListQuerySchema.properties.workflow,
    clusterId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    userId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type RunListQuery = Static<typeof RunListQuery>;
