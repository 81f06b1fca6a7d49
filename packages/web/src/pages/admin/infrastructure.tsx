/**
 * What clusters are made from and with: resource groups (quotas and usage), infrastructure
 * credentials (checked by cx against the endpoint on save; a password is never shown back, as the
 * API never answers it), IP pools, bare-metal hosts (BMC checked on save), cluster templates and
 * pairs. Each is created in a dialog whose fields are checked as they are typed against the API's
 * own request schema, shows the API's problem detail when it refuses, and is deleted once confirmed;
 * a resource group's description, credential and quotas, and a template's description and
 * Kubernetes version, are edited the same way (PATCH).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Cluster, ClusterTemplate, Credential, ProviderInfo, ResourceGroup } from '@cx/api-schemas';
import {
  checkField,
  formProblem,
  hostProblems,
  hostRequest,
  ipPoolProblems,
  ipPoolRequest,
  pairProblems,
  pairRequest,
  parseSettings,
  QUOTA_KEYS,
  quotaUse,
  resourceGroupForm,
  resourceGroupPatch,
  resourceGroupProblems,
  resourceGroupRequest,
  templatePatch,
  templateProblems,
  templateRequest,
  type HostForm,
  type IpPoolForm,
  type PairForm,
  type ResourceGroupForm,
  type TemplateForm,
} from '../../admin-forms.js';
import { api } from '../../api.js';
import { ConfirmButton, DataTable, ProblemMessage, StatusBadge, usePolled } from '../../components.js';
import { Field, useRequestSchema } from './field.js';
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
      <DataTable
        label={`${props.title} table`}
        items={props.data}
        empty={`There are no ${props.what} yet.`}
        head={props.head}
        row={props.row}
      />
    </>
  );
}

export function ResourceGroups() {
  const { data, error, reload } = usePolled(api.resourceGroups, REFRESH_MS);
  return (
    <Listing
      title="Resource groups"
      what="resource groups"
      data={data}
      error={error}
      action={<CreateResourceGroup onCreated={reload} />}
      head={['Group', 'Clusters', 'Nodes', 'vCPUs', 'Memory (MiB)', 'Credential', 'Actions']}
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
          <td>
            <div class="row-actions">
              {/* Keyed by its last change: the form starts again from what the group now is. */}
              <EditResourceGroup key={g.updatedAt} group={g} onSaved={reload} />
              <DeleteButton
                name={g.name}
                what="resource group"
                note="cx refuses while clusters are in it."
                onDelete={async () => {
                  await api.deleteResourceGroup(g.id);
                  reload();
                }}
              />
            </div>
          </td>
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
  const { data, error, reload } = usePolled(api.ipPools, REFRESH_MS);
  return (
    <Listing
      title="IP pools"
      what="IP pools"
      data={data}
      error={error}
      action={<CreateIpPool onCreated={reload} />}
      head={['Pool', 'Ranges', 'Families', 'Allocated', 'Actions']}
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
          <td>
            <DeleteButton
              name={p.name}
              what="IP pool"
              note="cx refuses while an address of it is allocated."
              onDelete={async () => {
                await api.deleteIpPool(p.id);
                reload();
              }}
            />
          </td>
        </tr>
      )}
    />
  );
}

export function Hosts() {
  const { data, error, reload } = usePolled(api.hosts, REFRESH_MS);
  return (
    <Listing
      title="Hosts"
      what="bare-metal hosts"
      data={data}
      error={error}
      action={<CreateHost onCreated={reload} />}
      head={['Host', 'State', 'Held by', 'BMC', 'Capacity', 'Addresses', 'Actions']}
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
          <td>
            <DeleteButton
              name={h.name}
              what="host"
              note="cx refuses while a machine holds it."
              onDelete={async () => {
                await api.deleteHost(h.id);
                reload();
              }}
            />
          </td>
        </tr>
      )}
    />
  );
}

