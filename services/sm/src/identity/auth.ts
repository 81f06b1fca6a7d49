/**
 * Authentication: local passwords (argon2id), LDAP / Active Directory and OIDC logins, short-lived
 * signed access tokens (HS256 via jose), revocable long-lived API tokens stored as SHA-256 hashes,
 * logout, and brute-force throttling. Whatever the source, wfm only ever sees a token, and every
 * token is checked against the users table, so a disabled or deleted user loses access at once.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { ApiToken, Principal } from '@cx/api-schemas';
import type { ApiTokenConfig } from '@cx/config';
import { AuthenticationError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { type Accounts, hashPassword, isDisabled, type UserRow, verifyPassword } from './accounts.js';
import type { AccessControl } from '../access/access-control.js';
import { withDatabase } from '../db/database.js';
import type { LdapDirectory } from './ldap.js';
import type { ExternalIdentity } from './oidc.js';
import type { LoginThrottle } from './throttle.js';

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: Principal;
}

const ISSUER = 'cx';
const AUDIENCE = 'cx-api';
/** API tokens are recognisable (and greppable by secret scanners) by this prefix. */
const API_TOKEN_PREFIX = 'cxat_';
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

interface ApiTokenRow {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export class Authenticator {
  private readonly signingKey: Uint8Array;
  /** Verified against when the user does not exist, so that timing does not reveal which names exist. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly accounts: Accounts,
    private readonly access: AccessControl,
    private readonly throttle: LoginThrottle,
    /** The directory to sign in with now (settings saved at run time, else the config file's), or null. */
    private readonly ldap: () => Promise<LdapDirectory | null>,
    secretKey: string,
    private readonly tokenTtlSeconds: number,
    private readonly apiTokens: ApiTokenConfig = { defaultDays: 90, maxDays: 365 },
  ) {
    this.signingKey = new Uint8Array(hkdfSync('sha256', secretKey, 'cx', 'cx access token signing v1', 32));
  }

  /** Creates the bootstrap admin `admin` unless it exists; answers whether it was created. */
  async ensureBootstrapAdmin(password: string): Promise<boolean> {
    if (await this.accounts.byName('admin')) return false;
    try {
      await this.accounts.create({ username: 'admin', password, role: 'admin' });
      return true;
    } catch (error) {
      if (await this.accounts.byName('admin')) return false; // another replica won
      throw error;
    }
  }

  /**
   * Password login. Without `provider`, a local user of that name answers, else LDAP (when
   * configured). Throttled per user and per source; failures count whatever their cause.
   */
  async login(
    username: string,
    password: string,
    provider: 'local' | 'ldap' | undefined,
    sourceIp: string | undefined,
  ): Promise<LoginResult> {
    if (provider === 'ldap' && !(await this.ldap()))
      throw new InputError('LDAP login is not configured on this cx (auth.ldap.url or the directory settings)', [
        { field: 'body.provider', message: 'ldap is not configured' },
      ]);
    await this.throttle.admit(username, sourceIp);
    try {
      const user = await this.verify(username, password, provider);
      await this.throttle.succeeded(username, sourceIp);
      return await this.issue(user);
    } catch (error) {
      if ((error as { code?: string }).code === 'CX_LOGIN_FAILED') await this.throttle.failed(username, sourceIp);
      throw error;
    }
  }

