/**
 * Groups an admin can grant a role to, searched by name: the LDAP directory's (asked at each
 * search) and the OIDC groups cx has seen at sign-in (an identity provider has no directory to ask).
 */
import type { DirectoryGroupPage } from '@cx/api-schemas';
import { ConflictError } from '@cx/errors';
import type { Accounts } from './accounts.js';
import type { DirectorySettings } from './directory-settings.js';
import type { OidcSettings } from './oidc-settings.js';

export class DirectoryGroups {
  constructor(
    private readonly directory: DirectorySettings,
    private readonly oidc: OidcSettings,
    private readonly accounts: Accounts,
  ) {}

  /** LDAP groups first, then OIDC ones, `limit` in all; 409 when neither LDAP nor OIDC is on, 503 when the directory fails. */
  async search(text: string, limit: number): Promise<DirectoryGroupPage> {
    const ldap = await this.directory.ldap();
    const oidc = await this.oidc.current();
    if (!ldap && !oidc)
      throw new ConflictError(
        'LDAP is off on this cx, so there is no directory to search: set auth.ldap.url (CX_LDAP_URL) and auth.ldap.userBaseDn in the configuration file, or save the directory settings (PUT /api/v1/settings/ldap, Administration → Directory in the console)',
      );
    const items: DirectoryGroupPage['items'] = [];
    let more = false;
    if (ldap) {
      const found = await ldap.searchGroups(text, limit);
      items.push(...found.groups.map((g) => ({ name: g.name, dn: g.dn, source: 'ldap' as const })));
      more = found.more;
    }
    if (oidc) {
      const seen = await this.accounts.seenOidcGroups(text, limit - items.length);
      items.push(...seen.groups.map((name) => ({ name, dn: null, source: 'oidc' as const })));
      more ||= seen.more;
    }
    return { items, more };
  }
}
