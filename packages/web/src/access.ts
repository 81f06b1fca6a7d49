/**
 * What the signed-in person may do, from their own grants (`GET /api/v1/grants` answers yours):
 * the console shows only the actions a role allows. wfm checks every call regardless; this only
 * keeps out of sight what would be refused.
 */
import type { Cluster, Grant, Principal, Role } from '@cx/api-schemas';

const rank: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Access {
  /** The strongest role that applies to the cluster (its own, its resource group's, global), if any. */
  roleOn(cluster: Pick<Cluster, 'id' | 'resourceGroupId'>): Role | undefined;
  /** The person's global role, if any (`admin` for an administrator). */
  global: Role | undefined;
  /** Whether the person may create clusters somewhere: operator globally or on some resource group. */
  mayCreate: boolean;
  /** Resource groups the person is operator (or admin) on. */
  operatorGroups: Set<string>;
}

export function accessOf(user: Principal, grants: Grant[]): Access {
  const mine = grants.filter(
    (g) =>
      (g.subject.kind === 'user' && g.subject.name === user.username) ||
      (g.subject.kind === 'group' && user.groups.includes(g.subject.name)),
  );
  const best = (roles: Role[]): Role | undefined =>
    roles.reduce<Role | undefined>((a, r) => (!a || rank[r] > rank[a] ? r : a), undefined);
  const globalRole =
    user.role === 'admin' ? 'admin' : best(mine.filter((g) => g.object.kind === 'global').map((g) => g.role));
  const operatorGroups = new Set(
    mine
      .filter((g) => g.object.kind === 'resource-group' && rank[g.role] >= rank.operator && g.object.id)
      .map((g) => g.object.id!),
  );
  return {
    global: globalRole,
    roleOn: (cluster) =>
      best([
        ...(globalRole ? [globalRole] : []),
        ...mine
          .filter(
            (g) =>
              (g.object.kind === 'cluster' && g.object.id === cluster.id) ||
              (g.object.kind === 'resource-group' && g.object.id === cluster.resourceGroupId),
          )
          .map((g) => g.role),
      ]),
    mayCreate: (globalRole !== undefined && rank[globalRole] >= rank.operator) || operatorGroups.size > 0,
    operatorGroups,
  };
}

export const mayOperate = (role: Role | undefined): boolean => role !== undefined && rank[role] >= rank.operator;
