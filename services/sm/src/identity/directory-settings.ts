/**
 * The LDAP directory logins use: the settings an admin saved at run time (saved-settings.ts,
 * kind `ldap`), else the configuration file's `auth.ldap`. The service account's password is
 * sealed and never answered.
 */
import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import type { LdapSettings, LdapSettingsRequest } from '@cx/api-schemas';
import type { LdapConfig } from '@cx/config';
import { InputError, type FieldError } from '@cx/errors';
import type { Logger } from '@cx/service-kit';
import type { SecretBox } from '../secrets/secret-box.js';
import { LdapDirectory } from './ldap.js';
import { SavedSettings } from './saved-settings.js';

/** What is saved as JSON: the request without the password, defaults filled in. */
interface Saved {
  url: string;
  startTls: boolean;
  caCert?: string;
  bindDn?: string;
  userBaseDn: string;
  userFilter: string;
  groupBaseDn?: string;
  groupFilter: string;
}

const DEFAULT_USER_FILTER = '(sAMAccountName={username})';
const DEFAULT_GROUP_FILTER = '(member={userDn})';

/** What is wrong with settings, each with its field, found without contacting the directory. */
export function checkLdapSettings(saved: Saved, bindPassword: string | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if (saved.bindDn && !bindPassword)
    errors.push({ field: 'body.bindPassword', message: 'is required with bindDn (none is saved for this bindDn)' });
  if (!saved.userFilter.includes('{username}'))
    errors.push({ field: 'body.userFilter', message: 'must contain {username}' });
  if (!saved.groupFilter.includes('{userDn}'))
    errors.push({ field: 'body.groupFilter', message: 'must contain {userDn}' });
  if (saved.startTls && saved.url.startsWith('ldaps://'))
    errors.push({ field: 'body.startTls', message: 'cannot be used with an ldaps:// URL, which is TLS already' });
  if (saved.caCert !== undefined && !saved.caCert.includes('-----BEGIN CERTIFICATE-----'))
    errors.push({ field: 'body.caCert', message: 'holds no PEM certificate' });
  return errors;
}

export class DirectorySettings {
  private readonly fromConfig: LdapDirectory | null;
  private readonly saved: SavedSettings<Saved, LdapDirectory>;

  constructor(
    db: Knex,
    box: SecretBox,
    private readonly config: LdapConfig,
    private readonly logger: Logger,
  ) {
    this.saved = new SavedSettings(db, box, 'ldap');
    this.fromConfig =
      config.url && config.userBaseDn
        ? new LdapDirectory({ ...config, url: config.url, userBaseDn: config.userBaseDn }, logger)
        : null;
  }

  /** The directory to sign in with now, or null when LDAP is off. */
  async ldap(): Promise<LdapDirectory | null> {
    return (await this.saved.built((row) => this.directory(row.settings, row.secret()))) ?? this.fromConfig;
  }

  async view(): Promise<LdapSettings> {
    const row = await this.saved.read();
    if (!row) {
      const c = this.config;
      return {
        source: 'config',
        enabled: this.fromConfig !== null,
        url: c.url ?? null,
        startTls: c.startTls,
        hasCaCert: Boolean(c.caFile),
        caCert: c.caFile ? readCa(c.caFile) : null,
        bindDn: c.bindDn ?? null,
        hasBindPassword: Boolean(c.bindPassword),
        userBaseDn: c.userBaseDn ?? null,
        userFilter: c.userFilter,
        groupBaseDn: c.groupBaseDn ?? null,
        groupFilter: c.groupFilter,
        updatedBy: null,
        updatedAt: null,
      };
    }
    const saved = row.settings;
    return {
      source: 'settings',
      enabled: true,
      url: saved.url,
      startTls: saved.startTls,
      hasCaCert: saved.caCert !== undefined,
      caCert: saved.caCert ?? null,
      bindDn: saved.bindDn ?? null,
      hasBindPassword: row.hasSecret,
      userBaseDn: saved.userBaseDn,
      userFilter: saved.userFilter,
      groupBaseDn: saved.groupBaseDn ?? null,
      groupFilter: saved.groupFilter,
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt,
    };
  }

  /**
   * Checks the settings, tries them against the directory (a bind as the service account and a
   * read of the user base), and only then saves them. A password left out keeps the one in force
   * for the same bindDn.
   */
  async put(request: LdapSettingsRequest, actor: string): Promise<LdapSettings> {
    const saved: Saved = {
      url: request.url,
      startTls: request.startTls ?? false,
      ...(request.caCert?.trim() ? { caCert: request.caCert } : {}),
      ...(request.bindDn ? { bindDn: request.bindDn } : {}),
      userBaseDn: request.userBaseDn,
      userFilter: request.userFilter ?? DEFAULT_USER_FILTER,
      ...(request.groupBaseDn ? { groupBaseDn: request.groupBaseDn } : {}),
      groupFilter: request.groupFilter ?? DEFAULT_GROUP_FILTER,
    };
    const bindPassword = saved.bindDn ? (request.bindPassword ?? (await this.keptPassword(saved.bindDn))) : undefined;
    const errors = checkLdapSettings(saved, bindPassword);
    if (errors.length > 0)
      throw new InputError(
        `invalid directory settings: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
        errors,
      );
    await this.directory(saved, bindPassword).check();
    await this.saved.save(saved, bindPassword, actor);
    this.logger.info({ actor, url: saved.url }, 'directory settings saved');
    return this.view();
  }

  /** Drops the saved settings: the configuration file's auth.ldap applies from the next login. */
  async revert(actor: string): Promise<LdapSettings> {
    if (await this.saved.drop()) this.logger.info({ actor }, 'directory settings dropped: auth.ldap applies again');
    return this.view();
  }

  private directory(saved: Saved, bindPassword: string | undefined): LdapDirectory {
    const { caFile: _fromConfig, ...config } = this.config;
    return new LdapDirectory(
      {
        ...config,
        ...saved,
        bindDn: saved.bindDn,
        bindPassword,
        groupBaseDn: saved.groupBaseDn,
      } as LdapConfig & { url: string; userBaseDn: string; caCert?: string },
      this.logger,
    );
  }

  private async keptPassword(bindDn: string): Promise<string | undefined> {
    const row = await this.saved.read();
    if (row) return row.settings.bindDn === bindDn ? row.secret() : undefined;
    return this.config.bindDn === bindDn ? this.config.bindPassword : undefined;
  }
}

/** The configuration file's CA (a CA is no secret, so it is shown back); null when it cannot be read. */
function readCa(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
