/**
 * Every authorization decision of cx, in one place. A principal's role on an object is the highest
 * role granted to the user or to any of their groups on that object or on what contains it
 * (global ⊃ resource group ⊃ cluster); the admin persona holds admin globally. Callers that may
 * not even view an object are told it does not exist (404), so that ids cannot be probed; callers
 * that may view it but not do this are refused (403).
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import {
  ROLES,
  type AccessObject,
  type AccessRequirement,
  type Grant,
  type GrantCreateRequest,
  type Page,
  type Role,
} from '@cx/api-schemas';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { afterCursor, encodeCursor } from '../db/pagination.js';
import { withPrepared, type PreparedSql } from '../db/prepared.js';

interface GrantRow {
  id: string;
  subject_kind: 'user' | 'group';
  subject_name: string;
  subject_key: string;
  object_kind: 'global' | 'resource-group' | 'cluster';
  object_id: string;
  role: Role;
  created_by: string;
  created_at: string;
}

/** Who is asking: enough to match grants. */
export interface Subject {
  id: string;
  username: string;
  role: 'admin' | 'user';
  groups: string[];
}

/** An object placed in the hierarchy: the cluster and resource group whose grants apply. */
interface Placement {
  clusterId: string | null;
  resourceGroupId: string | null;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
/** Keeps each `where … in (…)` well under every database's parameter limit. */
const IN_CHUNK = 500;

/** What a subject may see: everything, or the clusters and resource groups their grants name. */
export type Visibility = { all: true } | { all: false; clusterIds: string[]; resourceGroupIds: string[] };

export class AccessControl {
  constructor(private readonly db: Knex) {}

  /** The user with the groups grants are matched against (local groups and those of the last external login). */
  async subject(userId: string): Promise<Subject> {
    // Read on every authorized call: prepared statements, not queries knex builds each time.
    return withDatabase(() =>
      withPrepared(this.db, async (sql) => {
        const user = await sql.first<{
          id: string;
          username: string;
          role: 'admin' | 'user';
          external_groups: string | null;
        }>('SELECT `id`, `username`, `role`, `external_groups` FROM `users` WHERE `id` = ?', [userId]);
        if (!user) throw new NotFoundError(`user ${userId} does not exist`);
        const local = await sql.all<{ name: string }>(
          'SELECT `groups`.`name` FROM `group_members` INNER JOIN `groups` ON `groups`.`id` = `group_members`.`group_id` WHERE `group_members`.`user_id` = ?',
          [userId],
        );
        const external = user.external_groups ? (JSON.parse(user.external_groups) as string[]) : [];
        return {
          id: user.id,
          username: user.username,
          role: user.role,
          groups: [...local.map((g) => g.name), ...external],
        };
      }),
    );
  }

  /** Allows or throws: 404 when the caller may not view a non-global object, 403 when their role is too low. */
  async check(subject: Subject, requirement: AccessRequirement): Promise<void> {
    const role = await this.roleOn(subject, requirement.object);
    if (role !== null && RANK[role] >= RANK[requirement.role]) return;
    const object = requirement.object;
    if (object.kind !== 'global' && role === null)
      throw new NotFoundError(`${object.kind} ${object.id} does not exist or you may not see it`);
    throw new NotAllowedError(
      `this needs the ${requirement.role} role on ${describe(object)}; you have ${role ?? 'none'}. Ask an admin for a grant`,
    );
  }

  /** The caller's role on an object, or null. */
  async roleOn(subject: Subject, object: AccessObject): Promise<Role | null> {
    const grants = await this.grantsOf(subject);
    if (object.kind === 'pair') {
      // A pair acts on two clusters: the caller's role on it is the lower of their roles on the two.
      const pair = (await withDatabase(() =>
        this.db('pairs').where({ id: object.id }).first('cluster_a', 'cluster_b'),
      )) as { cluster_a: string; cluster_b: string } | undefined;
      const sides = pair ? [pair.cluster_a, pair.cluster_b] : [];
      const roles = await Promise.all(
        sides.map(async (id) => this.roleIn(grants, subject, await this.place({ kind: 'cluster', id }))),
      );
      if (!pair) return this.roleIn(grants, subject, { clusterId: null, resourceGroupId: null });
      return roles.some((r) => r === null) ? null : roles.reduce((low, r) => (RANK[r!] < RANK[low!] ? r : low));
    }
    return this.roleIn(grants, subject, await this.place(object));
  }

