/**
 * What `cx apply` and `cx diff` would change: the plan that takes a cluster from what the API
 * answers to what a file says, as a list of calls to the existing endpoints (create, upgrade,
 * scale, add / delete a pool, a pool's labels and taints, install / remove an addon). Pure: no I/O,
 * so that the plan is tested on its own; commands/apply.ts reads the files and runs it.
 *
 * The file is what `cx get cluster NAME -o yaml` prints (read-only fields ignored), plus an
 * optional `addons:` list. A field the file leaves out is not managed; a pool it leaves out is
 * deleted; addons are managed only when `addons:` is there. A difference no endpoint can converge
 * (the provider, a pool's machine size, a pool's own health policy…) is listed as refused, and apply then
 * changes nothing. What acts at creation only and a cluster does not answer back (`template`,
 * `hostCleanup`, the control plane's VIP settings) is sent on create and not compared afterwards.
 */
import { isDeepStrictEqual } from 'node:util';
import type {
  Cluster,
  ClusterAddon,
  ClusterCreateBody,
  HealthPolicy,
  NodePoolRequest,
  Taint,
  TemplateAddon,
} from '@cx/api-schemas';
import { fromClusterDocument } from './cluster-request.js';
import { UsageError } from './exit-codes.js';
import { labelsText, taintsText } from './resources.js';

/** What a file asks for: a cluster request, and the addons it should have. */
export interface DesiredCluster {
  request: ClusterCreateBody;
  /** Absent: addons are not managed. */
  addons?: TemplateAddon[];
}

/**
 * A file's document as a desired cluster: the server's fields dropped (as `cx create -f` does), the
 * `addons:` list taken apart (an existing cluster's addons are compared with it; a new one gets
 * them in its create request).
 */
export function desiredCluster(document: Record<string, unknown>, source: string): DesiredCluster {
  const { addons, ...rest } = fromClusterDocument(document);
  if (typeof rest['name'] !== 'string' || rest['name'] === '')
    throw new UsageError(`${source}: a cluster without name:`, 'as cx get cluster NAME -o yaml prints it');
  if (
    addons !== undefined &&
    (!Array.isArray(addons) || addons.some((a) => typeof (a as TemplateAddon)?.name !== 'string'))
  )
    throw new UsageError(`${source}: addons: must be a list of {name, settings}`, 'e.g. addons: [{name: dashboard}]');
  return {
    request: rest as unknown as ClusterCreateBody,
    ...(addons !== undefined ? { addons: addons as TemplateAddon[] } : {}),
  };
}

export type Change =
  | { kind: 'create'; request: ClusterCreateBody }
  | { kind: 'upgrade'; from: string; to: string }
  | { kind: 'scale'; pool: string; from: number; to: number }
  | { kind: 'schedule'; pool: string; labels: Record<string, string>; taints: Taint[]; was: string; becomes: string }
  | { kind: 'add-pool'; pool: NodePoolRequest }
  | { kind: 'delete-pool'; pool: string; count: number }
  | { kind: 'install-addon'; addon: TemplateAddon; why: 'missing' | 'settings differ' | 'failed' }
  | { kind: 'remove-addon'; name: string }
  /** The cluster's health policy, replaced whole (PUT /clusters/{id}/health-policy; no workflow). */
  | { kind: 'health'; policy: HealthPolicy; changed: string[] };

export interface Plan {
  /** The cluster's name, as the file gives it. */
  name: string;
  changes: Change[];
  /** Differences no endpoint converges: apply changes nothing while there is one. */
  refused: string[];
}

const show = (value: unknown): string => (value === undefined ? '<unset>' : JSON.stringify(value));
const scheduling = (labels: Record<string, string> | undefined, taints: Taint[] | undefined): string =>
  `labels ${labelsText(labels) || '<none>'}, taints ${taintsText(taints) || '<none>'}`;

/** `a < b` for MAJOR.MINOR.PATCH. */
function older(a: string, b: string): boolean {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return (x![i] ?? 0) < (y![i] ?? 0);
  return false;
}

