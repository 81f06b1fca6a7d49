/**
 * The OIDC identity provider single sign-on uses: the settings an admin saved at run time
 * (saved-settings.ts, kind `oidc`), else the configuration file's `auth.oidc`. The sign-on (with
 * its discovered provider) is rebuilt only when the saved row changed; the client secret is sealed
 * and never answered.
 */
import type { Knex } from 'knex';
import type { OidcSettings as OidcSettingsView, OidcSettingsRequest } from '@cx/api-schemas';
import type { OidcConfig } from '@cx/config';
import { CredentialError, InputError, type FieldError } from '@cx/errors';
import type { Logger } from '@cx/service-kit';
import type { SecretBox } from '../secrets/secret-box.js';
import { OidcSignOn } from './oidc.js';
import { SavedSettings } from './saved-settings.js';

/** What is saved as JSON: the request without the secret, defaults filled in. */
interface Saved {
  issuer: string;
  clientId: string;
  scopes: string;
  usernameClaim: string;
  groupsClaim: string;
  allowHttp: boolean;
}

/** Single sign-on as it is in force: the sign-on and the issuer its users are recorded under. */
export interface SignOn {
  signOn: OidcSignOn;
  issuer: string;
}

const DISCOVERY_TIMEOUT_MS = 10_000;

/** What is wrong with settings, each with its field, found without contacting the provider. */
export function checkOidcSettings(saved: Saved): FieldError[] {
  const errors: FieldError[] = [];
  if (saved.issuer.startsWith('http://') && !saved.allowHttp)
    errors.push({ field: 'body.issuer', message: 'must be https:// (set allowHttp for a lab provider)' });
  if (!saved.scopes.split(/\s+/).includes('openid'))
    errors.push({ field: 'body.scopes', message: 'must include openid' });
  return errors;
}

/** Where a provider publishes its metadata (OpenID Connect Discovery 1.0, section 4). */
export function discoveryUrl(issuer: string): URL {
  const url = new URL(issuer);
  url.pathname = `${url.pathname}/.well-known/openid-configuration`.replace('//', '/');
  return url;
}

export class OidcSettings {
  private readonly fromConfig: SignOn | null;
  private readonly saved: SavedSettings<Saved, SignOn>;

  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
    private readonly config: OidcConfig,
    private readonly redirectUri: string,
    private readonly logger: Logger,
  ) {
    this.saved = new SavedSettings(db, box, 'oidc');
    this.fromConfig =
      config.issuer && config.clientId
        ? this.signOn({ ...config, issuer: config.issuer, clientId: config.clientId }, config.clientSecret, 'config')
        : null;
  }

  /** The sign-on to use now, or null when single sign-on is off. */
  async current(): Promise<SignOn | null> {
    return (await this.saved.built((row) => this.signOn(row.settings, row.secret(), 'settings'))) ?? this.fromConfig;
  }

  async view(): Promise<OidcSettingsView> {
    const row = await this.saved.read();
    if (!row) {
      const c = this.config;
      return {
        source: 'config',
        enabled: this.fromConfig !== null,
        issuer: c.issuer ?? null,
        clientId: c.clientId ?? null,
        hasClientSecret: Boolean(c.clientSecret),
        scopes: c.scopes,
        usernameClaim: c.usernameClaim,
        groupsClaim: c.groupsClaim,
        allowHttp: c.allowHttp,
        redirectUri: this.redirectUri,
        updatedBy: null,
        updatedAt: null,
      };
    }
    return {
      source: 'settings',
      enabled: true,
      ...row.settings,
      hasClientSecret: row.hasSecret,
      redirectUri: this.redirectUri,
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt,
    };
  }

  /**
   * Checks the settings, fetches the provider's discovery document (its issuer must be the one
   * given), and only then saves them. A secret left out keeps the one in force for the same issuer
   * and client id.
   */
  async put(request: OidcSettingsRequest, actor: string): Promise<OidcSettingsView> {
    const saved: Saved = {
      issuer: request.issuer,
      clientId: request.clientId,
      scopes: request.scopes ?? this.config.scopes,
      usernameClaim: request.usernameClaim ?? this.config.usernameClaim,
      groupsClaim: request.groupsClaim ?? this.config.groupsClaim,
      allowHttp: request.allowHttp ?? false,
    };
    const errors = checkOidcSettings(saved);
    if (errors.length > 0)
      throw new InputError(
        `invalid single sign-on settings: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
        errors,
      );
    await checkProvider(saved.issuer);
    const secret = request.clientSecret ?? (await this.keptSecret(saved));
    await this.saved.save(saved, secret, actor);
    this.logger.info({ actor, issuer: saved.issuer }, 'single sign-on settings saved');
    return this.view();
  }

  /** Drops the saved settings: the configuration file's auth.oidc applies from the next sign-in. */
  async revert(actor: string): Promise<OidcSettingsView> {
    if (await this.saved.drop())
      this.logger.info({ actor }, 'single sign-on settings dropped: auth.oidc applies again');
    return this.view();
  }

  private signOn(settings: Saved, secret: string | undefined, source: 'config' | 'settings'): SignOn {
    return {
      signOn: new OidcSignOn(
        { ...this.config, ...settings, clientSecret: secret },
        this.redirectUri,
        this.db,
        this.box,
        source,
      ),
      issuer: settings.issuer,
    };
  }

  private async keptSecret(saved: Saved): Promise<string | undefined> {
    const row = await this.saved.read();
    const before = row ? row.settings : { issuer: this.config.issuer, clientId: this.config.clientId };
    if (before.issuer !== saved.issuer || before.clientId !== saved.clientId) return undefined;
    return row ? row.secret() : this.config.clientSecret;
  }
}

/**
 * Fetches the provider's discovery document: unreachable or not a discovery document is
 * CX_CREDENTIAL_UNREACHABLE, an untrusted certificate CX_CREDENTIAL_UNTRUSTED, another issuer
 * named in it CX_CREDENTIAL_REJECTED (all 422), as sign-in would fail the same way.
 */
async function checkProvider(issuer: string): Promise<void> {
  const url = discoveryUrl(issuer);
  let document: unknown;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`${url.href} answered HTTP ${response.status}`);
    document = await response.json();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(cause.code))
      throw new CredentialError(
        'CX_CREDENTIAL_UNTRUSTED',
        `the identity provider's certificate at ${issuer} is not trusted (${cause.code}); sm must trust its CA (NODE_EXTRA_CA_CERTS)`,
      );
    throw new CredentialError(
      'CX_CREDENTIAL_UNREACHABLE',
      `cannot read the identity provider's discovery document at ${url.href}: ${cause?.message ?? (error as Error).message}`,
    );
  }
  const named = (document as { issuer?: unknown } | null)?.issuer;
  if (typeof named !== 'string')
    throw new CredentialError(
      'CX_CREDENTIAL_UNREACHABLE',
      `${url.href} is not an OpenID Connect discovery document (it names no issuer)`,
    );
  if (!sameIssuer(named, issuer))
    throw new CredentialError(
      'CX_CREDENTIAL_REJECTED',
      `the identity provider at ${url.href} names its issuer ${named}, not ${issuer}; give the issuer exactly as it names itself`,
    );
}

/** Issuers compare as URLs, as openid-client compares them at sign-in (a trailing `/` of an empty path aside). */
function sameIssuer(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}
