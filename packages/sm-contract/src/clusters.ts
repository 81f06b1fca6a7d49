/** The cluster routes of sm's internal API: what wfm sends to create and change clusters, and what sddc reads of them. */
import Type, { type Static } from 'typebox';
import {
  clusterCreateRequestSchema,
  nodeListQuerySchema,
  nodePoolRequestSchema,
  nodeSchedulingProperties,
  PAGE_LIMIT_MAX,
  type ClusterCreateRequest,
} from '@cx/api-schemas';
import { StartRequest } from './runs.js';
import { TemplateUse } from './templates.js';
import { CreateAddons, type CreateAddon } from './addons.js';

/**
 * POST /clusters. `template`: the template the request was completed with, at that version;
 * `addons`: what the create workflow installs (the template's and the request's, merged and checked).
 */
export const CreateClusterBody = Type.Object({
  request: clusterCreateRequestSchema,
  start: StartRequest,
  template: Type.Optional(TemplateUse),
  addons: Type.Optional(CreateAddons),
});
/** CreateClusterBody as sm reads it once validated: the request with its defaults filled in. */
export interface CreateClusterBody {
  request: ClusterCreateRequest;
  start: StartRequest;
  template?: TemplateUse;
  addons?: CreateAddon[];
}
/** POST /clusters/{id}/pools/{pool}/scale. */
export const ScalePoolBody = Type.Object({ count: Type.Integer({ minimum: 0 }), start: StartRequest });
export type ScalePoolBody = Static<typeof ScalePoolBody>;
/** POST /clusters/{id}/pools/{pool}/scheduling: the pool's labels and taints as they are to be (wfm checked them). */
export const PoolSchedulingBody = Type.Object({
  scheduling: Type.Required(Type.Object(nodeSchedulingProperties)),
  start: StartRequest,
});
export type PoolSchedulingBody = Static<typeof PoolSchedulingBody>;
/** POST /clusters/{id}/pools: the pool to add (wfm checked it against the public schema). */
export const AddPoolBody = Type.Object({
  pool: nodePoolRequestSchema,
  start: StartRequest,
});
export type AddPoolBody = Static<typeof AddPoolBody>;

/** POST /clusters/{id}/kubeconfig: whose kubeconfig. */
export const KubeconfigBody = Type.Object({ userId: Type.String() });
export type KubeconfigBody = Static<typeof KubeconfigBody>;
/** The caller's kubeconfig for the cluster, with a short-lived client certificate sm signed. */
export const Kubeconfig = Type.Object({ kubeconfig: Type.String(), expiresAt: Type.String() });
export type Kubeconfig = Static<typeof Kubeconfig>;

/** A short-lived cluster-admin certificate for the tenant API (signed by sm with the cluster CA). */
export const TenantAdminCredentials = Type.Object({
  apiEndpoint: Type.String(),
  caPem: Type.String(),
  certPem: Type.String(),
  keyPem: Type.String(),
});
export type TenantAdminCredentials = Static<typeof TenantAdminCredentials>;

/** GET /clusters/{id}/nodes: the public list's pool and page; without a limit, every node (what workflows read). */
export const NodePageQuery = Type.Object(
  {
    pool: nodeListQuerySchema.properties.pool,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX })),
    cursor: nodeListQuerySchema.properties.cursor,
  },
  { additionalProperties: false },
);
export type NodePageQuery = Static<typeof NodePageQuery>;

/**
 * GET /clusters/{id}/events: a page of the public feed, newest first (`cursor`); or, with `since`,
 * the events at or after that instant, oldest first (what a stream polls, overlapping on purpose).
 */
export const ClusterEventQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX })),
    cursor: Type.Optional(Type.String({ maxLength: 256 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type ClusterEventQuery = Static<typeof ClusterEventQuery>;
