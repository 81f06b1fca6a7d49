/**
 * Users (create a local one; change one's persona, disable or enable them, set a local user's
 * password; unlock, delete) and local groups (create, members, delete).
 */
import { useState } from 'preact/hooks';
import type { Group, User } from '@cx/api-schemas';
import { api } from '../../api.js';
import { ConfirmButton, ProblemMessage, TableBox, usePolled } from '../../components.js';
import { REFRESH_MS, typed, when } from './shared.js';

export function Users() {
  const { data: users, error, reload } = usePolled(api.users, REFRESH_MS);
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Users</h1>
        <CreateUser onCreated={reload} />
      </div>
      <ProblemMessage error={error} />
      {users === undefined && !error ? <p aria-live="polite">Loading…</p> : null}
      {users ? (
        <TableBox label="Users table">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Source</th>
                <th scope="col">Role</th>
                <th scope="col">Groups</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <UserRow key={user.id} user={user} onChanged={reload} />
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : null}
    </>
  );
}

function UserRow({ user, onChanged }: { user: User; onChanged: () => void }) {
  return (
    <tr>
      <th scope="row">
        {user.username}
        {user.displayName ? <span class="muted small"> {user.displayName}</span> : null}
        {user.disabled ? <span class="badge muted"> disabled</span> : null}
      </th>
      <td>{user.source}</td>
      <td>{user.role}</td>
      <td>{user.groups.join(', ') || '—'}</td>
      <td>{when(user.lastLoginAt)}</td>
      <td>
        <div class="row-actions">
          {/* Keyed by what it edits: once saved, the form starts from the user as they now are. */}
          <EditUser key={`${user.role}-${user.disabled}`} user={user} onSaved={onChanged} />
          <ConfirmButton
            label={`Unlock ${user.username}`}
            title={`Unlock ${user.username}?`}
            confirmLabel="Unlock"
            onConfirm={async () => {
              await api.unlockUser(user.id);
              onChanged();
            }}
          >
            <p>Lifts a lockout after failed sign-ins, so that {user.username} may sign in again at once.</p>
          </ConfirmButton>
          <ConfirmButton
            label={`Delete ${user.username}`}
            title={`Delete user ${user.username}?`}
            confirmLabel="Delete user"
            danger
            onConfirm={async () => {
              await api.deleteUser(user.id);
              onChanged();
            }}
          >
            <p>{user.username} can no longer sign in, and their grants are removed with them.</p>
          </ConfirmButton>
        </div>
      </td>
    </tr>
  );
}

/**
 * One user's persona, whether they may sign in, and (local users: the directory and the identity
 * provider keep the others') a new password; only what changed is sent.
 */
function EditUser({ user, onSaved }: { user: User; onSaved: () => void }) {
  const [role, setRole] = useState<User['role']>(user.role);
  const [disabled, setDisabled] = useState(user.disabled);
  const [password, setPassword] = useState('');
  return (
    <ConfirmButton
      label={`Edit ${user.username}`}
      title={`Edit user ${user.username}`}
      confirmLabel="Save user"
      onConfirm={async () => {
        const patch = {
          ...(role !== user.role ? { role } : {}),
          ...(disabled !== user.disabled ? { disabled } : {}),
          ...(password ? { password } : {}),
        };
        if (Object.keys(patch).length === 0) throw new Error('Nothing was changed.');
        await api.updateUser(user.id, patch);
        setPassword('');
        onSaved();
      }}
    >
      <div class="stack">
        <label>
          Persona
          <select value={role} onChange={(e) => setRole(typed(e) as User['role'])}>
            <option value="user">user: what grants allow</option>
            <option value="admin">admin: everything</option>
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={disabled}
            onChange={(e) => setDisabled((e.currentTarget as HTMLInputElement).checked)}
          />
          Disabled: may not sign in
        </label>
        {user.source === 'local' ? (
          <label>
            New password <span class="muted small">at least 8 characters; empty: unchanged</span>
            <input
              type="password"
              value={password}
              minLength={8}
              autoComplete="new-password"
              onInput={(e) => setPassword(typed(e))}
            />
          </label>
        ) : null}
      </div>
    </ConfirmButton>
  );
}

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<User['role']>('user');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  return (
    <ConfirmButton
      label="New local user"
      title="New local user"
      confirmLabel="Create user"
      onConfirm={async () => {
        await api.createUser({
          username,
          password,
          role,
          ...(displayName ? { displayName } : {}),
          ...(email ? { email } : {}),
        });
        setPassword('');
        onCreated();
      }}
    >
      <div class="stack">
        <label>
          Username
          <input value={username} required autoComplete="off" onInput={(e) => setUsername(typed(e))} />
        </label>
        <label>
          Password <span class="muted small">at least 8 characters</span>
          <input
            type="password"
            value={password}
            required
            minLength={8}
            autoComplete="new-password"
            onInput={(e) => setPassword(typed(e))}
          />
        </label>
        <label>
          Persona
          <select value={role} onChange={(e) => setRole(typed(e) as User['role'])}>
            <option value="user">user: what grants allow</option>
            <option value="admin">admin: everything</option>
          </select>
        </label>
        <label>
          Display name <span class="muted small">optional</span>
          <input value={displayName} onInput={(e) => setDisplayName(typed(e))} />
        </label>
        <label>
          Email <span class="muted small">optional</span>
          <input type="email" value={email} onInput={(e) => setEmail(typed(e))} />
        </label>
      </div>
    </ConfirmButton>
  );
}

