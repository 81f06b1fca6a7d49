/**
 * Addons in tenant clusters. sddc renders the addon from the catalog (@cx/k8s) with its settings
 * and applies every object with server-side apply under the field manager `cx`, forcing
 * conflicts: cx owns what it installs, and a field someone changed by hand is set back. Removal
 * and pruning select by the `cx.dev/addon` label over the kinds the addon renders, so that objects
 * an older install made are found too. Endpoints in the settings are checked against the egress
 * policy again here, from where the connection would be configured, before anything is applied.
 */
import { lookup } from 'node:dns/promises';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject as ClientObject } from '@kubernetes/client-node';
// The client's own serializer (not re-exported by the package): the way into its models from wire JSON.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { CxError, ProviderUnavailableError } from '@cx/errors';
import {
  ADDON_LABEL,
  findAddon,
  renderAddon,
  type AddonDefinition,
  type EgressPolicy,
  type KubernetesObject,
} from '@cx/k8s';
import { refused } from '@cx/provider-kit';
import { openFromTransit, type AddonPayload } from '@cx/queue-contracts';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

export const FIELD_MANAGER = 'cx';

/** Readiness of one Deployment or DaemonSet of an addon. */
export interface WorkloadStatus {
  kind: string;
  namespace: string;
  name: string;
  ready: boolean;
  readyReplicas: number;
  desired: number;
}
export interface AddonStatusAnswer {
  workloads: WorkloadStatus[];
  missing: string[];
  remaining: string[];
}

/**
 * Deleted first (after the kinds the addon itself removes first): an APIService whose backend is
 * gone would break discovery (and namespace deletion) cluster-wide.
 */
const REMOVAL_ORDER = ['APIService', 'IngressClass', 'StorageClass', 'Deployment', 'DaemonSet'];
/** Deleted last: what the others live in or are bound by; a CRD after the resources of its kind. */
const REMOVED_LAST = [
  'ServiceAccount',
  'ClusterRoleBinding',
  'RoleBinding',
  'ClusterRole',
  'Role',
  'CustomResourceDefinition',
  'Namespace',
];
/** How long a CRD the addon just applied may take to be served, before its custom resources are applied. */
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;

interface Rendered {
  addon: AddonDefinition;
  objects: KubernetesObject[];
  settings: Record<string, unknown>;
}

function render(payload: AddonPayload, serviceToken: string): Rendered {
  const addon = findAddon(payload.name);
  if (!addon)
    throw refused(`this sddc's catalog has no addon ${payload.name}; is it an older cx than wfm?`, 'UnknownAddon');
  if (addon.version !== payload.version) {
    throw refused(
      `addon ${payload.name} is ${addon.version} in this sddc's catalog, not ${payload.version}: sddc and wfm run different cx versions; retry once they match`,
      'AddonVersionMismatch',
      { retryable: true },
    );
  }
  const settings = openFromTransit<Record<string, unknown>>(payload.sealedSettings, serviceToken);
  return { addon, settings, objects: renderAddon(addon, settings, payload.cluster) };
}