export function Templates() {
  const { data, error, reload } = usePolled(api.templates, REFRESH_MS);
  return (
    <Listing
      title="Cluster templates"
      what="cluster templates"
      data={data}
      error={error}
      action={<CreateTemplate onCreated={reload} />}
      head={['Template', 'Provider', 'Kubernetes', 'Pools', 'Addons', 'Version', 'Actions']}
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
          <td>
            <div class="row-actions">
              {/* Keyed by its version: once changed, the form starts from the template as it now is. */}
              <EditTemplate key={t.version} template={t} onSaved={reload} />
              <DeleteButton
                name={t.name}
                what="template"
                note="Clusters created from it keep what it gave them."
                onDelete={async () => {
                  await api.deleteTemplate(t.id);
                  reload();
                }}
              />
            </div>
          </td>
        </tr>
      )}
    />
  );
}

export function Pairs() {
  const { data, error, reload } = usePolled(api.pairs, REFRESH_MS);
  const clusters = usePolled(api.clusters, REFRESH_MS).data;
  const nameOf = (id: string): string => clusters?.find((c) => c.id === id)?.name ?? id;
  return (
    <Listing
      title="Pairs"
      what="pairs"
      data={data}
      error={error}
      action={<CreatePair clusters={clusters} onCreated={reload} />}
      head={['Pair', 'Status', 'Side a', 'Side b', 'Preferred', 'Actions']}
      row={(p) => (
        <tr key={p.id}>
          <th scope="row">{p.name}</th>
          <td>
            <StatusBadge status={p.status?.phase ?? 'Unknown'} />
          </td>
          <td>{nameOf(p.sides.a.clusterId)}</td>
          <td>{nameOf(p.sides.b.clusterId)}</td>
          <td>{p.preferredSide}</td>
          <td>
            <DeleteButton
              name={p.name}
              what="pair"
              note="cx stops witnessing it; its singletons stay where they run."
              onDelete={async () => {
                await api.deletePair(p.id);
                reload();
              }}
            />
          </td>
        </tr>
      )}
    />
  );
}

/** A confirmed delete of one listed thing. */
function DeleteButton(props: { name: string; what: string; note: string; onDelete: () => Promise<void> }) {
  return (
    <ConfirmButton
      label={`Delete ${props.name}`}
      title={`Delete ${props.what} ${props.name}?`}
      confirmLabel={`Delete ${props.what}`}
      danger
      onConfirm={props.onDelete}
    >
      <p>{props.note}</p>
    </ConfirmButton>
  );
}

/**
 * A create (or edit) form's state: the fields as typed, and whether problems are shown (a field's
 * once it is typed in, all of them once the form was sent). `submit` refuses a form with problems
 * before anything is sent, then sends it, resets it to `empty` and tells the list.
 */
function useCreateForm<F extends object>(
  empty: F,
  problemsOf: (form: F) => Record<string, string | undefined>,
  send: (form: F) => Promise<unknown>,
  onCreated: () => void,
) {
  const [form, setForm] = useState<F>(empty);
  const [tried, setTried] = useState(false);
  const problems = problemsOf(form);
  const set = (key: keyof F) => (e: Event) => setForm({ ...form, [key]: typed(e) });
  const check = (key: keyof F) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).checked });
  const show = (key: keyof F): boolean => tried || String(form[key] ?? '') !== '';
  const submit = async (): Promise<void> => {
    setTried(true);
    const problem = formProblem(problems);
    if (problem) throw new Error(problem);
    await send(form);
    setForm(empty);
    setTried(false);
    onCreated();
  };
  return { form, set, check, show, problems, submit };
}

const EMPTY_GROUP: ResourceGroupForm = {
  name: '',
  description: '',
  credentialId: '',
  clusters: '',
  nodes: '',
  vcpus: '',
  memoryMiB: '',
};
const QUOTA_LABELS = { clusters: 'Clusters', nodes: 'Nodes', vcpus: 'vCPUs', memoryMiB: 'Memory (MiB)' } as const;