/**
 * The plan from `current` (undefined: the cluster does not exist) to `desired`. `currentAddons` is
 * the cluster's addons (only read when the file manages them). `resourceGroupId` is the file's
 * resource group resolved to an id (undefined when it names none).
 */
export function planApply(
  desired: DesiredCluster,
  current: Cluster | undefined,
  currentAddons: ClusterAddon[] = [],
  resourceGroupId?: string,
): Plan {
  const want = desired.request;
  const plan: Plan = { name: want.name, changes: [], refused: [] };
  if (!current) {
    // The addons go in the create request: the create workflow installs them before the cluster is
    // Ready (a pod network addon before the nodes are awaited, which they would never be without it).
    const addons = desired.addons?.length ? { addons: desired.addons } : {};
    plan.changes.push({ kind: 'create', request: { ...want, ...addons } });
    return plan;
  }
  const refuse = (field: string, from: unknown, to: unknown, why: string): void =>
    void plan.refused.push(`${field} ${show(from)} → ${show(to)}: ${why}`);

  if (want.provider !== undefined && want.provider !== current.provider)
    refuse('provider', current.provider, want.provider, 'a cluster does not change provider; create a new one');
  if (resourceGroupId !== undefined && resourceGroupId !== current.resourceGroupId)
    refuse(
      'resourceGroup',
      current.resourceGroupId,
      resourceGroupId,
      'a cluster does not move between resource groups',
    );

  if (want.kubernetesVersion !== undefined && want.kubernetesVersion !== current.kubernetesVersion) {
    if (older(want.kubernetesVersion, current.kubernetesVersion))
      refuse('kubernetesVersion', current.kubernetesVersion, want.kubernetesVersion, 'Kubernetes is not downgraded');
    else plan.changes.push({ kind: 'upgrade', from: current.kubernetesVersion, to: want.kubernetesVersion });
  }

  const cp = want.controlPlane;
  if (cp) {
    for (const key of ['vcpus', 'memoryMiB', 'schedulable'] as const)
      if (cp[key] !== undefined && cp[key] !== current.controlPlane[key])
        refuse(`controlPlane.${key}`, current.controlPlane[key], cp[key], 'set when the cluster is created');
    if (cp.count !== undefined && cp.count !== current.controlPlane.count)
      plan.changes.push({ kind: 'scale', pool: 'control-plane', from: current.controlPlane.count, to: cp.count });
  }

  if (want.health) {
    const have = current.health as Record<string, unknown>;
    const changed = Object.entries(want.health)
      .filter(([key, value]) => !isDeepStrictEqual(value, have[key]))
      .map(([key, value]) => `${key} ${show(have[key])} → ${show(value)}`);
    // What the cluster has, with the file's fields over it: fields the file leaves out stay as they are.
    if (changed.length > 0)
      plan.changes.push({ kind: 'health', policy: { ...current.health, ...want.health }, changed });
  }

  // Pools: each change is its own workflow, so schedules first (no machine moves), then counts, new pools, deleted pools.
  const counts: Change[] = [];
  const wanted = want.nodePools ?? [];
  for (const pool of wanted) {
    const have = current.nodePools.find((p) => p.name === pool.name);
    if (!have) {
      plan.changes.push({ kind: 'add-pool', pool });
      continue;
    }
    for (const key of ['vcpus', 'memoryMiB'] as const)
      if (pool[key] !== undefined && pool[key] !== have[key])
        refuse(
          `nodePools.${pool.name}.${key}`,
          have[key],
          pool[key],
          'a pool’s machine size is fixed; add a new pool, then delete this one',
        );
    if (pool.health !== undefined && !isDeepStrictEqual(pool.health, have.health ?? {}))
      refuse(
        `nodePools.${pool.name}.health`,
        have.health,
        pool.health,
        'the API has no route to change a pool’s health policy',
      );
    const labels = pool.labels ?? have.labels ?? {};
    const taints = pool.taints ?? have.taints ?? [];
    if (!isDeepStrictEqual(labels, have.labels ?? {}) || !isDeepStrictEqual(taints, have.taints ?? []))
      plan.changes.push({
        kind: 'schedule',
        pool: pool.name,
        labels,
        taints,
        was: scheduling(have.labels, have.taints),
        becomes: scheduling(labels, taints),
      });
    if (pool.count !== have.count) counts.push({ kind: 'scale', pool: pool.name, from: have.count, to: pool.count });
  }
  // Adds were pushed in the file's order above; put the count changes before them.
  const adds = plan.changes.filter((c) => c.kind === 'add-pool');
  plan.changes = [...plan.changes.filter((c) => c.kind !== 'add-pool'), ...counts, ...adds];
  if (want.nodePools !== undefined)
    for (const have of current.nodePools)
      if (!wanted.some((p) => p.name === have.name))
        plan.changes.push({ kind: 'delete-pool', pool: have.name, count: have.count });

  if (desired.addons) {
    for (const have of currentAddons)
      if (!desired.addons.some((a) => a.name === have.name))
        plan.changes.push({ kind: 'remove-addon', name: have.name });
    for (const addon of desired.addons) {
      const have = currentAddons.find((a) => a.name === addon.name);
      if (!have) plan.changes.push({ kind: 'install-addon', addon, why: 'missing' });
      else if (have.status === 'Failed') plan.changes.push({ kind: 'install-addon', addon, why: 'failed' });
      else if (!isDeepStrictEqual(visibleSettings(addon.settings, have), have.settings))
        plan.changes.push({ kind: 'install-addon', addon, why: 'settings differ' });
    }
  }
  return plan;
}

