/**
 * LDAP / Active Directory users through ldapts. A login binds as the service account, finds the
 * user with `userFilter`, proves the password by binding as the user, then resolves the user's
 * groups: `memberOf` plus a group search, with nesting followed either by AD's in-chain matching
 * rule (one query) or by a bounded breadth-first search that batches many DNs per query and stops
 * on cycles. Resolved groups are cached per user DN for `groupCacheTtlSeconds`.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, Filter, InvalidCredentialsError, type Entry } from 'ldapts';
import type { LdapConfig } from '@cx/config';
import { AuthenticationError, CredentialError, DependencyUnavailableError, type FieldError } from '@cx/errors';
import type { Logger } from '@cx/service-kit';

/** A user as the directory describes it. */
export interface DirectoryUser {
  dn: string;
  username: string;
  email: string | null;
  displayName: string | null;
  /** DNs of every group the user belongs to, directly or through nesting. */
  groups: string[];
}

const AD_CAPABILITY = '1.2.840.113556.1.4.800';
const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
const ACCOUNT_DISABLE = 0x2;
/** DNs per `(|(member=…)…)` query of the recursive search. */
const BATCH = 100;
const CACHE_MAX = 10_000;
const PAGE_SIZE = 500;
/** Entries a group search looks at: AD's group, OpenLDAP's groupOfNames / groupOfUniqueNames / posixGroup. */
const GROUP_CLASSES =
  '(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))';

/** Configuration errors, each naming its key, found without contacting the directory. */
export function checkLdapConfig(config: LdapConfig): FieldError[] {
  if (!config.url) return [];
  const errors: FieldError[] = [];
  const need = (key: keyof LdapConfig, env: string): void => {
    if (!config[key])
      errors.push({
        field: `auth.ldap.${key}`,
        message: `is required when auth.ldap.url is set (environment: ${env})`,
      });
  };
  need('userBaseDn', 'CX_LDAP_USER_BASE_DN');
  if (config.bindDn && !config.bindPassword)
    errors.push({
      field: 'auth.ldap.bindPassword',
      message: 'is required with auth.ldap.bindDn (environment: CX_LDAP_BIND_PASSWORD)',
    });
  if (!config.userFilter.includes('{username}'))
    errors.push({
      field: 'auth.ldap.userFilter',
      message: 'must contain {username} (environment: CX_LDAP_USER_FILTER)',
    });
  if (!config.groupFilter.includes('{userDn}'))
    errors.push({
      field: 'auth.ldap.groupFilter',
      message: 'must contain {userDn} (environment: CX_LDAP_GROUP_FILTER)',
    });
  if (config.startTls && config.url.startsWith('ldaps://'))
    errors.push({
      field: 'auth.ldap.startTls',
      message: 'cannot be used with an ldaps:// URL, which is TLS already (environment: CX_LDAP_START_TLS)',
    });
  if (config.caFile) {
    try {
      if (!readFileSync(config.caFile, 'utf8').includes('-----BEGIN CERTIFICATE-----'))
        errors.push({
          field: 'auth.ldap.caFile',
          message: `${config.caFile} holds no PEM certificate (environment: CX_LDAP_CA_FILE)`,
        });
    } catch (error) {
      errors.push({
        field: 'auth.ldap.caFile',
        message: `cannot read ${config.caFile}: ${(error as Error).message} (environment: CX_LDAP_CA_FILE)`,
      });
    }
  }
  return errors;
}

export class LdapDirectory {
  private readonly tls: ConnectionOptions;
  private readonly groupCache = new Map<string, { groups: string[]; until: number }>();
  private activeDirectory: Promise<boolean> | undefined;

  constructor(
    private readonly config: LdapConfig & { url: string; userBaseDn: string; caCert?: string },
    private readonly logger: Logger,
  ) {
    this.tls = config.caCert ? { ca: config.caCert } : config.caFile ? { ca: readFileSync(config.caFile, 'utf8') } : {};
  }

