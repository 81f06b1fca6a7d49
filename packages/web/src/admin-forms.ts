/**
 * What the admin pages' forms mean as API requests: a grant from its fields, a credential's
 * provider settings from the JSON typed, the audit filters as the API's query, and the create forms
 * of resource groups, IP pools, hosts, templates and pairs. Each answers the request, or a sentence
 * saying what is wrong (shown to the person before anything is sent); fields are checked against
 * the API's own request schema (from its OpenAPI document) as they are typed.
 */
import type {
  AuditQuery,
  ClusterTemplate,
  ClusterTemplateCreateRequest,
  ClusterTemplatePatchRequest,
  GrantCreateRequest,
  HostCreateRequest,
  IpPoolCreateRequest,
  PairCreateRequest,
  PairSingleton,
  LdapSettingsRequest,
  OidcSettingsRequest,
  Quotas,
  ResourceGroup,
  ResourceGroupCreateRequest,
  ResourceGroupPatchRequest,
} from '@cx/api-schemas';
import { fieldProblem, type JsonSchema } from './schema.js';

export interface GrantForm {
  subjectKind: GrantCreateRequest['subject']['kind'];
  subjectName: string;
  objectKind: GrantCreateRequest['object']['kind'];
  objectId: string;
  role: GrantCreateRequest['role'];
}

export function grantRequest(form: GrantForm): GrantCreateRequest | string {
  const name = form.subjectName.trim();
  if (!name)
    return form.subjectKind === 'user'
      ? 'Name the user to grant'
      : 'Name the group to grant (a local group, an LDAP group DN or an OIDC group)';
  if (form.objectKind === 'global')
    return { subject: { kind: form.subjectKind, name }, object: { kind: 'global' }, role: form.role };
  if (!form.objectId)
    return `Choose the ${form.objectKind === 'cluster' ? 'cluster' : 'resource group'} the role is on`;
  return {
    subject: { kind: form.subjectKind, name },
    object: { kind: form.objectKind, id: form.objectId },
    role: form.role,
  };
}