  private async verify(username: string, password: string, provider: 'local' | 'ldap' | undefined): Promise<UserRow> {
    const local = provider === 'ldap' ? undefined : await this.accounts.byName(username);
    const ldap = local?.source === 'local' || provider === 'local' ? null : await this.ldap();
    if (local?.source === 'local' || provider === 'local' || !ldap) {
      const valid =
        local?.source === 'local' && local.password_hash
          ? await verifyPassword(local.password_hash, password)
          : await verifyPassword(
              await (this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'))),
              password,
            ).then(() => false);
      if (!local || !valid) throw new AuthenticationError('wrong username or password', 'CX_LOGIN_FAILED');
      return this.enabled(local);
    }
    const found = await ldap.authenticate(username, password);
    return this.enabled(
      await this.accounts.upsertExternal('ldap', {
        externalId: found.dn,
        username: found.username,
        email: found.email,
        displayName: found.displayName,
        groups: found.groups,
      }),
    );
  }

  /** Signs in a user the identity provider vouched for. */
  async loginExternal(identity: ExternalIdentity, issuer: string): Promise<LoginResult> {
    const user = await this.accounts.upsertExternal('oidc', {
      externalId: `${issuer}#${identity.subject}`,
      username: identity.username,
      email: identity.email,
      displayName: identity.displayName,
      groups: identity.groups,
    });
    return this.issue(this.enabled(user));
  }

  private enabled(user: UserRow): UserRow {
    if (isDisabled(user))
      throw new AuthenticationError(`user ${user.username} is disabled in cx; ask an admin`, 'CX_LOGIN_FAILED');
    return user;
  }

  private async issue(user: UserRow): Promise<LoginResult> {
    if (user.source === 'local') await this.accounts.touchLogin(user.id);
    const expires = Math.floor(Date.now() / 1000) + this.tokenTtlSeconds;
    const token = await new SignJWT({ name: user.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expires)
      .setJti(uuidv7())
      .sign(this.signingKey);
    return { token, expiresAt: new Date(expires * 1000).toISOString(), user: await this.principal(user) };
  }

  /** The principal behind an access or API token; refused when expired, revoked, or its user is gone or disabled. */
  async introspect(token: string): Promise<Principal> {
    const session = token.startsWith(API_TOKEN_PREFIX) ? null : await this.verifyJwt(token);
    const user = await this.accounts.byId(session ? session.sub : await this.apiTokenUser(token));
    if (!user || isDisabled(user))
      throw new AuthenticationError('the token belongs to a user that no longer exists or is disabled');
    if (session && endedByPasswordChange(session.jti, user))
      throw new AuthenticationError("the account's password was changed since this session began; log in again");
    return this.principal(user);
  }

  /**
   * Changes a local user's own password, throttled like a login (a wrong current password counts
   * as a failed login); their other sessions end, the one asking (`keepToken`) stays.
   */
  async changeOwnPassword(
    userId: string,
    change: { currentPassword: string; newPassword: string },
    keepToken: string | undefined,
    sourceIp: string | undefined,
  ): Promise<void> {
    const user = await this.accounts.byId(userId);
    if (!user) throw new NotFoundError(`user ${userId} does not exist`);
    await this.throttle.admit(user.username, sourceIp);
    const keep =
      keepToken === undefined || keepToken.startsWith(API_TOKEN_PREFIX) ? null : (await this.verifyJwt(keepToken)).jti;
    try {
      await this.accounts.changeOwnPassword(userId, change.currentPassword, change.newPassword, keep);
    } catch (error) {
      if ((error as { code?: string }).code === 'CX_LOGIN_FAILED') await this.throttle.failed(user.username, sourceIp);
      throw error;
    }
  }

  /** Revokes the token the caller presented (an access token until it expires, an API token for good). */
  async logout(token: string): Promise<void> {
    if (token.startsWith(API_TOKEN_PREFIX)) {
      await withDatabase(() =>
        this.db('api_tokens')
          .where({ token_hash: sha256(token) })
          .whereNull('revoked_at')
          .update({ revoked_at: nowIso() }),
      );
      return;
    }
    const { jti, exp } = await this.verifyJwt(token);
    await withDatabase(async () => {
      await this.db('revoked_access_tokens').where('expires_at', '<', nowIso()).delete();
      await this.db('revoked_access_tokens')
        .insert({ jti, expires_at: new Date(exp * 1000).toISOString() })
        .onConflict('jti')
        .ignore();
    });
  }

  // ---- API tokens -------------------------------------------------------------------------------

  /** An API token lives `expiresInDays`, or `auth.apiTokens.defaultDays`; never beyond `auth.apiTokens.maxDays`. */
  async createApiToken(userId: string, name: string, expiresInDays: number | undefined): Promise<ApiToken> {
    const days = expiresInDays ?? this.apiTokens.defaultDays;
    if (days > this.apiTokens.maxDays)
      throw new InputError(`an API token lives at most ${this.apiTokens.maxDays} days here (auth.apiTokens.maxDays)`, [
        { field: 'body.expiresInDays', message: `must be at most ${this.apiTokens.maxDays}` },
      ]);
    const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row: ApiTokenRow = {
      id: uuidv7(),
      user_id: userId,
      name,
      token_hash: sha256(token),
      created_at: nowIso(),
      expires_at: new Date(Date.now() + days * 86_400_000).toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await withDatabase(() => this.db('api_tokens').insert(row));
    return { ...toApiToken(row), token };
  }

  async listApiTokens(userId: string): Promise<ApiToken[]> {
    const rows = (await withDatabase(() =>
      this.db<ApiTokenRow>('api_tokens').where({ user_id: userId }).whereNull('revoked_at').orderBy('id'),
    )) as ApiTokenRow[];
    return rows.map(toApiToken);
  }

  /** Revokes one of the caller's API tokens (an admin may revoke anyone's). */
  async revokeApiToken(caller: Pick<Principal, 'id' | 'role'>, id: string): Promise<void> {
    const query = this.db('api_tokens').where({ id }).whereNull('revoked_at');
    if (caller.role !== 'admin') void query.where({ user_id: caller.id });
    const revoked = await withDatabase(() => query.update({ revoked_at: nowIso() }));
    if (revoked === 0) throw new NotFoundError(`API token ${id} does not exist or is not yours`);
  }

  private async apiTokenUser(token: string): Promise<string> {
    const row = (await withDatabase(() =>
      this.db<ApiTokenRow>('api_tokens')
        .where({ token_hash: sha256(token) })
        .first(),
    )) as ApiTokenRow | undefined;
    if (!row || row.revoked_at)
      throw new AuthenticationError('the API token is not valid or was revoked; create a new one');
    if (row.expires_at && Date.parse(row.expires_at) <= Date.now())
      throw new AuthenticationError('the API token has expired; create a new one');
    if (!row.last_used_at || Date.now() - Date.parse(row.last_used_at) > TOUCH_INTERVAL_MS) {
      await withDatabase(() => this.db('api_tokens').where({ id: row.id }).update({ last_used_at: nowIso() }));
    }
    return row.user_id;
  }

  private async verifyJwt(token: string): Promise<{ sub: string; jti: string; exp: number }> {
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, this.signingKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      }));
    } catch (error) {
      throw new AuthenticationError(
        error instanceof joseErrors.JWTExpired
          ? 'the token has expired; log in again'
          : 'the token is not valid; log in again',
      );
    }
    const { sub, jti, exp } = claims;
    if (!sub || !jti || !exp) throw new AuthenticationError('the token is not valid; log in again');
    const revoked = await withDatabase(() => this.db('revoked_access_tokens').where({ jti }).first());
    if (revoked) throw new AuthenticationError('the token was revoked (logged out); log in again');
    return { sub, jti, exp };
  }

  private async principal(user: UserRow): Promise<Principal> {
    const subject = await this.access.subject(user.id);
    return { id: user.id, username: user.username, source: user.source, role: user.role, groups: subject.groups };
  }
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

function toApiToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

/**
 * Whether a password change or reset after this session began ended it: the session's start is
 * the time in its jti (a UUIDv7, milliseconds), and the session that made the change is kept.
 */
function endedByPasswordChange(jti: string, user: UserRow): boolean {
  if (!user.sessions_valid_from || jti === user.session_kept) return false;
  const issuedAtMs = parseInt(jti.replace(/-/g, '').slice(0, 12), 16);
  return !(issuedAtMs >= Date.parse(user.sessions_valid_from));
}