/** The settings as the API answers them: secret ones are never answered, so they are not compared. */
function visibleSettings(settings: Record<string, unknown> | undefined, have: ClusterAddon): Record<string, unknown> {
  const secret = new Set(have.secretSettings ?? []);
  return Object.fromEntries(Object.entries(settings ?? {}).filter(([key]) => !secret.has(key)));
}

/** One line per change, kubectl-diff style signs: `+` created, `~` changed, `-` deleted, `!` refused. */
export function renderPlan(plan: Plan): string {
  const head = `cluster/${plan.name}`;
  if (plan.changes.length === 0 && plan.refused.length === 0) return `${head} unchanged\n`;
  const lines = plan.changes.map(describeChange);
  const refused = plan.refused.map((r) => `! ${r}`);
  const count = `${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}${plan.refused.length ? `, ${plan.refused.length} refused` : ''}`;
  return `${head}: ${count}\n${[...lines, ...refused].map((l) => `  ${l}`).join('\n')}\n`;
}

/** One change as a line of the plan. */
export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'create': {
      const r = change.request;
      const pools = (r.nodePools ?? []).map((p) => `${p.name}=${p.count}`).join(',') || 'none';
      const what = r.template
        ? `from template ${String(r.template)}`
        : `${r.provider} ${r.kubernetesVersion}, control plane ${r.controlPlane?.count}, pools ${pools}`;
      const addons = r.addons?.length ? `, addons ${r.addons.map((a) => a.name).join(',')}` : '';
      return `+ cluster ${r.name} (create: ${what}${addons})`;
    }
    case 'upgrade':
      return `~ kubernetesVersion ${change.from} → ${change.to} (upgrade)`;
    case 'scale':
      return `~ pool ${change.pool} count ${change.from} → ${change.to} (scale)`;
    case 'schedule':
      return `~ pool ${change.pool} ${change.was} → ${change.becomes} (update its nodes)`;
    case 'add-pool':
      return `+ pool ${change.pool.name} count ${change.pool.count}${change.pool.labels ? ` labels ${labelsText(change.pool.labels)}` : ''} (add)`;
    case 'delete-pool':
      return `- pool ${change.pool} count ${change.count} (delete: its machines are drained and deleted)`;
    case 'install-addon':
      return `${change.why === 'missing' ? '+' : '~'} addon ${change.addon.name} (install${change.why === 'missing' ? '' : ` again: ${change.why}`})`;
    case 'remove-addon':
      return `- addon ${change.name} (remove)`;
    case 'health':
      return `~ health ${change.changed.join(', ')} (no workflow)`;
  }
}
