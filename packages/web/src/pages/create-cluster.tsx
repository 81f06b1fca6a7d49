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
  AddonCatalogEntry,
  ClusterCreateBody,
  ClusterCreateRequest,
  ClusterTemplate,
  HealthPolicy,
  IpPool,
  ProviderInfo,
  ResourceGroup,
} from '@cx/api-schemas';
import {
  footprint,
  parseMaxUnhealthy,
  quotaLines,
  topologyShape,
  TOPOLOGIES,
  type QuotaLine,
  type Topology,
} from '../cluster-options.js';
import { mayOperate, type Access } from '../access.js';
import { api } from '../api.js';
import { ProblemMessage } from '../components.js';
import { Link, navigate } from '../router.js';
import { parseLabels, parseTaints } from '../scheduling.js';
import { createRequestSchema, fieldProblem, requestSchema, type JsonSchema } from '../schema.js';
import {
  EMPTY_PAIR_DRAFT,
  pairDeclaration,
  pairDraftProblems,
  sideNames,
  type PairDraft,
  type Side,
} from '../pair-wizard.js';
import { PairCreation } from './create-pair.js';

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

/** The machines the form says, for the quota count (unparsable numbers count as nothing). */
function shapeOf(cpCount: string, cpVcpus: string, cpMemory: string, pools: PoolDraft[]) {
  const size = (s: string): number | undefined => (s.trim() && Number.isFinite(Number(s)) ? Number(s) : undefined);
  const count = (s: string): number => (Number.isInteger(Number(s)) && Number(s) > 0 ? Number(s) : 0);
  return {
    controlPlane: { count: count(cpCount), vcpus: size(cpVcpus), memoryMiB: size(cpMemory) },
    nodePools: pools.map((p) => ({ count: count(p.count), vcpus: size(p.vcpus), memoryMiB: size(p.memoryMiB) })),
  };
}

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
  const [topology, setTopology] = useState<Topology>('custom');
  const [vipPool, setVipPool] = useState('');
  const [ipPools, setIpPools] = useState<IpPool[] | undefined>(undefined);
  const [unhealthyTimeout, setUnhealthyTimeout] = useState('');
  const [maxUnhealthy, setMaxUnhealthy] = useState('');
  const [remediation, setRemediation] = useState('');
  const [fencing, setFencing] = useState('');
  const [catalog, setCatalog] = useState<AddonCatalogEntry[]>([]);
  const [pairSchema, setPairSchema] = useState<JsonSchema | undefined>(undefined);
  const [pairDraft, setPairDraft] = useState<PairDraft>(EMPTY_PAIR_DRAFT);
  /** The pair being created from the sent form (topology pair): its sides' requests. */
  const [pairStart, setPairStart] = useState<Record<Side, ClusterCreateBody> | undefined>(undefined);
  const [addons, setAddons] = useState<string[]>([]);
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const globalOperator = mayOperate(access.global);

  useEffect(() => {
    Promise.all([
      api.providers(),
      api.resourceGroups(),
      createRequestSchema(),
      api.templates(),
      api.addonCatalog(),
      requestSchema('POST', '/api/v1/pairs'),
    ]).then(([p, g, s, t, c, ps]) => {
      setTemplates(t);
      setCatalog(c);
      setPairSchema(ps);
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
    }, setLoadError);
    // IP pools are listed to administrators only; anyone else types the pool's name.
    if (access.global === 'admin') api.ipPools().then(setIpPools, () => setIpPools(undefined));
  }, []);

  const chosen = providers?.find((p) => p.name === provider);
  const props = schema?.properties ?? {};
  // A pair's two sides are the cluster this form describes, so a pair is made without a template.
  const isPair = topology === 'pair' && !templateId;
  const poolProps = props['nodePools']?.items?.properties ?? {};
  const pairProblems = isPair ? pairDraftProblems(name, pairDraft, schema, pairSchema) : {};
  // A pair's witness fences a lost side by powering its machine off: a provider that cannot is no use.
  const powerProblem =
    isPair && chosen && !chosen.capabilities?.power
      ? `${chosen.name} cannot power its machines off, so a lost side could never be fenced: choose another provider`
      : undefined;
  const nameProblem = name || touched ? (isPair ? pairProblems.name : fieldProblem(props['name'], name)) : undefined;
  const poolProblems = pools.map((pool) => ({
    name: fieldProblem(poolProps['name'], pool.name),
    count: fieldProblem(poolProps['count'], Number(pool.count), pool.count),
    labels: problemOf(parseLabels(pool.labels)),
    taints: problemOf(parseTaints(pool.taints)),
  }));
  const duplicate = new Set(pools.map((p) => p.name)).size !== pools.length;
  const template = templates.find((t) => t.id === templateId);
  const healthProps = props['health']?.properties ?? {};
  const maxUnhealthyParsed = parseMaxUnhealthy(maxUnhealthy);
  const healthProblems = {
    unhealthyTimeout: unhealthyTimeout.trim()
      ? fieldProblem(healthProps['unhealthyTimeoutSeconds'], Number(unhealthyTimeout), unhealthyTimeout)
      : undefined,
    maxUnhealthy: 'problem' in maxUnhealthyParsed ? maxUnhealthyParsed.problem : undefined,
  };
  const vipOffered = !!chosen?.capabilities?.controlPlaneVip;
  // Addons go in through the cluster's Kubernetes API: a provider without one (sim) takes none.
  const addonsOffered = !!chosen?.capabilities?.kubernetesApi;
  const vipProblem =
    vipOffered && vipPool ? fieldProblem(props['controlPlane']?.properties?.['vipPool'], vipPool) : undefined;
  // What the request costs against the chosen group's quotas, counted as sm will count it.
  const cpSchema = props['controlPlane']?.properties ?? {};
  const sizeDefaults = {
    vcpus: Number(cpSchema['vcpus']?.default ?? 2),
    memoryMiB: Number(cpSchema['memoryMiB']?.default ?? 4096),
  };
  const chosenGroup = groups.find((g) => g.id === group);
  // A pair is two such clusters.
  const needed = footprint(shapeOf(cpCount, cpVcpus, cpMemory, pools), sizeDefaults);
  const times = isPair ? 2 : 1;
  const quotas: QuotaLine[] =
    chosenGroup && !template
      ? quotaLines(chosenGroup, {
          clusters: needed.clusters * times,
          nodes: needed.nodes * times,
          vcpus: needed.vcpus * times,
          memoryMiB: needed.memoryMiB * times,
        })
      : chosenGroup
        ? quotaLines(chosenGroup, { clusters: 1, nodes: 0, vcpus: 0, memoryMiB: 0 })
        : [];
  const overQuota = quotas.filter((q) => q.over);
  const invalid =
    (isPair ? Object.keys(pairProblems).length > 0 || !!powerProblem : !!fieldProblem(props['name'], name)) ||
    overQuota.length > 0 ||
    (template
      ? false
      : !provider ||
        !version ||
        duplicate ||
        !!healthProblems.unhealthyTimeout ||
        !!healthProblems.maxUnhealthy ||
        !!vipProblem ||
        poolProblems.some((p) => p.name || p.count || p.labels || p.taints));

  /** The request the form says, once it is valid. */
  const request = (): ClusterCreateBody => {
    const number = (s: string): number | undefined => (s.trim() ? Number(s) : undefined);
    const health: HealthPolicy = {
      ...(number(unhealthyTimeout) !== undefined ? { unhealthyTimeoutSeconds: number(unhealthyTimeout) } : {}),
      ...('value' in maxUnhealthyParsed && maxUnhealthyParsed.value !== undefined
        ? { maxUnhealthy: maxUnhealthyParsed.value }
        : {}),
      ...(remediation ? { remediation: remediation as HealthPolicy['remediation'] } : {}),
      ...(fencing ? { fencing: fencing as HealthPolicy['fencing'] } : {}),
    };
    return {
      name,
      provider,
      kubernetesVersion: version,
      controlPlane: {
        count: Number(cpCount) as ClusterCreateRequest['controlPlane']['count'],
        ...(number(cpVcpus) !== undefined ? { vcpus: number(cpVcpus) } : {}),
        ...(number(cpMemory) !== undefined ? { memoryMiB: number(cpMemory) } : {}),
        ...(schedulable ? { schedulable } : {}),
        ...(vipOffered && vipPool ? { vipPool } : {}),
      },
      ...(group ? { resourceGroup: group } : {}),
      ...(Object.keys(health).length ? { health } : {}),
      ...(addonsOffered && addons.length ? { addons: addons.map((name) => ({ name })) } : {}),
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
    if (isPair) {
      // Both sides are this one cluster under their own names; PairCreation creates them and declares the pair.
      const names = sideNames(name, pairDraft);
      setPairStart({ a: { ...request(), name: names.a }, b: { ...request(), name: names.b } });
      return;
    }
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
  const setPairField =
    (key: keyof PairDraft) =>
    (e: Event): void =>
      setPairDraft({ ...pairDraft, [key]: (e.currentTarget as HTMLInputElement).value });
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
      {pairStart ? (
        <PairCreation
          pairName={name.trim()}
          requests={pairStart}
          declaration={(ids) => pairDeclaration(name, pairDraft, ids)}
          onBack={() => setPairStart(undefined)}
          isAdmin={access.global === 'admin'}
        />
      ) : !providers || !schema ? (
        !loadError ? (
          <p aria-live="polite">Loading the providers…</p>
        ) : null
      ) : (
        <form class="stack wizard" onSubmit={submit} noValidate>
          <fieldset>
            <legend>1. Name and place</legend>
            <Field
              label={isPair ? 'Pair name' : 'Name'}
              problem={nameProblem}
              hint={
                isPair
                  ? "Lower-case letters, digits and dashes; the sides' clusters are named after it unless you name them below"
                  : 'Lower-case letters, digits and dashes'
              }
            >
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
                <legend>3. Topology and control plane</legend>
                <Field label="Topology" hint={TOPOLOGIES[topology].hint}>
                  <select
                    value={topology}
                    onChange={(e) => {
                      const next = (e.currentTarget as HTMLSelectElement).value as Topology;
                      setTopology(next);
                      const shape = topologyShape(next);
                      if (!shape) return;
                      setCpCount(shape.cpCount);
                      setSchedulable(shape.schedulable);
                      setPools(shape.workers ? (pools.length ? pools : [newPool(0)]) : []);
                    }}
                  >
                    {(Object.keys(TOPOLOGIES) as Topology[]).map((t) => (
                      <option key={t} value={t}>
                        {TOPOLOGIES[t].label}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label="Control-plane machines" hint="Odd, so that etcd keeps a majority">
                  <select
                    value={cpCount}
                    onChange={(e) => {
                      setTopology('custom');
                      setCpCount((e.currentTarget as HTMLSelectElement).value);
                    }}
                  >
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
                    onChange={(e) => {
                      setTopology('custom');
                      setSchedulable((e.currentTarget as HTMLInputElement).checked);
                    }}
                  />
                  Run workloads on the control-plane machines too (no control-plane taint: with three, the converged
                  topology)
                </label>
                {vipOffered ? (
                  <Field
                    label="Control-plane VIP from IP pool"
                    hint="The API is reached at an address of this pool, kept by the control-plane machines; empty: no VIP"
                    problem={vipProblem}
                  >
                    {ipPools ? (
                      <select
                        value={vipPool}
                        onChange={(e) => setVipPool((e.currentTarget as HTMLSelectElement).value)}
                      >
                        <option value="">No VIP</option>
                        {ipPools.map((p) => (
                          <option key={p.id} value={p.name}>
                            {p.name} ({p.allocated} of {p.size} addresses allocated)
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input value={vipPool} onInput={(e) => setVipPool((e.currentTarget as HTMLInputElement).value)} />
                    )}
                  </Field>
                ) : null}
              </fieldset>
              {isPair ? (
                <PairFields
                  draft={pairDraft}
                  names={sideNames(name, pairDraft)}
                  problems={touched || name ? pairProblems : {}}
                  powerProblem={powerProblem}
                  set={setPairField}
                />
              ) : null}
              <fieldset hidden={isPair}>
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
                <button
                  type="button"
                  onClick={() => {
                    if (topology !== 'ha') setTopology('custom');
                    setPools([...pools, newPool(pools.length)]);
                  }}
                >
                  Add a pool
                </button>
              </fieldset>
              <fieldset>
                <legend>5. Node health</legend>
                <p class="muted small">
                  How cx finds and mends a lost node (docs/node-health.md). Empty fields take the defaults.
                </p>
                <Field
                  label="Unhealthy after (seconds NotReady)"
                  hint="Default 30"
                  problem={healthProblems.unhealthyTimeout}
                >
                  <input
                    type="number"
                    inputMode="numeric"
                    value={unhealthyTimeout}
                    onInput={(e) => setUnhealthyTimeout((e.currentTarget as HTMLInputElement).value)}
                  />
                </Field>
                <Field
                  label="At most unhealthy at once"
                  hint="A count (2) or a percentage (40%, the default); beyond it nothing is fenced: a partition, not a failure"
                  problem={healthProblems.maxUnhealthy}
                >
                  <input
                    value={maxUnhealthy}
                    onInput={(e) => setMaxUnhealthy((e.currentTarget as HTMLInputElement).value)}
                  />
                </Field>
                <Field label="Remediation">
                  <select
                    value={remediation}
                    onChange={(e) => setRemediation((e.currentTarget as HTMLSelectElement).value)}
                  >
                    <option value="">Default (replace)</option>
                    {(healthProps['remediation']?.enum ?? []).map((r) => (
                      <option key={String(r)} value={String(r)}>
                        {String(r)}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label="Fencing" hint="How a node is proven off before anything moves">
                  <select value={fencing} onChange={(e) => setFencing((e.currentTarget as HTMLSelectElement).value)}>
                    <option value="">Default (provider)</option>
                    {(healthProps['fencing']?.enum ?? [])
                      .filter((f) => f === 'provider' || chosen?.capabilities?.bareMetalHosts)
                      .map((f) => (
                        <option key={String(f)} value={String(f)}>
                          {String(f)}
                        </option>
                      ))}
                  </select>
                </Field>
              </fieldset>
              <fieldset>
                <legend>6. Addons</legend>
                {addonsOffered ? (
                  <>
                    <p class="muted small">
                      Installed by the create workflow with their default settings, before the cluster is Ready (a pod
                      network before its nodes are awaited). Change settings or add more on the cluster's page.
                    </p>
                    {catalog.map((a) => (
                      <div key={a.name}>
                        <label class="check">
                          <input
                            type="checkbox"
                            aria-describedby={`addon-${a.name}-about`}
                            checked={addons.includes(a.name)}
                            onChange={(e) =>
                              setAddons(
                                (e.currentTarget as HTMLInputElement).checked
                                  ? [...addons, a.name]
                                  : addons.filter((n) => n !== a.name),
                              )
                            }
                          />
                          {a.name} {a.version}
                        </label>
                        <span id={`addon-${a.name}-about`} class="muted small">
                          {a.description}
                        </span>
                      </div>
                    ))}
                  </>
                ) : (
                  <p class="muted small">
                    {provider} clusters run no Kubernetes API: no addon can be installed into them.
                  </p>
                )}
              </fieldset>
            </>
          )}
          {quotas.length > 0 ? <QuotaLeft group={chosenGroup!.name} lines={quotas} /> : null}
          {touched && invalid && !overQuota.length ? (
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
              {busy ? 'Creating…' : isPair ? 'Create pair' : 'Create cluster'}
            </button>
          </div>
        </form>
      )}
    </>
  );
}

const QUOTA_NAMES = { clusters: 'clusters', nodes: 'machines', vcpus: 'vCPUs', memoryMiB: 'MiB of memory' } as const;

/** What is left of the group's quotas and what this cluster needs; a request over one is not sent. */
function QuotaLeft({ group, lines }: { group: string; lines: QuotaLine[] }) {
  const over = lines.filter((l) => l.over);
  return (
    <section class="card" aria-labelledby="quota-title">
      <h2 id="quota-title">Quota left in {group}</h2>
      <ul data-testid="quota">
        {lines.map((l) => (
          <li key={l.quota} class={l.over ? 'error-text' : ''}>
            {QUOTA_NAMES[l.quota]}: {l.left} of {l.limit} left; this cluster needs {l.needed}
          </li>
        ))}
      </ul>
      {over.length ? (
        <p class="error-text" role="alert">
          Over the quota of {over.map((l) => QUOTA_NAMES[l.quota]).join(', ')}: make the cluster smaller, choose another
          resource group, or ask an administrator to raise the quota.
        </p>
      ) : null}
    </section>
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

/**
 * What a two-node pair needs beyond its sides' cluster (docs/two-node-pair.md): the sides' names,
 * where their agents listen, the singleton Deployments and the preferred side.
 */
function PairFields(props: {
  draft: PairDraft;
  names: Record<Side, string>;
  problems: ReturnType<typeof pairDraftProblems>;
  powerProblem: string | undefined;
  set: (key: keyof PairDraft) => (e: Event) => void;
}) {
  const { draft, names, problems, set } = props;
  return (
    <fieldset>
      <legend>4. The pair</legend>
      <p class="muted small">
        Two single-node clusters, the sides a and b, each as chosen above, and the pair that joins them: cx, the
        witness, runs each singleton Deployment on one side at a time and moves it after fencing a lost side.
      </p>
      {props.powerProblem ? (
        <p class="error-text" role="alert">
          {props.powerProblem}
        </p>
      ) : null}
      <Field label="Side a cluster" hint={`Empty: ${names.a}`} problem={problems.clusterA}>
        <input value={draft.clusterA} placeholder={names.a} onInput={set('clusterA')} />
      </Field>
      <Field label="Side b cluster" hint={`Empty: ${names.b}`} problem={problems.clusterB}>
        <input value={draft.clusterB} placeholder={names.b} onInput={set('clusterB')} />
      </Field>
      <Field
        label="Side a agent URL"
        hint="Optional; empty: http://<its machine's address>:9640"
        problem={problems.agentUrlA}
      >
        <input value={draft.agentUrlA} onInput={set('agentUrlA')} />
      </Field>
      <Field
        label="Side b agent URL"
        hint="Optional; empty: http://<its machine's address>:9640"
        problem={problems.agentUrlB}
      >
        <input value={draft.agentUrlB} onInput={set('agentUrlB')} />
      </Field>
      <Field
        label="Singletons"
        hint="Deployments on both sides that run on one side at a time: namespace/name, one per line"
        problem={problems.singletons}
      >
        <textarea rows={3} value={draft.singletons} onInput={set('singletons')} />
      </Field>
      <Field label="Preferred side" hint="Where the singletons run while both sides are healthy">
        <select value={draft.preferredSide} onChange={set('preferredSide')}>
          <option value="a">a</option>
          <option value="b">b</option>
        </select>
      </Field>
    </fieldset>
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
