/**
 * The create wizard: where (resource group), what (provider, version), the control plane and the
 * worker pools. Each field is checked as it is typed against the API's own request schema, read
 * from the OpenAPI document (so its patterns and limits have one source); wfm checks again on
 * submit, and its problem detail is shown as it comes. A created cluster opens on its page, where
 * the create workflow is followed live.
 */
import { cloneElement, type JSX } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import type {
  ClusterCreateBody,
  ClusterCreateRequest,
  ClusterTemplate,
  ProviderInfo,
  ResourceGroup,
} from '@cx/api-schemas';
import { mayOperate, type Access } from '../access.js';
import { api } from '../api.js';
import { ProblemMessage } from '../components.js';
import { Link, navigate } from '../router.js';
import { parseLabels, parseTaints } from '../scheduling.js';
import { createRequestSchema, fieldProblem, type JsonSchema } from '../schema.js';

interface PoolDraft {
  name: string;
  count: string;
  vcpus: string;
  memoryMiB: string;
  labels: string;
  taints: string;
}
const newPool = (n: number): PoolDraft => ({
  name: n === 0 ? 'workers' : `pool-${n + 1}`,
  count: '1',
  vcpus: '',
  memoryMiB: '',
  labels: '',
  taints: '',
});

/** The message a parser answered instead of a value, if it did. */
const problemOf = (parsed: string | object): string | undefined => (typeof parsed === 'string' ? parsed : undefined);

