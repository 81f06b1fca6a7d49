/** A cluster's feed (`/api/v1/clusters/{id}/events`): what happened to it and why, from its workflow runs and its audit trail. */
import Type, { type Static } from 'typebox';
import { NullableString, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, type WithDefaults } from './common.js';

export const CLUSTER_EVENT_TYPES = [
  'WorkflowStarted',
  'StepSucceeded',
  'StepFailed',
  'WorkflowSucceeded',
  'WorkflowFailed',
  'WorkflowCancelled',
  'Audit',
] as const;

export const clusterEventSchema = Type.Object({
  id: Type.String({
    description: 'Stable and unique within the cluster: the same event has the same id on every read',
  }),
  at: Type.String({ format: 'date-time' }),
  type: Type.Enum(CLUSTER_EVENT_TYPES, {
    type: 'string',
    description:
      'Workflow…/Step…: a run on the cluster started, finished a step, ended. Audit: a call or a decision of cx about the cluster that started no workflow of its own (a refused request, a remediation cx decided on)',
  }),
  message: Type.String({ description: 'What happened' }),
  reason: NullableString({
    description: 'Why, where it is known: an error code or documented reason (docs/errors.md), a remediation reason',
  }),
  actor: NullableString({ description: 'Who: a user name, or cx itself (cx:health, …)' }),
  workflowId: NullableString(),
  workflow: NullableString({ description: "The run's workflow (cluster.upgrade, node.remediate, …)" }),
  step: NullableString({ description: 'The step, for Step… events' }),
  action: NullableString({ description: 'The audited action, for Audit events' }),
});
export type ClusterEvent = Static<typeof clusterEventSchema>;

export const clusterEventListQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX, default: PAGE_LIMIT_DEFAULT })),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ClusterEventListQuery = WithDefaults<Static<typeof clusterEventListQuerySchema>, 'limit'>;
