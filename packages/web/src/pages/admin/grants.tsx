/** Every grant, with its subject, object and role; grant a role (to a user or group) and revoke one. */
import { useState } from 'preact/hooks';
import type { Cluster, Grant, ResourceGroup } from '@cx/api-schemas';
import { grantRequest, type GrantForm } from '../../admin-forms.js';
import { api } from '../../api.js';
import { ConfirmButton, ProblemMessage, TableBox, usePolled } from '../../components.js';
import { GroupSearch } from './group-search.js';
import { REFRESH_MS, typed, when } from './shared.js';

interface Objects {
  clusters: Cluster[];
  resourceGroups: ResourceGroup[];
}

const loadAll = async () => {
  const [grants, clusters, resourceGroups] = await Promise.all([api.grants(), api.clusters(), api.resourceGroups()]);
  return { grants, objects: { clusters, resourceGroups } };
};

/** The object of a grant in words: cx itself, or the cluster or resource group by name. */
function objectName(object: Grant['object'], objects: Objects): string {
  if (object.kind === 'global') return 'all of cx';
  const named =
    object.kind === 'cluster'
      ? objects.clusters.find((c) => c.id === object.id)
      : objects.resourceGroups.find((g) => g.id === object.id);
  return `${object.kind} ${named?.name ?? object.id}`;
}

export function Grants() {
  const { data, error, reload } = usePolled(loadAll, REFRESH_MS);
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Grants</h1>
        {data ? <CreateGrant objects={data.objects} onCreated={reload} /> : null}
      </div>
      <ProblemMessage error={error} />
      {data === undefined && !error ? <p aria-live="polite">Loading…</p> : null}
      {data && data.grants.length === 0 ? <p class="empty">There are no grants yet.</p> : null}
      {data && data.grants.length > 0 ? (
        <TableBox label="Grants table">
          <table>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Role</th>
                <th scope="col">On</th>
                <th scope="col">Granted by</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.grants.map((grant) => {
                const on = objectName(grant.object, data.objects);
                return (
                  <tr key={grant.id}>
                    <th scope="row">
                      <span class="muted small">{grant.subject.kind} </span>
                      {grant.subject.name}
                    </th>
                    <td>{grant.role}</td>
                    <td>{on}</td>
                    <td>
                      {grant.createdBy} <span class="muted small">{when(grant.createdAt)}</span>
                    </td>
                    <td>
                      <ConfirmButton
                        label={`Revoke ${grant.role} of ${grant.subject.name} on ${on}`}
                        title={`Revoke ${grant.subject.name}'s ${grant.role} role on ${on}?`}
                        confirmLabel="Revoke"
                        danger
                        onConfirm={async () => {
                          await api.deleteGrant(grant.id);
                          reload();
                        }}
                      >
                        <p>They lose at once what this grant allowed them.</p>
                      </ConfirmButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableBox>
      ) : null}
    </>
  );
}

function CreateGrant({ objects, onCreated }: { objects: Objects; onCreated: () => void }) {
  const [form, setForm] = useState<GrantForm>({
    subjectKind: 'user',
    subjectName: '',
    objectKind: 'cluster',
    objectId: '',
    role: 'viewer',
  });
  const set =
    <K extends keyof GrantForm>(key: K) =>
    (e: Event): void =>
      setForm({ ...form, [key]: typed(e) as GrantForm[K], ...(key === 'objectKind' ? { objectId: '' } : {}) });
  const choices = form.objectKind === 'cluster' ? objects.clusters : objects.resourceGroups;
  return (
    <ConfirmButton
      label="Grant a role"
      title="Grant a role"
      confirmLabel="Grant"
      onConfirm={async () => {
        const request = grantRequest(form);
        if (typeof request === 'string') throw new Error(request);
        await api.createGrant(request);
        setForm({ ...form, subjectName: '' });
        onCreated();
      }}
    >
      <div class="stack">
        <label>
          To
          <select value={form.subjectKind} onChange={set('subjectKind')}>
            <option value="user">a user</option>
            <option value="group">a group (local, LDAP DN or OIDC)</option>
          </select>
        </label>
        {form.subjectKind === 'user' ? (
          <label>
            Username
            <input value={form.subjectName} required onInput={set('subjectName')} />
          </label>
        ) : (
          <GroupSearch value={form.subjectName} onChange={(subjectName) => setForm({ ...form, subjectName })} />
        )}
        <label>
          Role
          <select value={form.role} onChange={set('role')}>
            <option value="viewer">viewer: sees</option>
            <option value="operator">operator: sees and changes</option>
            <option value="admin">admin: also grants</option>
          </select>
        </label>
        <label>
          On
          <select value={form.objectKind} onChange={set('objectKind')}>
            <option value="cluster">a cluster</option>
            <option value="resource-group">a resource group</option>
            <option value="global">all of cx</option>
          </select>
        </label>
        {form.objectKind === 'global' ? null : (
          <label>
            {form.objectKind === 'cluster' ? 'Cluster' : 'Resource group'}
            <select value={form.objectId} required onChange={set('objectId')}>
              <option value="">Choose…</option>
              {choices.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
    </ConfirmButton>
  );
}
