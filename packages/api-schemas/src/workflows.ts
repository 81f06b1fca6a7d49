/** Workflow runs as the public API shows them (`/api/v1/workflows/{id}`). */
import Type, { type Static } from 'typebox';
import {
  NullableString,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  STEP_STATUSES,
  WORKFLOW_STATUSES,
  type WithDefaults,
} from './common.js';

export const workflowRefSchema = Type.Object({
  id: Type.String(),
  status: Type.Optional(Type.Enum(WORKFLOW_STATUSES, { type: 'string' })),
});

/** Why a step failed: a cx error code, and the reason of the ones that name one (docs/errors.md). */
export const stepErrorSchema = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    retryable: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const workflowStepSchema = Type.Object({
  name: Type.String(),
  status: Type.Enum(STEP_STATUSES, { type: 'string' }),
  attempts: Type.Integer(),
  message: NullableString(),
  error: Type.Union([stepErrorSchema, Type.Null()]),
  startedAt: NullableString(),
  finishedAt: NullableString(),
});
export type WorkflowStep = Static<typeof workflowStepSchema>;

export const workflowSchema = Type.Object({
  id: Type.String(),
  workflow: Type.String(),
  workflowVersion: Type.Integer(),
  clusterId: Type.String(),
  status: Type.Enum(WORKFLOW_STATUSES, { type: 'string' }),
  currentStep: Type.Integer(),
  generation: Type.Integer(),
  steps: Type.Array(workflowStepSchema),
  error: Type.Union([
    Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
    Type.Null(),
  ]),
  createdBy: Type.String(),
  createdAt: Type.String(),
  startedAt: NullableString(),
  finishedAt: NullableString(),
  updatedAt: Type.String(),
});
/** A run as the public API shows it: not its input, which only the workflow and sm read. */
export type Workflow = Static<typeof workflowSchema>;

/** GET /workflows: filters and a page, newest first. */
export const workflowListQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX, default: PAGE_LIMIT_DEFAULT })),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page' })),
    cluster: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          "Only the runs of this cluster: its id or its name (an id first). A deleted cluster's runs are found by its id",
      }),
    ),
    status: Type.Optional(
      Type.Enum(WORKFLOW_STATUSES, { type: 'string', description: 'Only the runs in this status' }),
    ),
    workflow: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'Only the runs of this workflow (its name, as `workflow` in a run: cluster.upgrade, node.drain, …)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type WorkflowListQuery = WithDefaults<Static<typeof workflowListQuerySchema>, 'limit'>;
