import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knex, { type Knex } from 'knex';
import { ConflictError, DependencyUnavailableError } from '@cx/errors';

/** Opens the SQL pool for `mysql://…` (mysql2) or `sqlite:PATH` (better-sqlite3). */
export function openDatabase(url: string, poolMax: number): Knex {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') {
      // Only its owner reads the database (it holds sealed secrets and every record of cx).
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
    }
    return knex({
      client: 'better-sqlite3',
      connection: { filename: path },
      useNullAsDefault: true,
      // One connection: SQLite serialises writers anyway, and one connection keeps transactions simple.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    });
  }
  return knex({
    client: 'mysql2',
    connection: {
      uri: url,
      dateStrings: true,
      supportBigNumbers: true,
      connectTimeout: 5_000,
    } as unknown as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000 },
    acquireConnectionTimeout: 10_000,
  });
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_BUSY',
]);

/** Whether an error means "the database cannot be reached" (as opposed to a bad query). */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; name?: string; fatal?: boolean };
  // mysql2 marks errors that broke the connection as fatal; knex times out acquiring one from the pool.
  return CONNECTION_ERROR_CODES.has(e.code ?? '') || e.name === 'KnexTimeoutError' || e.fatal === true;
}

/**
 * Runs `work`, turning connectivity failures into a retryable 503 error naming the setting, and a
 * broken reference (which a check before the write should have caught) into a 409 rather than a 500.
 */
export async function withDatabase<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionError(error)) {
      throw new DependencyUnavailableError(
        `the database is unreachable (${(error as Error).message}); check CX_DATABASE_URL`,
        { cause: error },
      );
    }
    if (isForeignKeyViolation(error))
      throw new ConflictError(
        'this change refers to something that does not exist, or removes something still in use; nothing was changed',
        'CX_CONFLICT',
        { cause: error },
      );
    throw error;
  }
}

export function isForeignKeyViolation(error: unknown): boolean {
  const e = error as { code?: string; errno?: number };
  return (
    e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ||
    e.code === 'ER_NO_REFERENCED_ROW_2' ||
    e.code === 'ER_ROW_IS_REFERENCED_2' ||
    e.errno === 1451 ||
    e.errno === 1452
  );
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; errno?: number };
  return (
    e.code === 'ER_DUP_ENTRY' ||
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e.errno === 1062
  );
}

/** A unique violation on a name as the 409 that names the field; any other error as it is. */
export function nameTaken(error: unknown, what: string, name: string, field = 'body.name'): unknown {
  if (!isUniqueViolation(error)) return error;
  return new ConflictError(`${what} named ${name} already exists`, 'CX_NAME_TAKEN', {
    details: { fields: [{ field, message: 'is already in use' }] },
  });
}