export function CreateCluster({ access }: { access: Access }) {
  const [providers, setProviders] = useState<ProviderInfo[] | undefined>(undefined);
  const [groups, setGroups] = useState<ResourceGroup[]>([]);
  const [schema, setSchema] = useState<JsonSchema | undefined>(undefined);
  const [templates, setTemplates] = useState<ClusterTemplate[]>([]);
  const [templateId, setTemplateId] = useState('');
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState('');
  const [version, setVersion] = useState('');
  const [group, setGroup] = useState('');
  const [cpCount, setCpCount] = useState('1');
  const [cpVcpus, setCpVcpus] = useState('');
  const [cpMemory, setCpMemory] = useState('');
  const [schedulable, setSchedulable] = useState(false);
  const [pools, setPools] = useState<PoolDraft[]>([newPool(0)]);
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const globalOperator = mayOperate(access.global);

  useEffect(() => {
    Promise.all([api.providers(), api.resourceGroups(), createRequestSchema(), api.templates()]).then(
      ([p, g, s, t]) => {
        setTemplates(t);
        setProviders(p);
        // Those you may create in: all for a global operator, else those you operate.
        const usable = globalOperator ? g : g.filter((rg) => access.operatorGroups.has(rg.id));
        setGroups(usable);
        if (!globalOperator) setGroup(usable[0]?.id ?? '');
        setSchema(s);
        const first = p[0];
        if (first) {
          setProvider(first.name);
          setVersion(first.kubernetesVersions[first.kubernetesVersions.length - 1] ?? '');
        }
      },
      setLoadError,
    );
  }, []);

  const chosen = providers?.find((p) => p.name === provider);
  const props = schema?.properties ?? {};
  const poolProps = props['nodePools']?.items?.properties ?? {};
  const nameProblem = name || touched ? fieldProblem(props['name'], name) : undefined;
  const poolProblems = pools.map((pool) => ({
    name: fieldProblem(poolProps['name'], pool.name),
    count: fieldProblem(poolProps['count'], Number(pool.count), pool.count),
    labels: problemOf(parseLabels(pool.labels)),
    taints: problemOf(parseTaints(pool.taints)),
  }));
  const duplicate = new Set(pools.map((p) => p.name)).size !== pools.length;
  const template = templates.find((t) => t.id === templateId);
  const invalid =
    !!fieldProblem(props['name'], name) ||
    (template
      ? false
      : !provider || !version || duplicate || poolProblems.some((p) => p.name || p.count || p.labels || p.taints));

  /** The request the form says, once it is valid. */
  const request = (): ClusterCreateRequest => {
    const number = (s: string): number | undefined => (s.trim() ? Number(s) : undefined);
    return {
      name,
      provider,
      kubernetesVersion: version,
      controlPlane: {
        count: Number(cpCount) as ClusterCreateRequest['controlPlane']['count'],
        ...(number(cpVcpus) !== undefined ? { vcpus: number(cpVcpus) } : {}),
        ...(number(cpMemory) !== undefined ? { memoryMiB: number(cpMemory) } : {}),
        ...(schedulable ? { schedulable } : {}),
      },
      ...(group ? { resourceGroup: group } : {}),
      nodePools: pools.map((p) => {
        const labels = parseLabels(p.labels);
        const taints = parseTaints(p.taints);
        return {
          name: p.name,
          count: Number(p.count),
          ...(number(p.vcpus) !== undefined ? { vcpus: number(p.vcpus) } : {}),
          ...(number(p.memoryMiB) !== undefined ? { memoryMiB: number(p.memoryMiB) } : {}),
          ...(typeof labels === 'object' && Object.keys(labels).length ? { labels } : {}),
          ...(typeof taints === 'object' && taints.length ? { taints } : {}),
        };
      }),
    };
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setTouched(true);
    if (invalid) return;
    setBusy(true);
    setError(null);
    try {
      // With a template, the template gives the rest (and its addons); wfm completes and checks the request.
      const body: ClusterCreateBody = template
        ? { name, template: template.id, ...(group ? { resourceGroup: group } : {}) }
        : request();
      const accepted = await api.createCluster(body, idempotencyKey);
      navigate(`/clusters/${encodeURIComponent(accepted.cluster.id)}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const setPool = (i: number, change: Partial<PoolDraft>): void =>
    setPools(pools.map((p, j) => (j === i ? { ...p, ...change } : p)));

  if (!access.mayCreate)
    return (
      <>
        <h1 tabIndex={-1}>New cluster</h1>
        <p>You may not create clusters: that needs the operator role globally or on a resource group.</p>
      </>
    );
  return (
    <>
      <p class="crumbs">
        <Link href="/clusters">Clusters</Link> /
      </p>
      <h1 tabIndex={-1}>New cluster</h1>
      <ProblemMessage error={loadError} />
      {!providers || !schema ? (
        !loadError ? (
          <p aria-live="polite">Loading the providers…</p>
        ) : null
      ) : (
        <form class="stack wizard" onSubmit={submit} noValidate>
          <fieldset>
            <legend>1. Name and place</legend>
            <Field label="Name" problem={nameProblem} hint="Lower-case letters, digits and dashes">
              <input
                name="name"
                value={name}
                required
                autocomplete="off"
                onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
              />
            </Field>
            {groups.length > 0 ? (
              <Field label="Resource group">
                <select value={group} onChange={(e) => setGroup((e.currentTarget as HTMLSelectElement).value)}>
                  {globalOperator ? <option value="">None (global)</option> : null}
                  {groups.map((g) => (
                    <option key={g.id} value={g.id}>
                      {g.name}
                    </option>
                  ))}
                </select>
              </Field>
            ) : null}
            {templates.length > 0 ? (
              <Field label="Template" hint="A template presets the rest of the cluster, and its addons">
                <select
                  value={templateId}
                  onChange={(e) => setTemplateId((e.currentTarget as HTMLSelectElement).value)}
                >
                  <option value="">None: choose everything below</option>
                  {templates.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                      {t.description ? ` — ${t.description}` : ''}
                    </option>
                  ))}
                </select>
              </Field>
            ) : null}
          </fieldset>
          {template ? (
            <TemplateSummary template={template} />
          ) : (
            <>
              <fieldset>
                <legend>2. Provider and version</legend>
                <Field label="Provider">
                  <select
                    value={provider}
                    onChange={(e) => {
                      const next = (e.currentTarget as HTMLSelectElement).value;
                      setProvider(next);
                      const versions = providers?.find((p) => p.name === next)?.kubernetesVersions ?? [];
                      setVersion(versions[versions.length - 1] ?? '');
                    }}
                  >
                    {(providers ?? []).map((p) => (
                      <option key={p.name} value={p.name}>
                        {p.name}
                      </option>
                    ))}
                  </select>
                </Field>
                {chosen?.takesCredential && !group ? (
                  <p class="muted small">
                    {chosen.name} machines are made with a resource group's credential: choose a resource group that has
                    one for {chosen.name}.
                  </p>
                ) : null}
                <Field label="Kubernetes version">
                  <select value={version} onChange={(e) => setVersion((e.currentTarget as HTMLSelectElement).value)}>
                    {(chosen?.kubernetesVersions ?? []).map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                </Field>
              </fieldset>
              <fieldset>
                <legend>3. Control plane</legend>
                <Field label="Control-plane machines" hint="Odd, so that etcd keeps a majority">
                  <select value={cpCount} onChange={(e) => setCpCount((e.currentTarget as HTMLSelectElement).value)}>
                    {(props['controlPlane']?.properties?.['count']?.enum ?? []).map((n) => (
                      <option key={String(n)} value={String(n)}>
                        {String(n)}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label="Control-plane vCPUs" hint="Empty: the provider's default">
                  <input
                    type="number"
                    min={1}
                    value={cpVcpus}
                    onInput={(e) => setCpVcpus((e.currentTarget as HTMLInputElement).value)}
                  />
                </Field>
                <Field label="Control-plane memory (MiB)" hint="Empty: the provider's default">
                  <input
                    type="number"
                    min={1}
                    value={cpMemory}
                    onInput={(e) => setCpMemory((e.currentTarget as HTMLInputElement).value)}
                  />
                </Field>
                <label class="check">
                  <input
                    type="checkbox"
                    checked={schedulable}
                    onChange={(e) => setSchedulable((e.currentTarget as HTMLInputElement).checked)}
                  />
                  Run workloads on the control-plane machines too (no control-plane taint: with three, the converged
                  topology)
                </label>
              </fieldset>
              <fieldset>
                <legend>4. Worker pools</legend>
                {duplicate ? (
                  <p class="error-text" role="alert">
                    Pool names must differ.
                  </p>
                ) : null}
                {pools.map((pool, i) => (
                  <div class="pool" key={i} role="group" aria-label={`Pool ${i + 1}`}>
                    <Field label="Pool name" problem={poolProblems[i]!.name}>
                      <input
                        value={pool.name}
                        onInput={(e) => setPool(i, { name: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <Field label="Machines" problem={poolProblems[i]!.count}>
                      <input
                        type="number"
                        inputMode="numeric"
                        value={pool.count}
                        onInput={(e) => setPool(i, { count: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <Field label="vCPUs" hint="Empty: the provider's default">
                      <input
                        type="number"
                        min={1}
                        value={pool.vcpus}
                        onInput={(e) => setPool(i, { vcpus: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <Field label="Memory (MiB)" hint="Empty: the provider's default">
                      <input
                        type="number"
                        min={1}
                        value={pool.memoryMiB}
                        onInput={(e) => setPool(i, { memoryMiB: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <Field label="Labels" hint="key=value, comma-separated" problem={poolProblems[i]!.labels}>
                      <input
                        value={pool.labels}
                        onInput={(e) => setPool(i, { labels: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <Field
                      label="Taints"
                      hint="key=value:NoSchedule, comma-separated"
                      problem={poolProblems[i]!.taints}
                    >
                      <input
                        value={pool.taints}
                        onInput={(e) => setPool(i, { taints: (e.currentTarget as HTMLInputElement).value })}
                      />
                    </Field>
                    <button type="button" onClick={() => setPools(pools.filter((_, j) => j !== i))}>
                      Remove pool {pool.name}
                    </button>
                  </div>
                ))}
                <button type="button" onClick={() => setPools([...pools, newPool(pools.length)])}>
                  Add a pool
                </button>
              </fieldset>
            </>
          )}
          {touched && invalid ? (
            <p class="error-text" role="alert">
              Some fields need attention: they are marked above.
            </p>
          ) : null}
          <ProblemMessage error={error} />
          <div class="actions">
            <Link href="/clusters" class="button">
              Cancel
            </Link>
            <button type="submit" class="primary" disabled={busy || !providers}>
              {busy ? 'Creating…' : 'Create cluster'}
            </button>
          </div>
        </form>
      )}
    </>
  );
}

/** A labelled control with its hint and its problem, tied to it for screen readers. */
function Field(props: { label: string; hint?: string; problem?: string | undefined; children: JSX.Element }) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : '', props.problem ? `${id}-problem` : ''].filter(Boolean).join(' ');
  const child = cloneElement(props.children, {
    id,
    'aria-invalid': props.problem ? 'true' : undefined,
    'aria-describedby': described || undefined,
  });
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {child}
      {props.hint ? (
        <span id={`${id}-hint`} class="muted small">
          {props.hint}
        </span>
      ) : null}
      {props.problem ? (
        <span id={`${id}-problem`} class="error-text small">
          {props.problem}
        </span>
      ) : null}
    </div>
  );
}

/** What a template presets, in words: the wizard sends only the name and the template. */
function TemplateSummary({ template }: { template: ClusterTemplate }) {
  const pools = template.nodePools?.map((p) => `${p.name} × ${p.count}`).join(', ');
  return (
    <section class="card" aria-label={`Template ${template.name}`}>
      <h2>From template {template.name}</h2>
      <dl class="facts">
        <dt>Provider</dt>
        <dd>{template.provider ?? 'not preset'}</dd>
        <dt>Kubernetes</dt>
        <dd>{template.kubernetesVersion ?? 'not preset'}</dd>
        <dt>Control plane</dt>
        <dd>{template.controlPlane ? `${template.controlPlane.count} machines` : 'not preset'}</dd>
        <dt>Worker pools</dt>
        <dd>{pools || 'none'}</dd>
        <dt>Addons</dt>
        <dd>{template.addons.map((a) => a.name).join(', ') || 'none'}</dd>
      </dl>
    </section>
  );
}
