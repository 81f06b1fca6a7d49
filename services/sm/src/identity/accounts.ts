/**
 * Users and local groups. Local users carry an argon2id hash; LDAP and OIDC users are created or
 * refreshed at each login from what the directory or identity provider says, with their groups.
 * A name belongs to one source: an LDAP login cannot take over a local account of the same name.
 */
import { hash, verify } from '@node-rs/argon2';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { Group, GroupCreateRequest, Page, User, UserCreateRequest, UserPatchRequest } from '@cx/api-schemas';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { isUniqueViolation, nameTaken, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';

export interface UserRow {
  id: string;
  username: string;
  source: 'local' | 'ldap' | 'oidc';
  role: 'admin' | 'user';
  password_hash: string | null;
  disabled: number | boolean;
  external_id: string | null;
  email: string | null;
  display_name: string | null;
  external_groups: string | null;
  last_login_at: string | null;
  /** Access tokens issued before this are refused (a password change or reset ended them)… */
  sessions_valid_from?: string | null;
  /** …except the session (jti) that changed the password. */
  session_kept?: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane). */
const ARGON2 = {
  algorithm: 2 /* Algorithm.Argon2id (an ambient const enum) */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);
export const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
  verify(passwordHash, password);
export const isDisabled = (row: Pick<UserRow, 'disabled'>): boolean => row.disabled === true || row.disabled === 1;

export class Accounts {
  constructor(private readonly db: Knex) {}

  async byId(id: string): Promise<UserRow | undefined> {
    return withDatabase(() => this.db<UserRow>('users').where({ id }).first()) as Promise<UserRow | undefined>;
  }

  async byName(username: string): Promise<UserRow | undefined> {
    return withDatabase(() => this.db<UserRow>('users').where({ username }).first()) as Promise<UserRow | undefined>;
  }

  async list(limit: number, cursor: string | undefined): Promise<Page<User>> {
    const { rows, nextCursor } = await keysetPage<UserRow>(this.db('users'), limit, cursor);
    const groups = await this.localGroupsOf(rows.map((r) => r.id));
    return { items: rows.map((r) => toUser(r, groups.get(r.id) ?? [])), nextCursor };
  }

  async get(id: string): Promise<User> {
    const row = await this.byId(id);
    if (!row) throw new NotFoundError(`user ${id} does not exist`);
    return toUser(row, (await this.localGroupsOf([id])).get(id) ?? []);
  }

  async create(request: UserCreateRequest): Promise<User> {
    const now = nowIso();
    const row = {
      id: uuidv7(),
      username: request.username,
      source: 'local',
      role: request.role,
      password_hash: await hashPassword(request.password),
      disabled: false,
      email: request.email ?? null,
      display_name: request.displayName ?? null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    try {
      await withDatabase(() => this.db('users').insert(row));
    } catch (error) {
      throw nameTaken(error, 'a user', request.username, 'body.username');
    }
    return this.get(row.id);
  }

  /** Admin changes: disable / enable, persona, password reset (local users). Refuses to leave cx without an enabled admin. */
  async patch(id: string, patch: UserPatchRequest): Promise<User> {
    const row = await this.byId(id);
    if (!row) throw new NotFoundError(`user ${id} does not exist`);
    if (patch.password !== undefined && row.source !== 'local')
      throw new InputError(
        `${row.username} is a ${row.source} user; change the password in the ${row.source === 'ldap' ? 'directory' : 'identity provider'}`,
        [{ field: 'body.password', message: 'only for local users' }],
      );
    const changes: Record<string, unknown> = { updated_at: nowIso(), version: row.version + 1 };
    if (patch.disabled !== undefined) changes['disabled'] = patch.disabled;
    if (patch.role !== undefined) changes['role'] = patch.role;
    // A reset ends every session of the user.
    if (patch.password !== undefined)
      Object.assign(changes, {
        password_hash: await hashPassword(patch.password),
        sessions_valid_from: nowIso(),
        session_kept: null,
      });
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const updated = await trx('users').where({ id, version: row.version }).update(changes);
        if (updated === 0)
          throw new ConflictError(`user ${row.username} changed concurrently; retry`, 'CX_VERSION_CONFLICT');
        await this.assertAnAdminRemains(trx);
      }),
    );
    return this.get(id);
  }

  /**
   * Deletes the user with the grants that name them, so that a later user of the same name (local,
   * LDAP or OIDC) starts with none; answers how many grants went.
   */
  async delete(id: string): Promise<{ username: string; grantsRemoved: number }> {
    return withDatabase(() =>
      this.db.transaction(async (trx) => {
        const row = (await trx('users').where({ id }).first('username')) as { username: string } | undefined;
        if (!row) throw new NotFoundError(`user ${id} does not exist`);
        await trx('users').where({ id }).delete();
        await this.assertAnAdminRemains(trx);
        return { username: row.username, grantsRemoved: await deleteGrantsOfUser(trx, row.username) };
      }),
    );
  }

  /** Changes the user's password and ends their other sessions (all but `keepSession`, the jti of the one asking). */
  async changeOwnPassword(
    id: string,
    currentPassword: string,
    newPassword: string,
    keepSession: string | null,
  ): Promise<void> {
    const row = await this.byId(id);
    if (!row) throw new NotFoundError(`user ${id} does not exist`);
    if (row.source !== 'local' || !row.password_hash)
      throw new InputError(`you are a ${row.source} user; change your password where your account lives`);
    if (!(await verifyPassword(row.password_hash, currentPassword)))
      throw new AuthenticationError('the current password is wrong', 'CX_LOGIN_FAILED');
    const passwordHash = await hashPassword(newPassword);
    await withDatabase(() =>
      this.db('users')
        .where({ id })
        .update({
          password_hash: passwordHash,
          sessions_valid_from: nowIso(),
          session_kept: keepSession,
          updated_at: nowIso(),
          version: row.version + 1,
        }),
    );
  }

  /** Creates or refreshes an LDAP / OIDC user after its login; refuses a name held by another source. */
  async upsertExternal(
    source: 'ldap' | 'oidc',
    identity: {
      externalId: string;
      username: string;
      email: string | null;
      displayName: string | null;
      groups: string[];
    },
  ): Promise<UserRow> {
    const now = nowIso();
    const values = {
      external_id: identity.externalId,
      email: identity.email,
      display_name: identity.displayName,
      external_groups: JSON.stringify(identity.groups),
      last_login_at: now,
      updated_at: now,
    };
    return withDatabase(async () => {
      const existing = await this.byName(identity.username);
      if (existing && existing.source !== source) {
        throw new ConflictError(
          `the name ${identity.username} belongs to a ${existing.source} user of cx; ask an admin to rename or delete it`,
          'CX_NAME_TAKEN',
        );
      }
      if (existing && existing.external_id && existing.external_id !== identity.externalId) {
        // Another person under a name cx knew (a directory entry deleted and created again): they get
        // none of what the previous one was given.
        await this.db.transaction(async (trx) => {
          await deleteGrantsOfUser(trx, existing.username);
          await trx('group_members').where({ user_id: existing.id }).delete();
          await trx('api_tokens').where({ user_id: existing.id }).delete();
          await trx('users')
            .where({ id: existing.id })
            .update({
              ...values,
              role: 'user',
              sessions_valid_from: now,
              session_kept: null,
              version: existing.version + 1,
            });
        });
      } else if (existing) {
        await this.db('users')
          .where({ id: existing.id })
          .update({ ...values, version: existing.version + 1 });
      } else {
        try {
          await this.db('users').insert({
            id: uuidv7(),
            username: identity.username,
            source,
            role: 'user',
            password_hash: null,
            disabled: false,
            created_at: now,
            version: 1,
            ...values,
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error; // a concurrent first login of the same user: theirs stands
        }
      }
      return (await this.byName(identity.username))!;
    });
  }

  async touchLogin(id: string): Promise<void> {
    await withDatabase(() => this.db('users').where({ id }).update({ last_login_at: nowIso() }));
  }

  /**
   * The groups OIDC users had at their last sign-in whose name contains `text` (case-insensitive),
   * sorted: cx keeps no other record of an identity provider's groups (it has no directory to ask).
   */
  async seenOidcGroups(text: string, limit: number): Promise<{ groups: string[]; more: boolean }> {
    const rows = (await withDatabase(() =>
      this.db('users').where({ source: 'oidc' }).whereNotNull('external_groups').select('external_groups'),
    )) as Array<{ external_groups: string }>;
    const wanted = text.toLowerCase();
    const names = new Set<string>();
    for (const row of rows)
      for (const name of JSON.parse(row.external_groups) as string[])
        if (name.toLowerCase().includes(wanted)) names.add(name);
    const sorted = [...names].sort((a, b) => a.localeCompare(b));
    return { groups: sorted.slice(0, limit), more: sorted.length > limit };
  }

  // ---- local groups -----------------------------------------------------------------------------

  async listGroups(limit: number, cursor: string | undefined): Promise<Page<Group>> {
    const { rows: page, nextCursor } = await keysetPage<{
      id: string;
      name: string;
      description: string | null;
      created_at: string;
    }>(this.db('groups'), limit, cursor);
    const members = (await withDatabase(() =>
      this.db('group_members')
        .join('users', 'users.id', 'group_members.user_id')
        .whereIn(
          'group_members.group_id',
          page.map((g) => g.id),
        )
        .select('group_members.group_id as groupId', 'users.username as username'),
    )) as Array<{ groupId: string; username: string }>;
    return {
      items: page.map((g) => ({
        id: g.id,
        name: g.name,
        description: g.description,
        createdAt: g.created_at,
        members: members
          .filter((m) => m.groupId === g.id)
          .map((m) => m.username)
          .sort(),
      })),
      nextCursor,
    };
  }

  async getGroup(id: string): Promise<Group> {
    const row = (await withDatabase(() => this.db('groups').where({ id }).orWhere({ name: id }).first())) as
      { id: string; name: string; description: string | null; created_at: string } | undefined;
    if (!row) throw new NotFoundError(`group ${id} does not exist`);
    const members = (await withDatabase(() =>
      this.db('group_members')
        .join('users', 'users.id', 'group_members.user_id')
        .where('group_members.group_id', row.id)
        .pluck('users.username'),
    )) as string[];
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      createdAt: row.created_at,
      members: members.sort(),
    };
  }

  async createGroup(request: GroupCreateRequest): Promise<Group> {
    const id = uuidv7();
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        try {
          await trx('groups').insert({
            id,
            name: request.name,
            description: request.description ?? null,
            created_at: nowIso(),
          });
        } catch (error) {
          throw nameTaken(error, 'a group', request.name);
        }
        for (const [i, username] of request.members.entries())
          await this.addMemberIn(trx, id, username, `body.members.${i}`);
      }),
    );
    return this.getGroup(id);
  }

  async deleteGroup(id: string): Promise<void> {
    const deleted = await withDatabase(() => this.db('groups').where({ id }).delete());
    if (deleted === 0) throw new NotFoundError(`group ${id} does not exist`);
  }

  async addMember(groupId: string, username: string): Promise<Group> {
    const group = await this.getGroup(groupId);
    await withDatabase(() => this.db.transaction((trx) => this.addMemberIn(trx, group.id, username, 'body.username')));
    return this.getGroup(group.id);
  }

  async removeMember(groupId: string, username: string): Promise<void> {
    const group = await this.getGroup(groupId);
    const user = await this.byName(username);
    const deleted = user
      ? await withDatabase(() => this.db('group_members').where({ group_id: group.id, user_id: user.id }).delete())
      : 0;
    if (deleted === 0) throw new NotFoundError(`${username} is not a member of group ${group.name}`);
  }

  private async addMemberIn(trx: Knex.Transaction, groupId: string, username: string, field: string): Promise<void> {
    const user = (await trx('users').where({ username }).first('id')) as { id: string } | undefined;
    if (!user) throw new InputError(`user ${username} does not exist`, [{ field, message: 'is not a user of cx' }]);
    await trx('group_members')
      .insert({ group_id: groupId, user_id: user.id })
      .onConflict(['group_id', 'user_id'])
      .ignore();
  }

  private async localGroupsOf(userIds: string[]): Promise<Map<string, string[]>> {
    const rows =
      userIds.length === 0
        ? []
        : ((await withDatabase(() =>
            this.db('group_members')
              .join('groups', 'groups.id', 'group_members.group_id')
              .whereIn('group_members.user_id', userIds)
              .select('group_members.user_id as userId', 'groups.name as name'),
          )) as Array<{ userId: string; name: string }>);
    const byUser = new Map<string, string[]>();
    for (const { userId, name } of rows) byUser.set(userId, [...(byUser.get(userId) ?? []), name]);
    return byUser;
  }

  private async assertAnAdminRemains(trx: Knex.Transaction): Promise<void> {
    const admins = (await trx('users').where({ role: 'admin', disabled: false }).count({ n: '*' }).first()) as {
      n: number | string;
    };
    if (Number(admins.n) === 0)
      throw new ConflictError('this would leave cx without an enabled admin; make another user admin first');
  }
}

export function toUser(row: UserRow, localGroups: string[]): User {
  return {
    id: row.id,
    username: row.username,
    source: row.source,
    role: row.role,
    disabled: isDisabled(row),
    email: row.email,
    displayName: row.display_name,
    groups: [...localGroups, ...(row.external_groups ? (JSON.parse(row.external_groups) as string[]) : [])],
    lastLoginAt: row.last_login_at,
    createdAt: row.created_at,
  };
}

/** The grants that name a user (by name, as grants do), removed with the user they meant. */
async function deleteGrantsOfUser(trx: Knex.Transaction, username: string): Promise<number> {
  return trx('grants').where({ subject_kind: 'user', subject_key: username.toLowerCase() }).delete();
}
