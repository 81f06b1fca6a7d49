/**
 * Brute-force protection of logins, kept in SQL so that every sm replica sees the same counts.
 * Failures are counted per user and per source address in a fixed window; past the limit the user
 * is locked (423) and the address refused (429) for `lockSeconds`, whatever password comes next.
 */
import type { Knex } from 'knex';
import type { LockoutConfig } from '@cx/config';
import { AuthenticationError, CxError } from '@cx/errors';
import { withDatabase } from '../db/database.js';

interface ThrottleRow {
  subject: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}

export class LoginThrottle {
  constructor(
    private readonly db: Knex,
    private readonly policy: LockoutConfig,
  ) {}

  /** Throws when the user or the source may not try now. */
  async check(username: string, sourceIp: string | undefined): Promise<void> {
    const subjects = [userSubject(username), ...(sourceIp ? [sourceSubject(sourceIp)] : [])];
    const rows = (await withDatabase(() =>
      this.db<ThrottleRow>('login_throttle').whereIn('subject', subjects),
    )) as ThrottleRow[];
    const now = Date.now();
    for (const row of rows) {
      if (!row.locked_until || Date.parse(row.locked_until) <= now) continue;
      const retryAfterSeconds = Math.ceil((Date.parse(row.locked_until) - now) / 1000);
      if (row.subject.startsWith('source:')) {
        throw new CxError(
          'CX_RATE_LIMITED',
          `too many failed logins from ${sourceIp}; try again in ${retryAfterSeconds} s`,
          { retryAfterSeconds, details: { retryAfter: retryAfterSeconds } },
        );
      }
      throw new AuthenticationError(
        `user ${username} is locked after too many failed logins; try again in ${retryAfterSeconds} s or ask an admin to unlock it`,
        'CX_ACCOUNT_LOCKED',
        { retryAfterSeconds, details: { retryAfter: retryAfterSeconds } },
      );
    }
  }

  /** Counts a failed login; answers whether this failure locked the user. */
  async failed(username: string, sourceIp: string | undefined): Promise<{ userLocked: boolean }> {
    let userLocked = false;
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        userLocked = await this.count(trx, userSubject(username), this.policy.maxFailures);
        if (sourceIp) await this.count(trx, sourceSubject(sourceIp), this.policy.maxFailuresPerSource);
      }),
    );
    return { userLocked };
  }

  /** A successful login clears the user's failures (not the source's). */
  async succeeded(username: string): Promise<void> {
    await withDatabase(() =>
      this.db('login_throttle')
        .where({ subject: userSubject(username) })
        .delete(),
    );
  }

  /** Lifts a user's lock (admin action). */
  async unlock(username: string): Promise<void> {
    await this.succeeded(username);
  }

  private async count(trx: Knex.Transaction, subject: string, limit: number): Promise<boolean> {
    const now = new Date();
    const row = (await trx<ThrottleRow>('login_throttle').where({ subject }).forUpdate().first()) as
      ThrottleRow | undefined;
    const windowOpen = row && Date.parse(row.window_started_at) + this.policy.windowSeconds * 1000 > now.getTime();
    const failures = windowOpen ? row.failures + 1 : 1;
    const lockedUntil =
      failures >= limit ? new Date(now.getTime() + this.policy.lockSeconds * 1000).toISOString() : null;
    const values = {
      failures,
      window_started_at: windowOpen ? row.window_started_at : now.toISOString(),
      locked_until: lockedUntil,
    };
    if (row) await trx('login_throttle').where({ subject }).update(values);
    else
      await trx('login_throttle')
        .insert({ subject, ...values })
        .onConflict('subject')
        .merge(values);
    return lockedUntil !== null;
  }
}

const userSubject = (username: string): string => `user:${username.toLowerCase()}`;
const sourceSubject = (address: string): string => `source:${address}`;
