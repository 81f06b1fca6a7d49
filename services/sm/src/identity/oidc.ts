/**
 * OpenID Connect single sign-on through openid-client: authorization code + PKCE for browsers and
 * the device authorization grant (RFC 8628) for the CLI. The short-lived state of a login in
 * progress (PKCE verifier, nonce, device code) lives in SQL, sealed, so that any sm replica can
 * finish what another started. The identity provider is discovered on first use, not at start, so
 * that sm starts while the provider is down.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import * as client from 'openid-client';
import type { OidcConfig } from '@cx/config';
import { AuthenticationError, DependencyUnavailableError, InputError, type FieldError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';
import type { SecretBox } from '../secrets/secret-box.js';

/** A user as the identity provider describes it. */
export interface ExternalIdentity {
  subject: string;
  username: string;
  email: string | null;
  displayName: string | null;
  groups: string[];
}

export interface DeviceLogin {
  handle: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresIn: number;
  interval: number;
}

const LOGIN_TTL_SECONDS = 600;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export function checkOidcConfig(config: OidcConfig): FieldError[] {
  if (!config.issuer) return [];
  const errors: FieldError[] = [];
  if (!config.clientId)
    errors.push({
      field: 'auth.oidc.clientId',
      message: 'is required when auth.oidc.issuer is set (environment: CX_OIDC_CLIENT_ID)',
    });
  if (config.issuer.startsWith('http://') && !config.allowHttp)
    errors.push({
      field: 'auth.oidc.issuer',
      message: 'must be https:// (set auth.oidc.allowHttp for a lab provider) (environment: CX_OIDC_ISSUER)',
    });
  if (!config.scopes.split(/\s+/).includes('openid'))
    errors.push({ field: 'auth.oidc.scopes', message: 'must include openid (environment: CX_OIDC_SCOPES)' });
  return errors;
}

export class OidcSignOn {
  private discovered: Promise<client.Configuration> | undefined;

  constructor(
    private readonly config: OidcConfig & { issuer: string; clientId: string },
    private readonly redirectUri: string,
    private readonly db: Knex,
    private readonly box: SecretBox,
    /** Where these settings come from, so that an error names the setting to check there. */
    private readonly source: 'config' | 'settings' = 'config',
  ) {}

  /** The setting to check, as its source names it. */
  private setting(key: 'issuer' | 'usernameClaim' | 'scopes'): string {
    if (this.source === 'settings') return `${key} of the OIDC settings (PUT /api/v1/settings/oidc)`;
    return key === 'issuer' ? 'auth.oidc.issuer (CX_OIDC_ISSUER)' : `auth.oidc.${key}`;
  }

