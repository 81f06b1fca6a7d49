/**
 * Authentication of local users: argon2id password hashes and short-lived signed access tokens.
 * LDAP / AD and OIDC join here later; whatever the source, wfm only ever sees the token.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { AuthenticationError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from './db.js';

export interface UserIdentity {
  id: string;
  username: string;
  role: 'admin' | 'user';
}

interface UserRow { id: string; username: string; role: 'admin' | 'user'; password_hash: string | null; disabled: number | boolean }

/** OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane). */
const ARGON2 = { algorithm: 2 /* Algorithm.Argon2id (an ambient const enum) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const ISSUER = 'cx';
const AUDIENCE = 'cx-api';

export class Authenticator {
  private readonly signingKey: Uint8Array;
  /** Verified against when the user does not exist, so that timing does not reveal which names exist. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly db: Knex, secretKey: string, private readonly tokenTtlSeconds: number) {
    this.signingKey = new Uint8Array(hkdfSync('sha256', secretKey, 'cx', 'cx access token signing v1', 32));
  }

  /** Creates the bootstrap admin `admin` unless it exists; answers whether it was created. */
  async ensureBootstrapAdmin(password: string): Promise<boolean> {
    return withDatabase(async () => {
      const existing = await this.db('users').where({ username: 'admin' }).first();
      if (existing) return false;
      const now = nowIso();
      try {
        await this.db('users').insert({ id: uuidv7(), username: 'admin', source: 'local', role: 'admin', password_hash: await hash(password, ARGON2), disabled: false, created_at: now, updated_at: now, version: 1 });
        return true;
      } catch (error) {
        if ((await this.db('users').where({ username: 'admin' }).first()) !== undefined) return false; // another replica won
        throw error;
      }
    });
  }

  async login(username: string, password: string): Promise<{ token: string; expiresAt: string; user: UserIdentity }> {
    const row = await withDatabase(() => this.db('users').where({ username, source: 'local' }).first()) as UserRow | undefined;
    const valid = row?.password_hash ? await verify(row.password_hash, password) : await verify(await (this.dummyHash ??= hash(randomBytes(16).toString('hex'), ARGON2)), password).then(() => false);
    if (!row || !valid) throw new AuthenticationError('wrong username or password', 'CX_LOGIN_FAILED');
    if (row.disabled === true || row.disabled === 1) throw new AuthenticationError(`user ${username} is disabled; ask an admin`, 'CX_LOGIN_FAILED');
    const user: UserIdentity = { id: row.id, username: row.username, role: row.role };
    const expires = Math.floor(Date.now() / 1000) + this.tokenTtlSeconds;
    const token = await new SignJWT({ name: user.username, role: user.role })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(user.id).setIssuer(ISSUER).setAudience(AUDIENCE)
      .setIssuedAt().setExpirationTime(expires).setJti(uuidv7()).sign(this.signingKey);
    return { token, expiresAt: new Date(expires * 1000).toISOString(), user };
  }

  /** The user behind an access token, checked against the users table (disabled users lose access at once). */
  async introspect(token: string): Promise<UserIdentity> {
    let subject: string;
    try {
      const { payload } = await jwtVerify(token, this.signingKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      subject = payload.sub ?? '';
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw new AuthenticationError(expired ? 'the token has expired; log in again' : 'the token is not valid; log in again');
    }
    const row = await withDatabase(() => this.db('users').where({ id: subject }).first()) as UserRow | undefined;
    if (!row || row.disabled === true || row.disabled === 1) throw new AuthenticationError('the token belongs to a user that no longer exists or is disabled');
    return { id: row.id, username: row.username, role: row.role };
  }
}