  /** What lists may show: everything, or the clusters and resource groups the caller holds a grant on. */
  async visibility(subject: Subject): Promise<Visibility> {
    const grants = await this.grantsOf(subject);
    if (this.roleIn(grants, subject, { clusterId: null, resourceGroupId: null }) !== null) return { all: true };
    return {
      all: false,
      clusterIds: grants.filter((g) => g.object_kind === 'cluster').map((g) => g.object_id),
      resourceGroupIds: grants.filter((g) => g.object_kind === 'resource-group').map((g) => g.object_id),
    };
  }

  // ---- grants -----------------------------------------------------------------------------------

  /** Creates a grant; the caller must hold admin on its object (checked by the route), so nobody grants more than they hold. */
  async createGrant(actor: Subject, request: GrantCreateRequest): Promise<Grant> {
    const object = await this.normalizeObject(request.object);
    const row: GrantRow = {
      id: uuidv7(),
      subject_kind: request.subject.kind,
      subject_name: request.subject.name,
      subject_key: request.subject.name.toLowerCase(),
      object_kind: object.kind,
      object_id: object.id ?? '',
      role: request.role,
      created_by: actor.username,
      created_at: nowIso(),
    };
    try {
      await withDatabase(() => this.db('grants').insert(row));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = (await this.db('grants')
        .where({
          subject_kind: row.subject_kind,
          subject_key: row.subject_key,
          object_kind: row.object_kind,
          object_id: row.object_id,
        })
        .first()) as GrantRow;
      throw new ConflictError(
        `${row.subject_kind} ${row.subject_name} already has a grant on ${describe(requestObject(row))} (role ${existing.role}); delete it first to change the role`,
        'CX_CONFLICT',
        { details: { grantId: existing.id } },
      );
    }
    return toGrant(row);
  }

  async deleteGrant(id: string): Promise<void> {
    const deleted = await withDatabase(() => this.db('grants').where({ id }).delete());
    if (deleted === 0) throw new NotFoundError(`grant ${id} does not exist`);
  }

  /** Grants the caller may see: all for a global admin, else those on objects they administer and their own. */
  async listGrants(
    subject: Subject,
    limit: number,
    cursor: string | undefined,
    filter: { subject?: string; objectKind?: string; objectId?: string },
  ): Promise<Page<Grant>> {
    const after = afterCursor(cursor);
    const mine = await this.grantsOf(subject);
    const ownIds = new Set(mine.map((g) => g.id));
    const items: Grant[] = [];
    let last = after;
    // Keyset pages over all grants, filtered here: the visible ones may be sparse.
    for (;;) {
      const query = this.db<GrantRow>('grants').orderBy('id').limit(200);
      if (last) void query.where('id', '>', last);
      if (filter.subject) void query.where('subject_key', filter.subject.toLowerCase());
      if (filter.objectKind) void query.where('object_kind', filter.objectKind);
      if (filter.objectId) void query.where('object_id', filter.objectId);
      const rows = (await withDatabase(() => query)) as GrantRow[];
      for (const row of rows) {
        last = row.id;
        const role = this.roleIn(
          mine,
          subject,
          await this.place(requestObject(row)).catch(() => ({ clusterId: null, resourceGroupId: null })),
        );
        if (ownIds.has(row.id) || role === 'admin') items.push(toGrant(row));
        if (items.length > limit)
          return { items: items.slice(0, limit), nextCursor: encodeCursor(items[limit - 1]!.id) };
      }
      if (rows.length < 200) return { items, nextCursor: null };
    }
  }

  // ---- internals ----------------------------------------------------------------------------------

  private async grantsOf(subject: Subject): Promise<GrantRow[]> {
    const keys = [...new Set(subject.groups.map((g) => g.toLowerCase()))];
    return withDatabase(async () => {
      const rows = await withPrepared(this.db, (sql) =>
        sql.all<GrantRow>('SELECT * FROM `grants` WHERE `subject_kind` = ? AND `subject_key` = ?', [
          'user',
          subject.username.toLowerCase(),
        ]),
      );
      for (let i = 0; i < keys.length; i += IN_CHUNK) {
        rows.push(
          ...((await this.db<GrantRow>('grants')
            .where('subject_kind', 'group')
            .whereIn('subject_key', keys.slice(i, i + IN_CHUNK))) as GrantRow[]),
        );
      }
      return rows;
    });
  }

