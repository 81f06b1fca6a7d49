/**
 * Brute-force protection of logins, kept in SQL so that every sm replica sees the same counts.
 * Failures are counted in a window per user *and* source address, per user, and per source:
 *
 * - one user from one source: past `maxFailures`, each further try from there waits, twice as long
 *   each time (5 s, 10 s, 20 s … up to `lockSeconds`): a guesser slows down, nobody is locked out;
 * - one user from everywhere: past `maxFailuresPerUser` the user is locked (423) against sources
 *   it never signed in from, so that anonymous guessing cannot lock a user out of where they work;
 * - one source, any users: past `maxFailuresPerSource` the address is refused (429), again except
 *   for users who signed in from it before (a shared proxy or NAT does not lock everyone out).
 *
 * An admin's unlock clears what the user's failures left: theirs, and the sources they came from.
 */
import type { Knex } from 'knex';
import type { LockoutConfig } from '@cx/config';
import { AuthenticationError, CxError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';

interface ThrottleRow {
  subject: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}

/** The first wait of a user at one source past maxFailures; each further failure doubles it. */
const FIRST_DELAY_SECONDS = 5;
/** A login without a known address (an internal caller) is throttled as this source. */
const NO_SOURCE = 'unknown';

export class LoginThrottle {
  constructor(
    private readonly db: Knex,
    private readonly policy: LockoutConfig,
  ) {}

  /** Throws when this user may not try from this source now. */
  async admit(username: string, sourceIp: string | undefined): Promise<void> {
    const source = sourceIp ?? NO_SOURCE;
    const user = userKey(username);
    const subjects = [pairSubject(user, source), userSubject(user), sourceSubject(source)];
    const [rows, known] = await withDatabase(() =>
      Promise.all([
        this.db<ThrottleRow>('login_throttle').whereIn('subject', subjects) as Promise<ThrottleRow[]>,
        this.isKnown(user, source),
      ]),
    );
    const now = Date.now();
    const wait = (subject: string): number => {
      const until = rows.find((row) => row.subject === subject)?.locked_until;
      return until && Date.parse(until) > now ? Math.ceil((Date.parse(until) - now) / 1000) : 0;
    };
    const delay = wait(pairSubject(user, source));
    if (delay > 0)
      throw rateLimited(`too many failed logins of ${username} from ${source}; try again in ${delay} s`, delay);
    if (known) return;
    const locked = wait(userSubject(user));
    if (locked > 0)
      throw new AuthenticationError(
        `user ${username} is locked after too many failed logins; try again in ${locked} s from here, sign in from where you signed in before, or ask an admin to unlock it`,
        'CX_ACCOUNT_LOCKED',
        { retryAfterSeconds: locked, details: { retryAfter: locked } },
      );
    const refused = wait(sourceSubject(source));
    if (refused > 0) throw rateLimited(`too many failed logins from ${source}; try again in ${refused} s`, refused);
  }

  /** Counts a failed login; answers whether this failure locked the user. */
  async failed(username: string, sourceIp: string | undefined): Promise<{ userLocked: boolean }> {
    const source = sourceIp ?? NO_SOURCE;
    const user = userKey(username);
    let userLocked = false;
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        await this.count(trx, pairSubject(user, source), (failures) =>
          failures >= this.policy.maxFailures
            ? Math.min(
                this.policy.lockSeconds,
                FIRST_DELAY_SECONDS * 2 ** Math.min(failures - this.policy.maxFailures, 20),
              )
            : 0,
        );
        userLocked =
          (await this.count(trx, userSubject(user), (failures) =>
            failures >= this.policy.maxFailuresPerUser ? this.policy.lockSeconds : 0,
          )) > 0;
        await this.count(trx, sourceSubject(source), (failures) =>
          failures >= this.policy.maxFailuresPerSource ? this.policy.lockSeconds : 0,
        );
      }),
    );
    return { userLocked };
  }

  /**
   * A successful login clears the user's failures from this source and remembers the source; the
   * user's lock against other sources stays until it expires or an admin lifts it.
   */
  async succeeded(username: string, sourceIp: string | undefined): Promise<void> {
    const source = sourceIp ?? NO_SOURCE;
    const user = userKey(username);
    const now = nowIso();
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        await trx('login_throttle')
          .where({ subject: pairSubject(user, source) })
          .delete();
        await trx('login_throttle')
          .where({ subject: userSubject(user) })
          .where((q) => {
            void q.whereNull('locked_until').orWhere('locked_until', '<=', now);
          })
          .delete();
        if (source !== NO_SOURCE)
          await trx('known_login_sources')
            .insert({ username: user, source, last_login_at: now })
            .onConflict(['username', 'source'])
            .merge({ last_login_at: now });
      }),
    );
  }

  /** Lifts everything the user's failures left (admin action): their lock, their delays, the sources they came from. */
  async unlock(username: string): Promise<void> {
    const user = userKey(username);
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        // LIKE with its own escape character, the same on SQLite and MySQL (whose columns may not be Unicode).
        const prefix = pairSubject(user, '').replace(/[!%_]/g, (c) => `!${c}`);
        const pairs = (await trx('login_throttle')
          .whereRaw("subject like ? escape '!'", [`${prefix}%`])
          .pluck('subject')) as string[];
        const sources = pairs.map((subject) => sourceSubject(subject.slice(pairSubject(user, '').length)));
        await trx('login_throttle')
          .whereIn('subject', [userSubject(user), ...pairs, ...sources])
          .delete();
      }),
    );
  }

  private async isKnown(user: string, source: string): Promise<boolean> {
    if (source === NO_SOURCE) return false;
    return (await this.db('known_login_sources').where({ username: user, source }).first('source')) !== undefined;
  }

  /** Counts one failure of `subject`; `lockFor` says from its count how many seconds it is then refused. */
  private async count(trx: Knex.Transaction, subject: string, lockFor: (failures: number) => number): Promise<number> {
    const now = new Date();
    const row = (await trx<ThrottleRow>('login_throttle').where({ subject }).forUpdate().first()) as
      ThrottleRow | undefined;
    const windowOpen = row && Date.parse(row.window_started_at) + this.policy.windowSeconds * 1000 > now.getTime();
    const failures = windowOpen ? row.failures + 1 : 1;
    const seconds = lockFor(failures);
    const values = {
      failures,
      window_started_at: windowOpen ? row.window_started_at : now.toISOString(),
      locked_until: seconds > 0 ? new Date(now.getTime() + seconds * 1000).toISOString() : null,
    };
    if (row) await trx('login_throttle').where({ subject }).update(values);
    else
      await trx('login_throttle')
        .insert({ subject, ...values })
        .onConflict('subject')
        .merge(values);
    return seconds;
  }
}

const userKey = (username: string): string => username.toLowerCase();
const userSubject = (user: string): string => `user:${user}`;
const sourceSubject = (source: string): string => `source:${source}`;
const pairSubject = (user: string, source: string): string => `pair:${user}|${source}`;

function rateLimited(message: string, retryAfterSeconds: number): CxError {
  return new CxError('CX_RATE_LIMITED', message, { retryAfterSeconds, details: { retryAfter: retryAfterSeconds } });
}
