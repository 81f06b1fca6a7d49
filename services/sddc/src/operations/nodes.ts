/**
 * Work on the nodes of tenant clusters through their Kubernetes API: cordon, the pool's labels and
 * taints, the out-of-service taint of a fenced node, and drain through the eviction API, which
 * honours PodDisruptionBudgets.
 */
import { CoreV1Api, PolicyV1Api, type V1Node, type V1Pod, type V1Taint } from '@kubernetes/client-node';
import type { PoolScheduling } from '@cx/queue-contracts';
import type { TenantAdminCredentials } from '@cx/sm-contract';
import { client, tenantCall } from '../tenant-api.js';

/** Marks a node (un)schedulable; idempotent. */
export async function cordon(
  credentials: TenantAdminCredentials,
  nodeName: string,
  unschedulable = true,
): Promise<{ node: string; unschedulable: boolean }> {
  const api = client(credentials).makeApiClient(CoreV1Api);
  await tenantCall(async () => {
    for (let attempt = 1; ; attempt++) {
      const node = await api.readNode({ name: nodeName });
      if ((node.spec?.unschedulable ?? false) === unschedulable) return;
      node.spec = { ...node.spec, unschedulable };
      try {
        await api.replaceNode({ name: nodeName, body: node });
        return;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  });
  return { node: nodeName, unschedulable };
}

/** The taint that tells Kubernetes a node is shut down for good: pods and volumes move at once. */
export const OUT_OF_SERVICE_TAINT = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
} as const;

/**
 * Puts the out-of-service taint on a fenced node and deletes its pods at once (what the pod
 * garbage collector would do a while later), so that their controllers start them elsewhere; or
 * removes the taint. Only ever called after the node's power-off was verified. Idempotent; a node
 * that is gone needs nothing.
 */
export async function markOutOfService(
  credentials: TenantAdminCredentials,
  nodeName: string,
  outOfService: boolean,
): Promise<{ node: string; outOfService: boolean; podsDeleted: string[] }> {
  const api = client(credentials).makeApiClient(CoreV1Api);
  const podsDeleted: string[] = [];
  const present = await updateTaints(api, nodeName, (taints) => {
    const others = taints.filter((t) => t.key !== OUT_OF_SERVICE_TAINT.key);
    return outOfService ? [...others, { ...OUT_OF_SERVICE_TAINT }] : others;
  });
  if (present && outOfService) {
    const pods = (await tenantCall(() => api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` })))
      .items;
    for (const pod of pods) {
      const { name, namespace } = pod.metadata as { name: string; namespace: string };
      try {
        await api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
        podsDeleted.push(`${namespace}/${name}`);
      } catch (error) {
        if ((error as { code?: number }).code !== 404)
          await tenantCall(() => Promise.reject(error instanceof Error ? error : new Error(String(error))));
      }
    }
  }
  return { node: nodeName, outOfService: present && outOfService, podsDeleted };
}

/** Rewrites a node's taints (retrying on conflicts); false when the node does not exist. */
async function updateTaints(
  api: CoreV1Api,
  nodeName: string,
  change: (taints: V1Taint[]) => V1Taint[],
): Promise<boolean> {
  return updateNode(api, nodeName, (node) => {
    const before = node.spec?.taints ?? [];
    const after = change(before);
    if (JSON.stringify(after) !== JSON.stringify(before)) node.spec = { ...node.spec, taints: after };
  });
}

/** Read, change, replace — again on a conflict, and not at all when nothing changed; false when the node does not exist. */
async function updateNode(api: CoreV1Api, nodeName: string, change: (node: V1Node) => void): Promise<boolean> {
  return tenantCall(async () => {
    for (let attempt = 1; ; attempt++) {
      let node;
      try {
        node = await api.readNode({ name: nodeName });
      } catch (error) {
        if ((error as { code?: number }).code === 404) return false;
        throw error;
      }
      const before = JSON.stringify(node);
      change(node);
      if (JSON.stringify(node) === before) return true;
      try {
        await api.replaceNode({ name: nodeName, body: node });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  });
}

/**
 * Gives a node its pool's labels and taints: those the pool had before and no longer has come off,
 * the pool's are set; labels and taints from elsewhere (Kubernetes, users, cx's own) stay.
 */
export async function setScheduling(
  credentials: TenantAdminCredentials,
  nodeName: string,
  scheduling: PoolScheduling,
  previous: PoolScheduling,
): Promise<{ node: string; found: boolean }> {
  const api = client(credentials).makeApiClient(CoreV1Api);
  const same =
    (a: { key: string; effect: string }) =>
    (b: { key: string; effect: string }): boolean =>
      a.key === b.key && a.effect === b.effect;
  const found = await updateNode(api, nodeName, (node) => {
    const labels = { ...node.metadata?.labels };
    for (const key of Object.keys(previous.labels)) if (!(key in scheduling.labels)) delete labels[key];
    node.metadata = { ...node.metadata, labels: { ...labels, ...scheduling.labels } };
    const before = node.spec?.taints ?? [];
    const kept = before.filter((t) => !previous.taints.some(same(t)) && !scheduling.taints.some(same(t)));
    const taints = [
      ...kept,
      ...scheduling.taints.map((t) => ({
        key: t.key,
        effect: t.effect,
        ...(t.value !== undefined ? { value: t.value } : {}),
      })),
    ];
    if (JSON.stringify(taints) !== JSON.stringify(before)) node.spec = { ...node.spec, taints };
  });
  return { node: nodeName, found };
}

/**
 * One pass of a drain: asks the eviction API to evict every pod of the node that a drain moves
 * (not DaemonSet pods, not static pods), and answers what is left and which PodDisruptionBudgets
 * refused an eviction. Call it again until nothing is left; the caller owns the deadline.
 */
export async function drainOnce(
  credentials: TenantAdminCredentials,
  nodeName: string,
): Promise<{ node: string; remaining: number; blockedBy: string[]; pods: string[] }> {
  const config = client(credentials);
  const core = config.makeApiClient(CoreV1Api);
  const policy = config.makeApiClient(PolicyV1Api);
  const pods = (
    await tenantCall(() => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }))
  ).items.filter(movable);
  const blockedBy = new Set<string>();
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue; // already leaving
    const { name, namespace } = pod.metadata as { name: string; namespace: string };
    try {
      await core.createNamespacedPodEviction({
        name,
        namespace,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      });
    } catch (error) {
      const status = (error as { code?: number }).code;
      if (status === 404) continue;
      if (status !== 429)
        await tenantCall(() => Promise.reject(error instanceof Error ? error : new Error(String(error))));
      // 429: a PodDisruptionBudget forbids it now; name the budgets that select this pod.
      const budgets = (await tenantCall(() => policy.listNamespacedPodDisruptionBudget({ namespace }))).items;
      for (const budget of budgets) {
        const selector = budget.spec?.selector?.matchLabels ?? {};
        if (Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v))
          blockedBy.add(`${namespace}/${budget.metadata?.name ?? '?'}`);
      }
      if (blockedBy.size === 0) blockedBy.add(`${namespace}/${name} (eviction refused: ${status})`);
    }
  }
  const left = (
    await tenantCall(() => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }))
  ).items.filter(movable);
  return {
    node: nodeName,
    remaining: left.length,
    blockedBy: [...blockedBy].sort(),
    pods: left.map(
      (p) =>
        `${p.metadata?.namespace}/${p.metadata?.name} ${p.metadata?.deletionTimestamp ? 'terminating' : (p.status?.phase ?? 'Unknown')}`,
    ),
  };
}

/** Pods a drain moves: not those of DaemonSets (they belong to every node) nor static (mirror) pods. */
function movable(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return false;
  return !(pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'DaemonSet');
}