  private roleIn(grants: GrantRow[], subject: Subject, placement: Placement): Role | null {
    let best = subject.role === 'admin' ? 3 : 0;
    for (const grant of grants) {
      const applies =
        grant.object_kind === 'global' ||
        (grant.object_kind === 'resource-group' && grant.object_id === placement.resourceGroupId) ||
        (grant.object_kind === 'cluster' && grant.object_id === placement.clusterId);
      if (applies) best = Math.max(best, RANK[grant.role]);
    }
    return best === 0 ? null : ROLES[best - 1]!;
  }

  /** Where an object sits; unknown objects are placed nowhere (only global grants apply to them). */
  private async place(object: AccessObject): Promise<Placement> {
    return withDatabase(async () => {
      switch (object.kind) {
        case 'global':
          return { clusterId: null, resourceGroupId: null };
        case 'cluster': {
          const cluster = await withPrepared(this.db, (sql) =>
            sql.first<{ resource_group_id: string | null }>(
              'SELECT `resource_group_id` FROM `clusters` WHERE `id` = ?',
              [object.id],
            ),
          );
          return { clusterId: object.id, resourceGroupId: cluster?.resource_group_id ?? null };
        }
        case 'workflow': {
          const run = (await this.db('workflow_runs').where({ id: object.id }).first('cluster_id')) as
            { cluster_id: string } | undefined;
          return run ? this.place({ kind: 'cluster', id: run.cluster_id }) : { clusterId: null, resourceGroupId: null };
        }
        case 'ha-config': {
          const config = (await this.db('ha_configs').where({ id: object.id }).first('cluster_id')) as
            { cluster_id: string } | undefined;
          return config
            ? this.place({ kind: 'cluster', id: config.cluster_id })
            : { clusterId: null, resourceGroupId: null };
        }
        case 'resource-group': {
          const group = (await this.db('resource_groups')
            .where({ id: object.id })
            .orWhere({ name: object.id })
            .first('id')) as { id: string } | undefined;
          return { clusterId: null, resourceGroupId: group?.id ?? null };
        }
        // Placed by its two clusters in roleOn; here only global grants apply.
        case 'pair':
          return { clusterId: null, resourceGroupId: null };
        case 'grant': {
          const grant = (await this.db('grants').where({ id: object.id }).first()) as GrantRow | undefined;
          return grant ? this.place(requestObject(grant)) : { clusterId: null, resourceGroupId: null };
        }
      }
    });
  }

  /** Checks that a grant's object exists and names a resource group by id. */
  private async normalizeObject(
    object: GrantCreateRequest['object'],
  ): Promise<{ kind: GrantRow['object_kind']; id?: string }> {
    if (object.kind === 'global') {
      if (object.id !== undefined)
        throw new InputError('a global grant has no object id', [
          { field: 'body.object.id', message: 'must be absent for kind global' },
        ]);
      return { kind: 'global' };
    }
    if (object.id === undefined)
      throw new InputError(`a ${object.kind} grant needs the object's id`, [
        { field: 'body.object.id', message: 'is required' },
      ]);
    const table = object.kind === 'cluster' ? 'clusters' : 'resource_groups';
    const row = (await withDatabase(() =>
      this.db(table).where({ id: object.id }).orWhere({ name: object.id }).first('id'),
    )) as { id: string } | undefined;
    if (!row) throw new NotFoundError(`${object.kind} ${object.id} does not exist`);
    return { kind: object.kind, id: row.id };
  }
}

function requestObject(row: GrantRow): AccessObject {
  return row.object_kind === 'global' ? { kind: 'global' } : { kind: row.object_kind, id: row.object_id };
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    subject: { kind: row.subject_kind, name: row.subject_name },
    object: row.object_kind === 'global' ? { kind: 'global' } : { kind: row.object_kind, id: row.object_id },
    role: row.role,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

function describe(object: AccessObject): string {
  return object.kind === 'global' ? 'cx (global)' : `${object.kind} ${object.id}`;
}

/** Removes the grants on an object that is being deleted, in the transaction that deletes it. */
export async function deleteGrantsOn(sql: PreparedSql, kind: 'cluster' | 'resource-group', id: string): Promise<void> {
  await sql.run('DELETE FROM `grants` WHERE `object_kind` = ? AND `object_id` = ?', [kind, id]);
}