export function Groups() {
  const { data: groups, error, reload } = usePolled(api.groups, REFRESH_MS);
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Groups</h1>
        <CreateGroup onCreated={reload} />
      </div>
      <p class="muted">
        Local groups. Directory (LDAP) and single sign-on (OIDC) groups are not listed here: grant them a role by their
        name on the Grants page.
      </p>
      <ProblemMessage error={error} />
      {groups === undefined && !error ? <p aria-live="polite">Loading…</p> : null}
      {groups && groups.length === 0 ? <p class="empty">There are no local groups yet.</p> : null}
      {groups && groups.length > 0 ? (
        <TableBox label="Groups table">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Members</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => (
                <GroupRow key={group.id} group={group} onChanged={reload} />
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : null}
    </>
  );
}

function GroupRow({ group, onChanged }: { group: Group; onChanged: () => void }) {
  const [member, setMember] = useState('');
  return (
    <tr>
      <th scope="row">
        {group.name}
        {group.description ? <p class="muted small">{group.description}</p> : null}
      </th>
      <td>
        {group.members.length === 0 ? <span class="muted">none</span> : null}
        <ul class="plain">
          {group.members.map((username) => (
            <li key={username}>
              {username}{' '}
              <ConfirmButton
                label={`Remove ${username} from ${group.name}`}
                title={`Remove ${username} from ${group.name}?`}
                confirmLabel="Remove"
                danger
                onConfirm={async () => {
                  await api.removeMember(group.id, username);
                  onChanged();
                }}
              >
                <p>They lose what grants to {group.name} gave them.</p>
              </ConfirmButton>
            </li>
          ))}
        </ul>
      </td>
      <td>
        <div class="row-actions">
          <ConfirmButton
            label={`Add a member to ${group.name}`}
            title={`Add a member to ${group.name}`}
            confirmLabel="Add member"
            onConfirm={async () => {
              await api.addMember(group.id, { username: member.trim() });
              setMember('');
              onChanged();
            }}
          >
            <label>
              Username
              <input value={member} required onInput={(e) => setMember(typed(e))} />
            </label>
          </ConfirmButton>
          <ConfirmButton
            label={`Delete ${group.name}`}
            title={`Delete group ${group.name}?`}
            confirmLabel="Delete group"
            danger
            onConfirm={async () => {
              await api.deleteGroup(group.id);
              onChanged();
            }}
          >
            <p>Its members lose what grants to {group.name} gave them.</p>
          </ConfirmButton>
        </div>
      </td>
    </tr>
  );
}

function CreateGroup({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  return (
    <ConfirmButton
      label="New group"
      title="New local group"
      confirmLabel="Create group"
      onConfirm={async () => {
        await api.createGroup({ name, ...(description ? { description } : {}) });
        onCreated();
      }}
    >
      <div class="stack">
        <label>
          Name <span class="muted small">lower-case letters, digits and dashes</span>
          <input value={name} required onInput={(e) => setName(typed(e))} />
        </label>
        <label>
          Description <span class="muted small">optional</span>
          <input value={description} onInput={(e) => setDescription(typed(e))} />
        </label>
      </div>
    </ConfirmButton>
  );
}