/** A credential's provider settings: empty is none, otherwise a JSON object. */
export function parseSettings(text: string): Record<string, unknown> | string {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Settings are not JSON: ${(error as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'Settings must be a JSON object, such as {"datacenter": "dc1"}';
  return value as Record<string, unknown>;
}

/** The audit page's filters as typed: texts, and times from `datetime-local` fields (local time). */
export interface AuditFilters {
  actor: string;
  action: string;
  targetKind: string;
  targetId: string;
  outcome: '' | 'success' | 'failure';
  since: string;
  until: string;
}

export const NO_AUDIT_FILTERS: AuditFilters = {
  actor: '',
  action: '',
  targetKind: '',
  targetId: '',
  outcome: '',
  since: '',
  until: '',
};

/** The API's audit query for these filters (times in UTC), or what is wrong with a time. */
export function auditQuery(filters: AuditFilters, limit: number): Partial<AuditQuery> | string {
  const query: Partial<AuditQuery> = { limit };
  for (const key of ['actor', 'action', 'targetKind', 'targetId'] as const) {
    const value = filters[key].trim();
    if (value) query[key] = value;
  }
  if (filters.outcome) query.outcome = filters.outcome;
  for (const key of ['since', 'until'] as const) {
    if (!filters[key]) continue;
    const at = new Date(filters[key]);
    if (Number.isNaN(at.getTime())) return `${key === 'since' ? 'From' : 'Until'}: not a date and time`;
    query[key] = at.toISOString();
  }
  if (query.since && query.until && query.since > query.until) return '"From" is after "Until"';
  return query;
}

/** A quota's use in words: "3 of 10", or "3 (no limit)". */
export function quotaUse(group: Pick<ResourceGroup, 'quotas' | 'usage'>, key: keyof Quotas): string {
  const limit = group.quotas[key];
  return limit === undefined ? `${group.usage[key]} (no limit)` : `${group.usage[key]} of ${limit}`;
}

/** The directory settings form as typed. */
export interface LdapForm {
  url: string;
  startTls: boolean;
  caCert: string;
  bindDn: string;
  bindPassword: string;
  userBaseDn: string;
  userFilter: string;
  groupBaseDn: string;
  groupFilter: string;
}

/** The settings request of the form: empty optional fields left out (an empty password keeps the saved one). */
export function ldapSettingsRequest(form: LdapForm): LdapSettingsRequest {
  const text = (value: string): string | undefined => value.trim() || undefined;
  const optional = {
    caCert: text(form.caCert),
    bindDn: text(form.bindDn),
    bindPassword: form.bindPassword || undefined,
    groupBaseDn: text(form.groupBaseDn),
    userFilter: text(form.userFilter),
    groupFilter: text(form.groupFilter),
  };
  return {
    url: form.url.trim(),
    startTls: form.startTls,
    userBaseDn: form.userBaseDn.trim(),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/** The single sign-on settings form as typed. */
export interface OidcForm {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  usernameClaim: string;
  groupsClaim: string;
  allowHttp: boolean;
}

/** The settings request of the form: an empty secret left out (the saved one is kept). */
export function oidcSettingsRequest(form: OidcForm): OidcSettingsRequest {
  return {
    issuer: form.issuer.trim(),
    clientId: form.clientId.trim(),
    ...(form.clientSecret ? { clientSecret: form.clientSecret } : {}),
    ...(form.scopes.trim() ? { scopes: form.scopes.trim().replace(/\s+/g, ' ') } : {}),
    ...(form.usernameClaim.trim() ? { usernameClaim: form.usernameClaim.trim() } : {}),
    ...(form.groupsClaim.trim() ? { groupsClaim: form.groupsClaim.trim() } : {}),
    allowHttp: form.allowHttp,
  };
}

// ---- create forms, checked against the API's request schemas ----------------------------------------

/** A property of a request schema by its dotted path (`bmc.address`; `addresses[]` for an array's items). */
export function schemaAt(schema: JsonSchema | undefined, at: string): JsonSchema | undefined {
  let current = schema;
  for (const part of at.split('.')) {
    const items = part.endsWith('[]');
    current = current?.properties?.[items ? part.slice(0, -2) : part];
    if (items) current = current?.items;
  }
  return current;
}

/** What is wrong with a typed value by the schema at `at`; an empty optional field has nothing wrong. */
export function checkField(
  schema: JsonSchema | undefined,
  at: string,
  raw: string,
  options: { number?: boolean; optional?: boolean } = {},
): string | undefined {
  if (options.optional && raw.trim() === '') return undefined;
  const property = schemaAt(schema, at);
  return options.number ? fieldProblem(property, Number(raw), raw.trim()) : fieldProblem(property, raw);
}

/** The fields that have a problem, as one sentence to show when the form is sent anyway, or undefined. */
export function formProblem(problems: Record<string, string | undefined>): string | undefined {
  const found = Object.entries(problems).filter(([, problem]) => problem);
  return found.length ? `Correct these fields first: ${found.map(([f, p]) => `${f} (${p})`).join('; ')}` : undefined;
}

/** Items separated by commas or new lines, blanks dropped. */
export function parseList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `key=value` labels, separated by commas or new lines. */
export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const item of parseList(text)) {
    const at = item.indexOf('=');
    if (at <= 0) return `Label "${item}" is not key=value`;
    labels[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return labels;
}

export interface ResourceGroupForm {
  name: string;
  description: string;
  credentialId: string;
  clusters: string;
  nodes: string;
  vcpus: string;
  memoryMiB: string;
}

export const QUOTA_KEYS = ['clusters', 'nodes', 'vcpus', 'memoryMiB'] as const;

export function resourceGroupProblems(form: ResourceGroupForm, schema: JsonSchema | undefined) {
  return {
    name: checkField(schema, 'name', form.name),
    description: checkField(schema, 'description', form.description, { optional: true }),
    ...Object.fromEntries(
      QUOTA_KEYS.map((key) => [key, checkField(schema, `quotas.${key}`, form[key], { number: true, optional: true })]),
    ),
  } as Record<keyof ResourceGroupForm, string | undefined>;
}

export function resourceGroupRequest(form: ResourceGroupForm): ResourceGroupCreateRequest {
  const quotas: ResourceGroupCreateRequest['quotas'] = {};
  for (const key of QUOTA_KEYS) if (form[key].trim()) quotas[key] = Number(form[key]);
  return {
    name: form.name.trim(),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    ...(form.credentialId ? { credentialId: form.credentialId } : {}),
    quotas,
  };
}

/** A group's form as it stands, for editing it: a quota it does not set is an empty field (no limit). */
export function resourceGroupForm(group: Pick<ResourceGroup, 'name' | 'description' | 'credentialId' | 'quotas'>) {
  const form: ResourceGroupForm = {
    name: group.name,
    description: group.description ?? '',
    credentialId: group.credentialId ?? '',
    clusters: '',
    nodes: '',
    vcpus: '',
    memoryMiB: '',
  };
  for (const key of QUOTA_KEYS) if (group.quotas[key] !== undefined) form[key] = String(group.quotas[key]);
  return form;
}

/**
 * An edited group as the API's PATCH: every field is sent, since each replaces the stored one (an
 * emptied description clears it, no credential is null, the quotas left are the only limits).
 */
export function resourceGroupPatch(form: ResourceGroupForm): ResourceGroupPatchRequest {
  const { description, credentialId, quotas } = resourceGroupRequest(form);
  return { description: description ?? '', credentialId: credentialId ?? null, quotas };
}

export interface IpPoolForm {
  name: string;
  ranges: string;
  description: string;
}

export function ipPoolProblems(form: IpPoolForm, schema: JsonSchema | undefined) {
  return {
    name: checkField(schema, 'name', form.name),
    ranges: checkField(schema, 'ranges', form.ranges),
    description: checkField(schema, 'description', form.description, { optional: true }),
  };
}

export function ipPoolRequest(form: IpPoolForm): IpPoolCreateRequest {
  return {
    name: form.name.trim(),
    ranges: form.ranges.replace(/\s+/g, ''),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
  };
}

export interface HostForm {
  name: string;
  protocol: 'redfish' | 'ipmi';
  address: string;
  username: string;
  password: string;
  caCert: string;
  insecure: boolean;
  systemId: string;
  bootMac: string;
  addresses: string;
  labels: string;
  vcpus: string;
  memoryMiB: string;
  diskGiB: string;
}

export function hostProblems(form: HostForm, schema: JsonSchema | undefined) {
  const addresses = parseList(form.addresses);
  const labels = parseLabels(form.labels);
  return {
    name: checkField(schema, 'name', form.name),
    address: checkField(schema, 'bmc.address', form.address),
    username: checkField(schema, 'bmc.username', form.username),
    password: checkField(schema, 'bmc.password', form.password),
    systemId: checkField(schema, 'bmc.systemId', form.systemId, { optional: true }),
    bootMac: checkField(schema, 'bootMac', form.bootMac, { optional: true }),
    addresses:
      addresses.length === 0
        ? 'required'
        : addresses.map((a) => checkField(schema, 'addresses[]', a)).find((p) => p !== undefined),
    labels: typeof labels === 'string' ? labels : undefined,
    vcpus: checkField(schema, 'capacity.vcpus', form.vcpus, { number: true }),
    memoryMiB: checkField(schema, 'capacity.memoryMiB', form.memoryMiB, { number: true }),
    diskGiB: checkField(schema, 'capacity.diskGiB', form.diskGiB, { number: true, optional: true }),
  };
}

export function hostRequest(form: HostForm): HostCreateRequest {
  const labels = parseLabels(form.labels);
  return {
    name: form.name.trim(),
    bmc: {
      protocol: form.protocol,
      address: form.address.trim(),
      username: form.username,
      password: form.password,
      insecure: form.insecure,
      ...(form.caCert.trim() ? { caCert: form.caCert } : {}),
      ...(form.systemId.trim() ? { systemId: form.systemId.trim() } : {}),
    },
    ...(form.bootMac.trim() ? { bootMac: form.bootMac.trim() } : {}),
    addresses: parseList(form.addresses),
    labels: typeof labels === 'string' ? {} : labels,
    capacity: {
      vcpus: Number(form.vcpus),
      memoryMiB: Number(form.memoryMiB),
      diskGiB: form.diskGiB.trim() ? Number(form.diskGiB) : 100,
    },
  };
}

export interface TemplateForm {
  name: string;
  description: string;
  provider: string;
  kubernetesVersion: string;
  controlPlaneCount: string;
  poolName: string;
  poolCount: string;
}

export function templateProblems(form: TemplateForm, schema: JsonSchema | undefined) {
  const pool = form.poolName.trim() !== '' || form.poolCount.trim() !== '';
  return {
    name: checkField(schema, 'name', form.name),
    description: checkField(schema, 'description', form.description, { optional: true }),
    provider: checkField(schema, 'provider', form.provider, { optional: true }),
    kubernetesVersion: checkField(schema, 'kubernetesVersion', form.kubernetesVersion, { optional: true }),
    poolName: pool ? checkField(schema, 'nodePools[].name', form.poolName) : undefined,
    poolCount: pool ? checkField(schema, 'nodePools[].count', form.poolCount, { number: true }) : undefined,
  };
}

export function templateRequest(form: TemplateForm): ClusterTemplateCreateRequest {
  return {
    name: form.name.trim(),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    ...(form.provider ? { provider: form.provider } : {}),
    ...(form.kubernetesVersion.trim() ? { kubernetesVersion: form.kubernetesVersion.trim() } : {}),
    ...(form.controlPlaneCount ? { controlPlane: { count: Number(form.controlPlaneCount) as 1 | 3 | 5 | 7 } } : {}),
    ...(form.poolName.trim() ? { nodePools: [{ name: form.poolName.trim(), count: Number(form.poolCount) }] } : {}),
  } as ClusterTemplateCreateRequest;
}

/** What the template edit form changes: its description and Kubernetes version (the presets a field can hold whole). */
export interface TemplateEdit {
  description: string;
  kubernetesVersion: string;
}

/**
 * The PATCH of an edited template: only what changed, an emptied field unset, made against the
 * version it was read at (the API refuses it if someone changed the template since); undefined
 * when nothing changed.
 */
export function templatePatch(
  template: Pick<ClusterTemplate, 'version' | 'description' | 'kubernetesVersion'>,
  edit: TemplateEdit,
): ClusterTemplatePatchRequest | undefined {
  const patch: ClusterTemplatePatchRequest = { version: template.version };
  const unset: NonNullable<ClusterTemplatePatchRequest['unset']> = [];
  for (const key of ['description', 'kubernetesVersion'] as const) {
    const value = edit[key].trim();
    if (value === (template[key] ?? '')) continue;
    if (value) patch[key] = value;
    else unset.push(key);
  }
  if (unset.length) patch.unset = unset;
  return Object.keys(patch).length > 1 ? patch : undefined;
}

export interface PairForm {
  name: string;
  clusterA: string;
  clusterB: string;
  agentUrlA: string;
  agentUrlB: string;
  singletons: string;
  preferredSide: 'a' | 'b';
}

/** Singletons as typed, one `namespace/name` per line (or comma), each preferring the pair's side. */
export function parseSingletons(text: string, side: 'a' | 'b'): PairSingleton[] | string {
  const singletons: PairSingleton[] = [];
  for (const item of parseList(text)) {
    const [namespace, name, more] = item.split('/');
    if (!namespace || !name || more !== undefined) return `Singleton "${item}" is not namespace/name`;
    singletons.push({ namespace, name, preferredSide: side });
  }
  return singletons;
}

export function pairProblems(form: PairForm, schema: JsonSchema | undefined) {
  const singletons = parseSingletons(form.singletons, form.preferredSide);
  return {
    name: checkField(schema, 'name', form.name),
    clusterA: form.clusterA ? undefined : 'required',
    clusterB: !form.clusterB ? 'required' : form.clusterB === form.clusterA ? 'must differ from side a' : undefined,
    agentUrlA: checkField(schema, 'sides.a.agentUrl', form.agentUrlA, { optional: true }),
    agentUrlB: checkField(schema, 'sides.b.agentUrl', form.agentUrlB, { optional: true }),
    singletons:
      typeof singletons === 'string'
        ? singletons
        : singletons.length === 0
          ? 'required'
          : singletons
              .map(
                (s) =>
                  checkField(schema, 'singletons[].namespace', s.namespace) ??
                  checkField(schema, 'singletons[].name', s.name),
              )
              .find((p) => p !== undefined),
  };
}

export function pairRequest(form: PairForm): PairCreateRequest {
  const side = (clusterId: string, agentUrl: string) => ({
    clusterId,
    ...(agentUrl.trim() ? { agentUrl: agentUrl.trim() } : {}),
  });
  const singletons = parseSingletons(form.singletons, form.preferredSide);
  return {
    name: form.name.trim(),
    sides: { a: side(form.clusterA, form.agentUrlA), b: side(form.clusterB, form.agentUrlB) },
    singletons: typeof singletons === 'string' ? [] : singletons,
    preferredSide: form.preferredSide,
  };
}
