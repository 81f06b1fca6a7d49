/**
 * What clusters are made from and with: resource groups (quotas and usage), infrastructure
 * credentials (create, checked by cx against the endpoint on save; delete; a password is never
 * shown back, as the API never answers it), IP pools, bare-metal hosts, cluster templates and pairs.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ProviderInfo } from '@cx/api-schemas';
import { parseSettings, quotaUse } from '../../admin-forms.js';
import { api } from '../../api.js';
import { ConfirmButton, ProblemMessage, StatusBadge, TableBox, usePolled } from '../../components.js';
import { REFRESH_MS, typed, when } from './shared.js';

/** A list's loading, error and empty states around its table. */
function Listing<T>(props: {
  title: string;
  what: string;
  data: T[] | undefined;
  error: unknown;
  action?: ComponentChildren;
  intro?: ComponentChildren;
  head: string[];
  row: (item: T) => ComponentChildren;
}) {
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>{props.title}</h1>
        {props.action}
      </div>
      {props.intro}
      <ProblemMessage error={props.error} />
      {props.data === undefined && !props.error ? <p aria-live="polite">Loading…</p> : null}
      {props.data && props.data.length === 0 ? <p class="empty">There are no {props.what} yet.</p> : null}
      {props.data && props.data.length > 0 ? (
        <TableBox label={`${props.title} table`}>
          <table>
            <thead>
              <tr>
                {props.head.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{props.data.map(props.row)}</tbody>
          </table>
        </TableBox>
      ) : null}
    </>
  );
}

export function ResourceGroups() {
  const { data, error } = usePolled(api.resourceGroups, REFRESH_MS);
  return (
    <Listing
      title="Resource groups"
      what="resource groups"
      data={data}
      error={error}
      head={['Group', 'Clusters', 'Nodes', 'vCPUs', 'Memory (MiB)', 'Credential']}
      row={(g) => (
        <tr key={g.id}>
          <th scope="row">
            {g.name}
            {g.description ? <p class="muted small">{g.description}</p> : null}
          </th>
          <td>{quotaUse(g, 'clusters')}</td>
          <td>{quotaUse(g, 'nodes')}</td>
          <td>{quotaUse(g, 'vcpus')}</td>
          <td>{quotaUse(g, 'memoryMiB')}</td>
          <td>{g.credentialId ?? '—'}</td>
        </tr>
      )}
    />
  );
}

export function Credentials() {
  const { data, error, reload } = usePolled(api.credentials, REFRESH_MS);
  return (
    <Listing
      title="Credentials"
      what="infrastructure credentials"
      data={data}
      error={error}
      action={<CreateCredential onCreated={reload} />}
      intro={
        <p class="muted">Logins cx uses on infrastructure providers. Passwords are stored encrypted and never shown.</p>
      }
      head={['Credential', 'Provider', 'Endpoint', 'Username', 'Certificate', 'Created', 'Actions']}
      row={(c) => (
        <tr key={c.id}>
          <th scope="row">{c.name}</th>
          <td>{c.provider}</td>
          <td>{c.endpoint}</td>
          <td>{c.username}</td>
          <td>{c.insecure ? 'not verified' : c.hasCaCert ? 'own CA' : 'system CAs'}</td>
          <td>
            {c.createdBy} <span class="muted small">{when(c.createdAt)}</span>
          </td>
          <td>
            <ConfirmButton
              label={`Delete ${c.name}`}
              title={`Delete credential ${c.name}?`}
              confirmLabel="Delete credential"
              danger
              onConfirm={async () => {
                await api.deleteCredential(c.id);
                reload();
              }}
            >
              <p>cx refuses while a resource group uses it.</p>
            </ConfirmButton>
          </td>
        </tr>
      )}
    />
  );
}

