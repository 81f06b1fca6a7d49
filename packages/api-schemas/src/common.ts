/** What every resource of the public API shares: name and version patterns, statuses, limits, problems, pages. */
import Type, { type Static, type TSchema, type TUnsafe } from 'typebox';

/**
 * `string | null` as one `type` list rather than an anyOf: fastify's ajv coerces types, and would
 * turn a null into '' in the string branch of an anyOf.
 */
export function NullableString(options: Record<string, unknown> = {}): TUnsafe<string | null> {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
}

/** `schema` or null, as one `type` list (`['object', 'null']`…) rather than an anyOf, as NullableString. */
export function Nullable<T extends TSchema & { type: string }>(
  schema: T,
  options: Record<string, unknown> = {},
): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'], ...options });
}

/**
 * An object of free keys whose values are all `value`, as `additionalProperties` (TypeBox's Record
 * would write `patternProperties`, which the document has never said).
 */
export function MapOf<T extends TSchema>(
  value: T,
  options: Record<string, unknown> = {},
): TUnsafe<Record<string, Static<T>>> {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options });
}

/** A JSON object whose members are free (settings, specs); `options` say `additionalProperties: true` where the document does. */
export function FreeObject(options: Record<string, unknown> = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', ...options });
}

/**
 * A request as its handler sees it: ajv (`useDefaults`) has filled in the keys `K`, which the
 * schema leaves optional (a client may omit them) but gives a default.
 */
export type WithDefaults<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

/** Kubernetes DNS-1123 label: what cluster, pool and node names must be. */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const KUBERNETES_VERSION = '^\\d+\\.\\d+\\.\\d+$';

export const CLUSTER_STATUSES = ['Provisioning', 'Ready', 'Updating', 'Deleting', 'Failed'] as const;
export const WORKFLOW_STATUSES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export const STEP_STATUSES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];

export const MAX_POOL_COUNT = 500;
export const MAX_POOLS = 20;
export const PAGE_LIMIT_MAX = 500;
export const PAGE_LIMIT_DEFAULT = 50;

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description:
    'RFC 9457 problem details; `code` is stable (docs/errors.md). Some codes add members (`fields`, `quota`, `retryAfter`, …).',
  required: ['type', 'title', 'status', 'detail', 'code'],
  additionalProperties: true,
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    requestId: { type: 'string' },
    retryable: { type: 'boolean' },
    fields: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

export const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT_MAX, default: PAGE_LIMIT_DEFAULT },
    cursor: { type: 'string', maxLength: 256, description: 'nextCursor of the previous page' },
  },
} as const;

export function listSchema(item: object): object {
  return {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } },
  };
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/**
 * The `{id}` of a resource with a unique name (clusters, users, groups, …): its id or its name. The
 * id is canonical: answers carry it, and a name spelled like an object's id names that object.
 */
export const refParamSchema = Type.String({
  minLength: 1,
  maxLength: 255,
  description:
    "The object's id, or its name. An id is looked up first: a name spelled like another object's id addresses that object, so use the id there. Answers always carry the id.",
});

/** Path parameters of a resource addressed by id or name (refParamSchema). */
export const refParamsSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: refParamSchema },
} as const;