function CreateResourceGroup({ onCreated }: { onCreated: () => void }) {
  const schema = useRequestSchema('/api/v1/resource-groups');
  const form = useCreateForm(
    EMPTY_GROUP,
    (f) => resourceGroupProblems(f, schema),
    (f) => api.createResourceGroup(resourceGroupRequest(f)),
    onCreated,
  );
  return (
    <ConfirmButton
      label="New resource group"
      title="New resource group"
      confirmLabel="Create group"
      onConfirm={form.submit}
    >
      <div class="stack">
        <Field
          label="Name"
          hint="lower-case letters, digits and -"
          problem={form.problems.name}
          show={form.show('name')}
        >
          <input value={form.form.name} onInput={form.set('name')} />
        </Field>
        <ResourceGroupFields {...form} />
      </div>
    </ConfirmButton>
  );
}

/** A group's description, credential and quotas, as they are now; the name stays (clusters name their group by it). */
function EditResourceGroup({ group, onSaved }: { group: ResourceGroup; onSaved: () => void }) {
  // The create schema checks the same fields with the same limits as the PATCH's.
  const schema = useRequestSchema('/api/v1/resource-groups');
  const form = useCreateForm(
    resourceGroupForm(group),
    (f) => resourceGroupProblems(f, schema),
    (f) => api.updateResourceGroup(group.id, resourceGroupPatch(f)),
    onSaved,
  );
  return (
    <ConfirmButton
      label={`Edit ${group.name}`}
      title={`Edit resource group ${group.name}`}
      confirmLabel="Save group"
      onConfirm={form.submit}
    >
      <div class="stack">
        <ResourceGroupFields {...form} />
        <p class="muted small">A quota lower than the usage refuses new clusters and growth; what runs stays.</p>
      </div>
    </ConfirmButton>
  );
}

function ResourceGroupFields(props: ReturnType<typeof useCreateForm<ResourceGroupForm>>) {
  const { form, set, show, problems } = props;
  const [credentials, setCredentials] = useState<Credential[]>([]);
  useEffect(() => {
    api.credentials().then(setCredentials, () => setCredentials([]));
  }, []);
  return (
    <>
      <Field label="Description" problem={problems.description} show={show('description')}>
        <input value={form.description} onInput={set('description')} />
      </Field>
      <Field label="Credential" hint="what its clusters are created with; optional" show={false}>
        <select value={form.credentialId} onChange={set('credentialId')}>
          <option value="">None</option>
          {credentials.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name} ({c.provider})
            </option>
          ))}
        </select>
      </Field>
      <fieldset>
        <legend>Quotas (empty: no limit)</legend>
        {QUOTA_KEYS.map((key) => (
          <Field key={key} label={`${QUOTA_LABELS[key]} quota`} problem={problems[key]} show={show(key)}>
            <input inputMode="numeric" value={form[key]} onInput={set(key)} />
          </Field>
        ))}
      </fieldset>
    </>
  );
}

function CreateIpPool({ onCreated }: { onCreated: () => void }) {
  const schema = useRequestSchema('/api/v1/ip-pools');
  const { form, set, show, problems, submit } = useCreateForm<IpPoolForm>(
    { name: '', ranges: '', description: '' },
    (f) => ipPoolProblems(f, schema),
    (f) => api.createIpPool(ipPoolRequest(f)),
    onCreated,
  );
  return (
    <ConfirmButton label="New IP pool" title="New IP pool" confirmLabel="Create pool" onConfirm={submit}>
      <div class="stack">
        <Field label="Name" hint="lower-case letters, digits and -" problem={problems.name} show={show('name')}>
          <input value={form.name} onInput={set('name')} />
        </Field>
        <Field
          label="Ranges"
          hint="comma-separated: 10.1.1.5-8,42.42.42.42 or 198.51.100.0/28 or 2001:db8::10-1f"
          problem={problems.ranges}
          show={show('ranges')}
        >
          <input value={form.ranges} onInput={set('ranges')} />
        </Field>
        <Field label="Description" problem={problems.description} show={show('description')}>
          <input value={form.description} onInput={set('description')} />
        </Field>
      </div>
    </ConfirmButton>
  );
}