function CreateCredential({ onCreated }: { onCreated: () => void }) {
  const [providers, setProviders] = useState<ProviderInfo[] | undefined>(undefined);
  const [form, setForm] = useState({
    name: '',
    provider: '',
    endpoint: '',
    username: '',
    password: '',
    caCert: '',
    settings: '',
    insecure: false,
  });
  const set = (key: keyof typeof form) => (e: Event) => setForm({ ...form, [key]: typed(e) });
  useEffect(() => {
    api.providers().then(setProviders, () => setProviders([]));
  }, []);
  return (
    <ConfirmButton
      label="New credential"
      title="New infrastructure credential"
      confirmLabel="Check and save"
      onConfirm={async () => {
        const settings = parseSettings(form.settings);
        if (typeof settings === 'string') throw new Error(settings);
        await api.createCredential({
          name: form.name,
          provider: form.provider,
          endpoint: form.endpoint,
          username: form.username,
          password: form.password,
          insecure: form.insecure,
          settings,
          ...(form.caCert.trim() ? { caCert: form.caCert } : {}),
        });
        // The password is not kept once cx has it.
        setForm({ ...form, password: '' });
        onCreated();
      }}
    >
      <div class="stack">
        <p class="muted small">cx logs in to the endpoint with it before saving; nothing is stored if that fails.</p>
        <label>
          Name
          <input value={form.name} required onInput={set('name')} />
        </label>
        <label>
          Provider
          <select value={form.provider} required onChange={set('provider')}>
            <option value="">Choose…</option>
            {(providers ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Endpoint <span class="muted small">URL of the provider's API</span>
          <input value={form.endpoint} required onInput={set('endpoint')} />
        </label>
        <label>
          Username
          <input value={form.username} required autoComplete="off" onInput={set('username')} />
        </label>
        <label>
          Password
          <input type="password" value={form.password} required autoComplete="new-password" onInput={set('password')} />
        </label>
        <label>
          CA certificate <span class="muted small">PEM, optional</span>
          <textarea rows={3} value={form.caCert} onInput={set('caCert')} />
        </label>
        <label>
          Settings <span class="muted small">the provider's, as a JSON object (see docs/providers/)</span>
          <textarea rows={4} value={form.settings} onInput={set('settings')} />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={form.insecure}
            onChange={(e) => setForm({ ...form, insecure: (e.currentTarget as HTMLInputElement).checked })}
          />
          Skip certificate verification (labs only)
        </label>
      </div>
    </ConfirmButton>
  );
}

export function IpPools() {
  const { data, error } = usePolled(api.ipPools, REFRESH_MS);
  return (
    <Listing
      title="IP pools"
      what="IP pools"
      data={data}
      error={error}
      head={['Pool', 'Ranges', 'Families', 'Allocated']}
      row={(p) => (
        <tr key={p.id}>
          <th scope="row">
            {p.name}
            {p.description ? <p class="muted small">{p.description}</p> : null}
          </th>
          <td>{p.ranges}</td>
          <td>{p.families.join(', ')}</td>
          <td>
            {p.allocated} of {p.size}
          </td>
        </tr>
      )}
    />
  );
}

export function Hosts() {
  const { data, error } = usePolled(api.hosts, REFRESH_MS);
  return (
    <Listing
      title="Hosts"
      what="bare-metal hosts"
      data={data}
      error={error}
      head={['Host', 'State', 'Held by', 'BMC', 'Capacity', 'Addresses']}
      row={(h) => (
        <tr key={h.id}>
          <th scope="row">{h.name}</th>
          <td>{h.state}</td>
          <td>{h.claim ? `${h.claim.machineName} (cluster ${h.claim.clusterId})` : '—'}</td>
          <td>
            {h.bmc.protocol} {h.bmc.address}
          </td>
          <td>
            {h.capacity.vcpus} vCPU, {h.capacity.memoryMiB} MiB, {h.capacity.diskGiB} GiB
          </td>
          <td>{h.addresses.join(', ')}</td>
        </tr>
      )}
    />
  );
}

export function Templates() {
  const { data, error } = usePolled(api.templates, REFRESH_MS);
  return (
    <Listing
      title="Cluster templates"
      what="cluster templates"
      data={data}
      error={error}
      head={['Template', 'Provider', 'Kubernetes', 'Pools', 'Addons', 'Version']}
      row={(t) => (
        <tr key={t.id}>
          <th scope="row">
            {t.name}
            {t.description ? <p class="muted small">{t.description}</p> : null}
          </th>
          <td>{t.provider ?? 'any'}</td>
          <td>{t.kubernetesVersion ?? 'any'}</td>
          <td>{(t.nodePools ?? []).map((p) => `${p.name} × ${p.count}`).join(', ') || '—'}</td>
          <td>{t.addons.map((a) => a.name).join(', ') || '—'}</td>
          <td>{t.version}</td>
        </tr>
      )}
    />
  );
}

export function Pairs() {
  const { data, error } = usePolled(api.pairs, REFRESH_MS);
  return (
    <Listing
      title="Pairs"
      what="pairs"
      data={data}
      error={error}
      head={['Pair', 'Status', 'Side a', 'Side b', 'Preferred']}
      row={(p) => (
        <tr key={p.id}>
          <th scope="row">{p.name}</th>
          <td>
            <StatusBadge status={p.status?.phase ?? 'Unknown'} />
          </td>
          <td>{p.sides.a.clusterId}</td>
          <td>{p.sides.b.clusterId}</td>
          <td>{p.preferredSide}</td>
        </tr>
      )}
    />
  );
}