  /** Where to send the browser; `returnTo` (a path of cx's own UI) is kept for the callback. */
  async startLogin(returnTo: string | undefined): Promise<{ authorizationUrl: string }> {
    if (returnTo !== undefined && !isLocalPath(returnTo)) {
      throw new InputError('returnTo must be a path of this site, such as /ui/', [
        {
          field: 'querystring.returnTo',
          message: 'must start with a single / and have no backslash, whitespace or control character',
        },
      ]);
    }
    const configuration = await this.configuration();
    const state = client.randomState();
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    await this.remember(state, 'code', { verifier, nonce }, returnTo ?? null);
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.config.scopes,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl: url.href };
  }

  /** Finishes a browser login from the callback's query string. */
  async finishLogin(
    query: Record<string, string | undefined>,
  ): Promise<{ identity: ExternalIdentity; returnTo: string | null }> {
    if (query['error'])
      throw new AuthenticationError(
        `the identity provider refused the login: ${query['error']}${query['error_description'] ? ` (${query['error_description']})` : ''}`,
        'CX_LOGIN_FAILED',
      );
    const state = query['state'];
    if (!state || !query['code'])
      throw new InputError('the callback needs code and state from the identity provider', [
        { field: 'querystring.code', message: 'is required' },
      ]);
    const login = await this.take(state, 'code');
    const { verifier, nonce } = login.secret as { verifier: string; nonce: string };
    const configuration = await this.configuration();
    const current = new URL(this.redirectUri);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) current.searchParams.set(key, value);
    const tokens = await this.provider(() =>
      client.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      }),
    );
    return { identity: await this.identity(configuration, tokens), returnTo: login.returnTo };
  }

  async startDevice(): Promise<DeviceLogin> {
    const configuration = await this.configuration();
    const response = await this.provider(() =>
      client.initiateDeviceAuthorization(configuration, { scope: this.config.scopes }),
    );
    const handle = randomBytes(24).toString('base64url');
    await this.remember(handle, 'device', { deviceCode: response.device_code }, null, response.expires_in);
    return {
      handle,
      userCode: response.user_code,
      verificationUri: response.verification_uri,
      verificationUriComplete: response.verification_uri_complete ?? null,
      expiresIn: response.expires_in,
      interval: response.interval ?? 5,
    };
  }

  /** One poll of a device login: the identity once the user approved, `null` while pending. */
  async pollDevice(handle: string): Promise<ExternalIdentity | null> {
    const login = await this.peek(handle, 'device');
    const configuration = await this.configuration();
    let tokens;
    try {
      tokens = await client.genericGrantRequest(configuration, DEVICE_GRANT, {
        device_code: (login.secret as { deviceCode: string }).deviceCode,
      });
    } catch (error) {
      const code = (error as { error?: string }).error;
      if (code === 'authorization_pending' || code === 'slow_down') return null;
      await this.forget(handle);
      if (code === 'access_denied' || code === 'expired_token')
        throw new AuthenticationError(
          code === 'access_denied'
            ? 'the login was denied at the identity provider'
            : 'the device login expired; start again',
          'CX_LOGIN_FAILED',
        );
      throw providerFailure(error, this.setting('issuer'));
    }
    await this.forget(handle);
    return this.identity(configuration, tokens);
  }

  private async identity(
    configuration: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  ): Promise<ExternalIdentity> {
    let claims: Record<string, unknown> = { ...tokens.claims() };
    const { usernameClaim, groupsClaim } = this.config;
    if (
      (claims[usernameClaim] === undefined || claims[groupsClaim] === undefined) &&
      typeof claims['sub'] === 'string'
    ) {
      claims = {
        ...(await this.provider(() =>
          client.fetchUserInfo(configuration, tokens.access_token, claims['sub'] as string),
        )),
        ...claims,
      };
    }
    const username = claims[usernameClaim];
    if (typeof username !== 'string' || username === '') {
      throw new AuthenticationError(
        `the identity provider released no ${usernameClaim} claim; set ${this.setting('usernameClaim')} or ${this.setting('scopes')}`,
        'CX_LOGIN_FAILED',
      );
    }
    const groups = claims[groupsClaim];
    return {
      subject: String(claims['sub']),
      username,
      email: typeof claims['email'] === 'string' ? claims['email'] : null,
      displayName: typeof claims['name'] === 'string' ? claims['name'] : null,
      groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    };
  }

  private configuration(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        this.config.clientSecret,
        undefined,
        this.config.allowHttp ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
      )
      .catch((error: unknown) => {
        this.discovered = undefined;
        throw new DependencyUnavailableError(
          `cannot discover the OIDC identity provider at ${this.config.issuer} (${(error as Error).message}); check ${this.setting('issuer')}`,
          { cause: error },
        );
      });
    return this.discovered;
  }

  private async provider<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw providerFailure(error, this.setting('issuer'));
    }
  }

  private async remember(
    id: string,
    kind: 'code' | 'device',
    secret: unknown,
    returnTo: string | null,
    ttlSeconds = LOGIN_TTL_SECONDS,
  ): Promise<void> {
    await withDatabase(async () => {
      await this.db('oidc_logins').where('expires_at', '<', nowIso()).delete();
      await this.db('oidc_logins').insert({
        id,
        kind,
        secret: this.box.seal(JSON.stringify(secret), `oidc_logins:${id}`),
        return_to: returnTo,
        expires_at: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
      });
    });
  }

  private async peek(id: string, kind: 'code' | 'device'): Promise<{ secret: unknown; returnTo: string | null }> {
    const row = (await withDatabase(() =>
      this.db('oidc_logins').where({ id, kind }).where('expires_at', '>', nowIso()).first(),
    )) as { secret: string; return_to: string | null } | undefined;
    if (!row) throw new AuthenticationError('this login is unknown or expired; start again', 'CX_LOGIN_FAILED');
    return { secret: JSON.parse(this.box.open(row.secret, `oidc_logins:${id}`)), returnTo: row.return_to };
  }

  /** Reads and deletes a login, so that a callback cannot be replayed. */
  private async take(id: string, kind: 'code' | 'device'): Promise<{ secret: unknown; returnTo: string | null }> {
    const login = await this.peek(id, kind);
    if ((await this.forget(id)) === 0)
      throw new AuthenticationError('this login was already used; start again', 'CX_LOGIN_FAILED');
    return login;
  }

  private forget(id: string): Promise<number> {
    return withDatabase(() => this.db('oidc_logins').where({ id }).delete());
  }
}

/**
 * Whether `value` is a path of this site once a browser resolves it as a Location. Browsers read `\` as
 * `/` and drop tabs and newlines, so `/\evil.example` and `/<TAB>/evil.example` are `//evil.example`
 * (another site, which would receive the token in the fragment): those characters are refused outright.
 */
function isLocalPath(value: string): boolean {
  if (!value.startsWith('/') || value.startsWith('//')) return false;
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === '\\' || code <= 0x20 || code === 0x7f) return false;
  }
  const base = new URL('http://cx.invalid/');
  return new URL(value, base).origin === base.origin;
}

/** A refusal by the provider is a failed login; a transport failure is a 503. */
function providerFailure(error: unknown, issuerSetting: string): Error {
  if (error instanceof AuthenticationError || error instanceof DependencyUnavailableError) return error;
  const e = error as { error?: string; error_description?: string; message?: string };
  if (e.error)
    return new AuthenticationError(
      `the identity provider refused the login: ${e.error}${e.error_description ? ` (${e.error_description})` : ''}`,
      'CX_LOGIN_FAILED',
    );
  if (error instanceof client.ClientError)
    return new AuthenticationError(
      `the identity provider's answer was not accepted: ${e.message ?? ''}`,
      'CX_LOGIN_FAILED',
    );
  return new DependencyUnavailableError(
    `the OIDC identity provider failed: ${e.message ?? String(error)}; check ${issuerSetting}`,
    { cause: error },
  );
}