const key = (o: {
  kind?: string | undefined;
  metadata?: { namespace?: string | undefined; name?: string | undefined } | undefined;
}): string => `${o.kind ?? ''}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;

/** The kinds an addon's objects have, each once, as (apiVersion, kind). */
function kindsOf(objects: readonly KubernetesObject[]): Array<{ apiVersion: string; kind: string }> {
  const seen = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of objects) seen.set(o.kind, { apiVersion: o.apiVersion, kind: o.kind });
  return [...seen.values()];
}

/** Every object of these kinds that carries the addon's label, in any namespace. */
async function labelled(
  api: KubernetesObjectApi,
  addon: string,
  kinds: Array<{ apiVersion: string; kind: string }>,
): Promise<ClientObject[]> {
  const found: ClientObject[] = [];
  for (const { apiVersion, kind } of kinds) {
    const list = await tenantCall(async () => {
      try {
        return await api.list(
          apiVersion,
          kind,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          `${ADDON_LABEL}=${addon}`,
        );
      } catch (error) {
        // A custom kind whose CRD is gone (removed with the addon) has no objects left.
        if ((error as { code?: number }).code === 404 && !isBuiltIn(apiVersion)) return { items: [] };
        throw error;
      }
    });
    found.push(...list.items.map((item) => ({ ...item, apiVersion, kind })));
  }
  return found;
}

/** Refuses endpoints the egress policy refuses, resolving their names from here. */
export async function checkEndpoints(
  addon: AddonDefinition,
  settings: Record<string, unknown>,
  egress: EgressPolicy,
): Promise<void> {
  for (const setting of addon.endpointSettings ?? []) {
    const url = settings[setting];
    if (typeof url !== 'string') continue;
    const verdict = await egress.check(url, async (host) => (await lookup(host, { all: true })).map((a) => a.address));
    if (!verdict.allowed) {
      throw new CxError(
        'CX_ENDPOINT_NOT_ALLOWED',
        `the ${setting} of addon ${addon.name} is refused by the egress policy: ${verdict.reason}`,
        { retryable: false, details: { fields: [{ field: `settings.${setting}`, message: verdict.reason }] } },
      );
    }
  }
}

/** Applies the addon's objects in order, then deletes the objects of the addon it no longer renders. */
export async function applyAddon(
  credentials: TenantAdminCredentials,
  payload: AddonPayload,
  serviceToken: string,
  egress: EgressPolicy,
): Promise<{ applied: string[]; pruned: string[] }> {
  const { addon, objects, settings } = render(payload, serviceToken);
  await checkEndpoints(addon, settings, egress);
  const api = KubernetesObjectApi.makeApiClient(client(credentials));
  for (const object of objects) {
    try {
      await api.patch(clientModel(object), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      // An object the API refuses (invalid, forbidden) is named with the API's reason; the rest is the usual tenant failure.
      if (typeof status === 'number' && status >= 400 && status < 500 && status !== 429) {
        throw refused(`the tenant API refused ${key(object)} of addon ${addon.name}: ${messageOf(error)}`, 'Refused');
      }
      await tenantCall(() => Promise.reject(error instanceof Error ? error : new Error(String(error))));
    }
    if (object.kind === 'CustomResourceDefinition') await waitEstablished(api, object);
  }
  const wanted = new Set(objects.map(key));
  const stale = (await labelled(api, addon.name, kindsOf(objects))).filter((o) => !wanted.has(key(o)));
  for (const object of stale) await deleteObject(api, object);
  return { applied: objects.map(key), pruned: stale.map(key) };
}

/**
 * Deletes every object of the addon: what the addon removes first (`removeFirst`), then the ones that
 * break the cluster when orphaned, namespaces last. With `phase: 'first'`, only the objects of the
 * kinds it removes first, answering which of them are still there and what holds them: the caller
 * calls again until none is, then deletes the rest (an operator outlives its custom resource).
 */
export async function removeAddon(
  credentials: TenantAdminCredentials,
  payload: AddonPayload,
  serviceToken: string,
  phase?: 'first',
): Promise<{ deleted: string[]; remaining?: string[] }> {
  const { addon, objects } = render(payload, serviceToken);
  const api = KubernetesObjectApi.makeApiClient(client(credentials));
  const kinds = removalKinds(addon, objects, phase);
  const found = removalOrder(addon, await labelled(api, addon.name, kinds));
  for (const object of found) await deleteObject(api, object);
  if (phase !== 'first') return { deleted: found.map(key) };
  const remaining = found.length === 0 ? [] : await labelled(api, addon.name, kinds);
  return { deleted: found.map(key), remaining: remaining.map(holding) };
}

/** The kinds a removal (or its first phase) deletes, of those the addon renders. */
export function removalKinds(
  addon: AddonDefinition,
  objects: readonly KubernetesObject[],
  phase?: 'first',
): Array<{ apiVersion: string; kind: string }> {
  const kinds = kindsOf(objects);
  return phase === 'first' ? kinds.filter((k) => addon.removeFirst?.includes(k.kind)) : kinds;
}

/** The objects in deletion order: the addon's `removeFirst` kinds, then REMOVAL_ORDER's, the rest, REMOVED_LAST's. */
export function removalOrder<T extends { kind?: string | undefined }>(
  addon: AddonDefinition,
  objects: readonly T[],
): T[] {
  const first = addon.removeFirst ?? [];
  const rank = (kind: string): number => {
    if (first.includes(kind)) return first.indexOf(kind) - first.length - REMOVAL_ORDER.length;
    if (REMOVAL_ORDER.includes(kind)) return REMOVAL_ORDER.indexOf(kind) - REMOVAL_ORDER.length;
    return REMOVED_LAST.includes(kind) ? 1 + REMOVED_LAST.indexOf(kind) : 0;
  };
  return [...objects].sort((a, b) => rank(a.kind ?? '') - rank(b.kind ?? ''));
}

/** An object removal waits for, with what holds it: its finalizers, or that it was not deleted (again). */
export function holding(object: ClientObject): string {
  const { namespace, name, deletionTimestamp, finalizers = [] } = object.metadata ?? {};
  const what = `${object.kind ?? ''} ${namespace ? `${namespace}/` : ''}${name ?? ''}`;
  if (!deletionTimestamp) return `${what}: not deleted yet`;
  return finalizers.length > 0
    ? `${what}: waiting for its finalizers (${finalizers.join(', ')})`
    : `${what}: being deleted`;
}

/** Readiness of the addon's workloads; with `objects`, which of its objects are still there (removal). */
export async function addonStatus(
  credentials: TenantAdminCredentials,
  payload: AddonPayload,
  serviceToken: string,
  objects: boolean,
): Promise<AddonStatusAnswer> {
  const rendered = render(payload, serviceToken);
  const api = KubernetesObjectApi.makeApiClient(client(credentials));
  if (objects)
    return {
      workloads: [],
      missing: [],
      remaining: (await labelled(api, rendered.addon.name, kindsOf(rendered.objects))).map(key),
    };
  const kinds = kindsOf(rendered.objects).filter((k) => k.kind === 'Deployment' || k.kind === 'DaemonSet');
  const found = await labelled(api, rendered.addon.name, kinds);
  const workloads = found.map(workloadStatus);
  const present = new Set(found.map(key));
  const missing = rendered.objects
    .filter((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && !present.has(key(o)))
    .map(key);
  return { workloads, missing, remaining: [] };
}

interface WorkloadObject extends ClientObject {
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
  };
}

function workloadStatus(object: ClientObject): WorkloadStatus {
  const o = object as WorkloadObject;
  const observed = (o.status?.observedGeneration ?? 0) >= (o.metadata?.generation ?? 1);
  const base = { kind: o.kind!, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' };
  if (o.kind === 'Deployment') {
    const desired = o.spec?.replicas ?? 1;
    const ready = o.status?.readyReplicas ?? 0;
    return {
      ...base,
      desired,
      readyReplicas: ready,
      ready: observed && ready >= desired && (o.status?.updatedReplicas ?? 0) >= desired,
    };
  }
  const desired = o.status?.desiredNumberScheduled ?? 0;
  const ready = o.status?.numberReady ?? 0;
  return {
    ...base,
    desired,
    readyReplicas: ready,
    ready: observed && ready >= desired && (o.status?.updatedNumberScheduled ?? 0) >= desired,
  };
}

/**
 * The object as the client's model, which is what KubernetesObjectApi serializes from: the model
 * of a CRD names `x-kubernetes-preserve-unknown-fields`, `default`, `enum` and `$ref` of its schema
 * otherwise (`x_kubernetes_preserve_unknown_fields`…) and would drop them from wire JSON silently.
 */
function clientModel(object: KubernetesObject): ClientObject {
  if (object.kind !== 'CustomResourceDefinition') return object as ClientObject;
  return ObjectSerializer.deserialize(object, 'V1CustomResourceDefinition') as ClientObject;
}

const BUILT_IN_GROUPS = /^(v1|[a-z0-9]+\/v[0-9a-z]+|[a-z0-9.]+\.k8s\.io\/v[0-9a-z]+)$/;

/** Kinds of Kubernetes itself (`v1`, `apps/v1`, `*.k8s.io/…`), always served; the others come from CRDs. */
function isBuiltIn(apiVersion: string): boolean {
  return BUILT_IN_GROUPS.test(apiVersion);
}

/**
 * Waits until a CRD the addon applied is Established: until then its kind is not served, and the
 * custom resources after it in the addon (a KubeVirt resource) would be refused with 404.
 */
async function waitEstablished(api: KubernetesObjectApi, crd: KubernetesObject): Promise<void> {
  const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
  for (;;) {
    const read = await tenantCall(() =>
      api.read({ apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name } }),
    );
    const conditions =
      (read as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) {
      throw new ProviderUnavailableError(
        `the CustomResourceDefinition ${crd.metadata.name} is not Established ${CRD_ESTABLISHED_TIMEOUT_MS / 1000} s after it was applied; the tenant API may be overloaded`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function deleteObject(api: KubernetesObjectApi, object: ClientObject): Promise<void> {
  const target = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: {
      name: object.metadata?.name,
      ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
    },
  } as ClientObject;
  await tenantCall(async () => {
    try {
      await api.delete(target, undefined, undefined, undefined, undefined, 'Background');
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
    }
  });
}

function messageOf(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300);
    } catch {
      return body.slice(0, 300);
    }
  }
  return (
    (body as { message?: string } | undefined)?.message ?? (error as Error).message.split('\n')[0] ?? 'unknown error'
  );
}