const EMPTY_HOST: HostForm = {
  name: '',
  protocol: 'redfish',
  address: '',
  username: '',
  password: '',
  caCert: '',
  insecure: false,
  systemId: '',
  bootMac: '',
  addresses: '',
  labels: '',
  vcpus: '',
  memoryMiB: '',
  diskGiB: '',
};

function CreateHost({ onCreated }: { onCreated: () => void }) {
  const schema = useRequestSchema('/api/v1/hosts');
  const { form, set, check, show, problems, submit } = useCreateForm(
    EMPTY_HOST,
    (f) => hostProblems(f, schema),
    (f) => api.createHost(hostRequest(f)),
    onCreated,
  );
  const protocols = (schema?.properties?.['bmc']?.properties?.['protocol']?.enum ?? ['redfish', 'ipmi']) as string[];
  return (
    <ConfirmButton label="New host" title="New bare-metal host" confirmLabel="Check and save" onConfirm={submit}>
      <div class="stack">
        <p class="muted small">cx logs in to its BMC before saving; nothing is stored if that fails.</p>
        <Field label="Name" hint="lower-case letters, digits and -" problem={problems.name} show={show('name')}>
          <input value={form.name} onInput={set('name')} />
        </Field>
        <fieldset>
          <legend>BMC</legend>
          <Field label="Protocol" show={false}>
            <select value={form.protocol} onChange={set('protocol')}>
              {protocols.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="BMC address"
            hint="Redfish: https://bmc:443; IPMI: host:623"
            problem={problems.address}
            show={show('address')}
          >
            <input value={form.address} onInput={set('address')} />
          </Field>
          <Field label="BMC username" problem={problems.username} show={show('username')}>
            <input value={form.username} autoComplete="off" onInput={set('username')} />
          </Field>
          <Field label="BMC password" problem={problems.password} show={show('password')}>
            <input type="password" value={form.password} autoComplete="new-password" onInput={set('password')} />
          </Field>
          <Field label="BMC CA certificate" hint="PEM, optional (Redfish)" show={false}>
            <textarea rows={3} value={form.caCert} onInput={set('caCert')} />
          </Field>
          <Field
            label="Redfish system id"
            hint="optional: the BMC's only system"
            problem={problems.systemId}
            show={show('systemId')}
          >
            <input value={form.systemId} onInput={set('systemId')} />
          </Field>
          <label class="check">
            <input type="checkbox" checked={form.insecure} onChange={check('insecure')} />
            Skip certificate verification (labs only)
          </label>
        </fieldset>
        <Field label="Boot MAC" hint="optional, aa:bb:cc:dd:ee:ff" problem={problems.bootMac} show={show('bootMac')}>
          <input value={form.bootMac} onInput={set('bootMac')} />
        </Field>
        <Field
          label="Node addresses"
          hint="comma-separated: the addresses its OS will have"
          problem={problems.addresses}
          show={show('addresses')}
        >
          <input value={form.addresses} onInput={set('addresses')} />
        </Field>
        <Field
          label="Labels"
          hint="optional, key=value, comma-separated"
          problem={problems.labels}
          show={show('labels')}
        >
          <input value={form.labels} onInput={set('labels')} />
        </Field>
        <fieldset>
          <legend>Capacity</legend>
          <Field label="vCPUs" problem={problems.vcpus} show={show('vcpus')}>
            <input inputMode="numeric" value={form.vcpus} onInput={set('vcpus')} />
          </Field>
          <Field label="Memory (MiB)" problem={problems.memoryMiB} show={show('memoryMiB')}>
            <input inputMode="numeric" value={form.memoryMiB} onInput={set('memoryMiB')} />
          </Field>
          <Field label="Disk (GiB)" hint="optional: 100" problem={problems.diskGiB} show={show('diskGiB')}>
            <input inputMode="numeric" value={form.diskGiB} onInput={set('diskGiB')} />
          </Field>
        </fieldset>
      </div>
    </ConfirmButton>
  );
}

const EMPTY_TEMPLATE: TemplateForm = {
  name: '',
  description: '',
  provider: '',
  kubernetesVersion: '',
  controlPlaneCount: '',
  poolName: '',
  poolCount: '',
};

function CreateTemplate({ onCreated }: { onCreated: () => void }) {
  const schema = useRequestSchema('/api/v1/cluster-templates');
  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  useEffect(() => {
    api.providers().then(setProviders, () => setProviders([]));
  }, []);
  const { form, set, show, problems, submit } = useCreateForm(
    EMPTY_TEMPLATE,
    (f) => templateProblems(f, schema),
    (f) => api.createTemplate(templateRequest(f)),
    onCreated,
  );
  const counts = (schema?.properties?.['controlPlane']?.properties?.['count']?.enum ?? []) as number[];
  const versions = providers.find((p) => p.name === form.provider)?.kubernetesVersions ?? [];
  return (
    <ConfirmButton label="New template" title="New cluster template" confirmLabel="Create template" onConfirm={submit}>
      <div class="stack">
        <p class="muted small">Every preset is optional: a cluster created from it gives the rest.</p>
        <Field label="Name" hint="lower-case letters, digits and -" problem={problems.name} show={show('name')}>
          <input value={form.name} onInput={set('name')} />
        </Field>
        <Field label="Description" problem={problems.description} show={show('description')}>
          <input value={form.description} onInput={set('description')} />
        </Field>
        <Field label="Provider" hint="optional" problem={problems.provider} show={show('provider')}>
          <select value={form.provider} onChange={set('provider')}>
            <option value="">Any</option>
            {providers.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="Kubernetes version"
          hint={versions.length ? `optional; the provider offers ${versions.join(', ')}` : 'optional'}
          problem={problems.kubernetesVersion}
          show={show('kubernetesVersion')}
        >
          <input value={form.kubernetesVersion} onInput={set('kubernetesVersion')} />
        </Field>
        <Field label="Control-plane nodes" hint="optional" show={false}>
          <select value={form.controlPlaneCount} onChange={set('controlPlaneCount')}>
            <option value="">Not preset</option>
            {counts.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <fieldset>
          <legend>A worker pool (optional)</legend>
          <Field label="Pool name" problem={problems.poolName} show={show('poolName')}>
            <input value={form.poolName} onInput={set('poolName')} />
          </Field>
          <Field label="Pool nodes" problem={problems.poolCount} show={show('poolCount')}>
            <input inputMode="numeric" value={form.poolCount} onInput={set('poolCount')} />
          </Field>
        </fieldset>
      </div>
    </ConfirmButton>
  );
}

/**
 * A template's description and Kubernetes version. Its other presets (pools, sizes, health, addons)
 * are changed through the API (`PATCH /api/v1/cluster-templates/{id}`): a form that showed only part of
 * them would drop the rest.
 */
function EditTemplate({ template, onSaved }: { template: ClusterTemplate; onSaved: () => void }) {
  const schema = useRequestSchema('/api/v1/cluster-templates');
  const [description, setDescription] = useState(template.description ?? '');
  const [kubernetesVersion, setKubernetesVersion] = useState(template.kubernetesVersion ?? '');
  const problems = {
    description: checkField(schema, 'description', description, { optional: true }),
    kubernetesVersion: checkField(schema, 'kubernetesVersion', kubernetesVersion, { optional: true }),
  };
  return (
    <ConfirmButton
      label={`Edit ${template.name}`}
      title={`Edit template ${template.name}`}
      confirmLabel="Save template"
      onConfirm={async () => {
        const problem = formProblem(problems);
        if (problem) throw new Error(problem);
        const patch = templatePatch(template, { description, kubernetesVersion });
        if (!patch) throw new Error('Nothing was changed.');
        await api.updateTemplate(template.id, patch);
        onSaved();
      }}
    >
      <div class="stack">
        <Field label="Description" hint="empty: none" problem={problems.description} show={true}>
          <input value={description} onInput={(e) => setDescription(typed(e))} />
        </Field>
        <Field
          label="Kubernetes version"
          hint="empty: clusters pick theirs"
          problem={problems.kubernetesVersion}
          show={true}
        >
          <input value={kubernetesVersion} onInput={(e) => setKubernetesVersion(typed(e))} />
        </Field>
        <p class="muted small">
          Version {template.version}; clusters created from it keep what they were created with. Its pools, sizes,
          health policy and addons change through the API (<code>PATCH /api/v1/cluster-templates/{template.id}</code>).
        </p>
      </div>
    </ConfirmButton>
  );
}

const EMPTY_PAIR: PairForm = {
  name: '',
  clusterA: '',
  clusterB: '',
  agentUrlA: '',
  agentUrlB: '',
  singletons: '',
  preferredSide: 'a',
};

function CreatePair({ clusters, onCreated }: { clusters: Cluster[] | undefined; onCreated: () => void }) {
  const schema = useRequestSchema('/api/v1/pairs');
  const { form, set, show, problems, submit } = useCreateForm(
    EMPTY_PAIR,
    (f) => pairProblems(f, schema),
    (f) => api.createPair(pairRequest(f)),
    onCreated,
  );
  const choices = (clusters ?? []).map((c) => (
    <option key={c.id} value={c.id}>
      {c.name}
    </option>
  ));
  return (
    <ConfirmButton label="New pair" title="New two-node pair" confirmLabel="Create pair" onConfirm={submit}>
      <div class="stack">
        <p class="muted small">
          Two Ready single-node clusters whose provider can power their machines off; cx moves the singleton Deployments
          between them.
        </p>
        <Field label="Name" hint="lower-case letters, digits and -" problem={problems.name} show={show('name')}>
          <input value={form.name} onInput={set('name')} />
        </Field>
        <Field label="Side a cluster" problem={problems.clusterA} show={show('clusterA')}>
          <select value={form.clusterA} onChange={set('clusterA')}>
            <option value="">Choose…</option>
            {choices}
          </select>
        </Field>
        <Field
          label="Side a agent URL"
          hint="optional: http://<its machine's address>:9640"
          problem={problems.agentUrlA}
          show={show('agentUrlA')}
        >
          <input value={form.agentUrlA} onInput={set('agentUrlA')} />
        </Field>
        <Field label="Side b cluster" problem={problems.clusterB} show={show('clusterB')}>
          <select value={form.clusterB} onChange={set('clusterB')}>
            <option value="">Choose…</option>
            {choices}
          </select>
        </Field>
        <Field
          label="Side b agent URL"
          hint="optional: http://<its machine's address>:9640"
          problem={problems.agentUrlB}
          show={show('agentUrlB')}
        >
          <input value={form.agentUrlB} onInput={set('agentUrlB')} />
        </Field>
        <Field
          label="Singletons"
          hint="Deployments on both sides, namespace/name, one per line"
          problem={problems.singletons}
          show={show('singletons')}
        >
          <textarea rows={3} value={form.singletons} onInput={set('singletons')} />
        </Field>
        <Field label="Preferred side" hint="where they run while both sides are healthy" show={false}>
          <select value={form.preferredSide} onChange={set('preferredSide')}>
            <option value="a">a</option>
            <option value="b">b</option>
          </select>
        </Field>
      </div>
    </ConfirmButton>
  );
}
