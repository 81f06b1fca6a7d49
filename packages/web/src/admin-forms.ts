/**
 * What the admin pages' forms mean as API requests: a grant from its fields, a credential's
 * provider settings from the JSON typed, the audit filters as the API's query. Each answers the
 * request, or a sentence saying what is wrong (shown to the person before anything is sent).
 */
import type { AuditQuery, GrantCreateRequest, LdapSettingsRequest, Quotas, ResourceGroup } from '@cx/api-schemas';

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