  /**
   * Tries these settings before they are saved: connects (TLS as set), binds as the service
   * account and reads the user base. A refused bind is CX_CREDENTIAL_REJECTED, an untrusted
   * certificate CX_CREDENTIAL_UNTRUSTED, anything else CX_CREDENTIAL_UNREACHABLE (all 422).
   */
  async check(): Promise<void> {
    try {
      await this.session(async (client) => {
        await client.search(this.config.userBaseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['dn'] });
      });
    } catch (error) {
      if (error instanceof ServiceAccountRefusedError)
        throw new CredentialError(
          'CX_CREDENTIAL_REJECTED',
          `the directory at ${this.config.url} refused the bind as ${this.config.bindDn}: wrong bindDn or bindPassword`,
        );
      const cause = (error as { cause?: unknown }).cause ?? error;
      if (this.tlsHint(cause))
        throw new CredentialError(
          'CX_CREDENTIAL_UNTRUSTED',
          `the directory's certificate at ${this.config.url} is not trusted (${describe(cause)}); give caCert, the PEM of its CA`,
        );
      throw new CredentialError(
        'CX_CREDENTIAL_UNREACHABLE',
        `the directory at ${this.config.url} could not be used: ${describe(cause)}`,
      );
    }
  }

  /** Checks the password and answers the user with its groups; 401 for a wrong password or unknown user, 503 when the directory fails. */
  async authenticate(username: string, password: string): Promise<DirectoryUser> {
    // An empty password would be an unauthenticated bind, which LDAP servers accept: never allow it.
    if (!password) throw new AuthenticationError('wrong username or password', 'CX_LOGIN_FAILED');
    return this.session(async (client) => {
      const filter = this.config.userFilter.replaceAll('{username}', Filter.escape(username));
      const { searchEntries } = await client.search(this.config.userBaseDn, {
        scope: 'sub',
        filter,
        sizeLimit: 2,
        attributes: ['mail', 'displayName', 'cn', 'memberOf', 'userAccountControl'],
      });
      if (searchEntries.length !== 1) {
        if (searchEntries.length > 1)
          this.logger.warn({ username, filter }, 'LDAP user filter matches more than one entry; login refused');
        throw new AuthenticationError('wrong username or password', 'CX_LOGIN_FAILED');
      }
      const entry = searchEntries[0]!;
      try {
        await client.bind(entry.dn, password);
      } catch (error) {
        if (error instanceof InvalidCredentialsError)
          throw new AuthenticationError('wrong username or password', 'CX_LOGIN_FAILED');
        throw error;
      }
      if ((Number(first(entry, 'userAccountControl') ?? 0) & ACCOUNT_DISABLE) !== 0) {
        throw new AuthenticationError(
          `user ${username} is disabled in the directory; ask your directory admin`,
          'CX_LOGIN_FAILED',
        );
      }
      await this.bindService(client); // back to the service account for the group searches
      return {
        dn: entry.dn,
        username: username.toLowerCase(),
        email: first(entry, 'mail') ?? null,
        displayName: first(entry, 'displayName') ?? first(entry, 'cn') ?? null,
        groups: await this.groupsOf(client, entry),
      };
    });
  }

  /**
   * Groups whose cn contains `text` (any when empty), under the group base (else the user base),
   * sorted by name: at most `limit`, and whether more match. The text is escaped into the filter.
   * The search asks for limit + 1 entries, so a directory's own size limit (slapd's 500 by default,
   * AD's 1000) is never what ends it when limit stays below it; ldapts answers the entries of a
   * sizeLimitExceeded result instead of failing.
   */
  async searchGroups(text: string, limit: number): Promise<{ groups: { name: string; dn: string }[]; more: boolean }> {
    return this.session(async (client) => {
      const { searchEntries } = await client.search(this.config.groupBaseDn ?? this.config.userBaseDn, {
        scope: 'sub',
        filter: `(&${GROUP_CLASSES}(cn=${text ? `*${Filter.escape(text)}*` : '*'}))`,
        sizeLimit: limit + 1,
        attributes: ['cn'],
      });
      const groups = searchEntries
        .map((entry) => ({ name: first(entry, 'cn') ?? entry.dn, dn: entry.dn }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { groups: groups.slice(0, limit), more: groups.length > limit };
    });
  }

  private async groupsOf(client: Client, user: Entry): Promise<string[]> {
    const key = user.dn.toLowerCase();
    const cached = this.groupCache.get(key);
    if (cached && cached.until > Date.now()) return cached.groups;
    const groups = await this.resolveGroups(client, user);
    if (this.config.groupCacheTtlSeconds > 0) {
      if (this.groupCache.size >= CACHE_MAX) this.groupCache.clear();
      this.groupCache.set(key, { groups, until: Date.now() + this.config.groupCacheTtlSeconds * 1000 });
    }
    return groups;
  }

  private async resolveGroups(client: Client, user: Entry): Promise<string[]> {
    const found = new Map<string, string>(); // lower-cased DN → DN as the directory spells it
    const add = (dns: string[]): string[] =>
      dns.filter((dn) => !found.has(dn.toLowerCase()) && found.set(dn.toLowerCase(), dn));
    const base = this.config.groupBaseDn ?? this.config.userBaseDn;
    const mode =
      this.config.nestedGroups === 'auto'
        ? (await this.isActiveDirectory(client))
          ? 'in-chain'
          : 'recursive'
        : this.config.nestedGroups;
    if (mode === 'in-chain') {
      add(await this.searchDns(client, base, `(member:${IN_CHAIN_RULE}:=${Filter.escape(user.dn)})`));
      add(all(user, 'memberOf'));
      return [...found.values()];
    }
    let frontier = add([
      ...all(user, 'memberOf'),
      ...(await this.searchDns(client, base, this.groupFilterFor([user.dn]))),
    ]);
    for (let depth = 1; mode === 'recursive' && frontier.length > 0 && depth < this.config.maxNestingDepth; depth++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += BATCH) {
        next.push(...add(await this.searchDns(client, base, this.groupFilterFor(frontier.slice(i, i + BATCH)))));
      }
      frontier = next;
    }
    return [...found.values()];
  }

  /** `groupFilter` for several member DNs at once: the filter with each DN, OR-ed. */
  private groupFilterFor(dns: string[]): string {
    const filters = dns.map((dn) => this.config.groupFilter.replaceAll('{userDn}', Filter.escape(dn)));
    return filters.length === 1 ? filters[0]! : `(|${filters.join('')})`;
  }

  private async searchDns(client: Client, base: string, filter: string): Promise<string[]> {
    const { searchEntries } = await client.search(base, {
      scope: 'sub',
      filter,
      attributes: ['1.1'],
      paged: { pageSize: PAGE_SIZE },
    });
    return searchEntries.map((e) => e.dn);
  }

  private async isActiveDirectory(client: Client): Promise<boolean> {
    this.activeDirectory ??= client
      .search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedCapabilities'] })
      .then(({ searchEntries }) => all(searchEntries[0], 'supportedCapabilities').includes(AD_CAPABILITY))
      .catch(() => {
        this.activeDirectory = undefined;
        return false;
      });
    return this.activeDirectory;
  }

  private async bindService(client: Client): Promise<void> {
    if (!this.config.bindDn) return;
    try {
      await client.bind(this.config.bindDn, this.config.bindPassword ?? '');
    } catch (error) {
      if (error instanceof InvalidCredentialsError) {
        throw new ServiceAccountRefusedError(
          'the LDAP directory refused the service account; check auth.ldap.bindDn and auth.ldap.bindPassword (CX_LDAP_BIND_DN, CX_LDAP_BIND_PASSWORD)',
        );
      }
      throw error;
    }
  }

  /** One connection for one login; transport failures and timeouts become a 503 naming the setting. */
  private async session<T>(work: (client: Client) => Promise<T>): Promise<T> {
    // ldapts connects with TLS from the start whenever tlsOptions holds anything, whatever the URL's
    // scheme: an ldap:// URL (StartTLS) must not get them. startTLS() also writes the socket into the
    // options it is given, so each connection gets its own copy.
    const ldaps = this.config.url.startsWith('ldaps://');
    const client = new Client({
      url: this.config.url,
      timeout: this.config.timeoutMs,
      connectTimeout: this.config.timeoutMs,
      ...(ldaps ? { tlsOptions: { ...this.tls } } : {}),
      strictDN: false,
    });
    try {
      // ldapts bounds each LDAP operation by `timeout`, but not the TLS handshake after StartTLS.
      if (this.config.startTls) await this.withDeadline(client.startTLS({ ...this.tls }), 'the StartTLS handshake');
      await this.bindService(client);
      return await work(client);
    } catch (error) {
      if (error instanceof AuthenticationError || error instanceof DependencyUnavailableError) throw error;
      throw new DependencyUnavailableError(
        `the LDAP directory at ${this.config.url} failed: ${describe(error)}; check auth.ldap.url (CX_LDAP_URL)${this.tlsHint(error)}`,
        { cause: error },
      );
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** `work`, or an ETIMEDOUT error once timeoutMs has passed (the caller's unbind then closes the socket). */
  private async withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            Object.assign(
              new Error(`${what} did not finish within ${this.config.timeoutMs} ms (auth.ldap.timeoutMs)`),
              { code: 'ETIMEDOUT' },
            ),
          ),
        this.config.timeoutMs,
      );
    });
    work.catch(() => undefined); // its failure after the deadline is expected, not unhandled
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private tlsHint(error: unknown): string {
    const code = (error as { code?: string }).code ?? '';
    return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)
      ? " and auth.ldap.caFile (CX_LDAP_CA_FILE), which must hold the CA of the directory's certificate"
      : '';
  }
}

/** The service account's bind was refused: a 503 at login (cx is misconfigured), a 422 when settings are tried. */
class ServiceAccountRefusedError extends DependencyUnavailableError {}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

function all(entry: Entry | undefined, attribute: string): string[] {
  const value = entry?.[attribute];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

function first(entry: Entry, attribute: string): string | undefined {
  return all(entry, attribute)[0];
}
