/** The cluster routes of sm's internal API: what wfm sends to create and change clusters, and what sddc reads of them. */
import Type, { type Static } from 'typebox';
import type { ClusterCreateRequest, NodePoolRequest, NodeScheduling } from '@cx/api-schemas';
import type { StartRequest } from './runs.js';
import type { TemplateUse } from './templates.js';

/** POST /clusters. `template`: the template the request was completed with, at that version, and its addons for the create workflow to install. */
export interface CreateClusterBody { request: ClusterCreateRequest; start: StartRequest; template?: TemplateUse }
/** POST /clusters/{id}/pools/{pool}/scale. */
export interface ScalePoolBody { count: number; start: StartRequest }
/** POST /clusters/{id}/pools/{pool}/scheduling. */
export interface PoolSchedulingBody { scheduling: Required<NodeScheduling>; start: StartRequest }
/** POST /clusters/{id}/pools. */
export interface AddPoolBody { pool: NodePoolRequest; start: StartRequest }

/** POST /clusters/{id}/kubeconfig: whose kubeconfig. */
export const KubeconfigBody = Type.Object({ userId: Type.String() });
export type KubeconfigBody = Static<typeof KubeconfigBody>;
/** The caller's kubeconfig for the cluster, with a short-lived client certificate sm signed. */
export const Kubeconfig = Type.Object({ kubeconfig: Type.String(), expiresAt: Type.String() });
export type Kubeconfig = Static<typeof Kubeconfig>;

/** A short-lived cluster-admin certificate for the tenant API (signed by sm with the cluster CA). */
export const TenantAdminCredentials = Type.Object({ apiEndpoint: Type.String(), caPem: Type.String(), certPem: Type.String(), keyPem: Type.String() });
export type TenantAdminCredentials = Static<typeof TenantAdminCredentials>;
