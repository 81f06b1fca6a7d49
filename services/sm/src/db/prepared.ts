/**
 * SQL of the workflow step path, which runs several times per step and thousands of times a
 * second: statements prepared once per connection and run on a knex transaction's own connection,
 * without knex building and compiling each query again. On SQLite they are better-sqlite3's
 * prepared statements; on MariaDB mysql2's `execute`, which prepares on the server and caches per
 * connection. Knex stays for migrations and the cold paths. Statements use `?` placeholders and
 * backquoted names, which both databases read.
 */
import type { Knex } from 'knex';

/** A value a statement binds: what both drivers accept alike. */
export type SqlValue = string | number | null;

export interface PreparedSql {
  all<T>(sql: string, params: SqlValue[]): Promise<T[]>;
  first<T>(sql: string, params: SqlValue[]): Promise<T | undefined>;
  /** Runs a write; answers how many rows it matched. */
  run(sql: string, params: SqlValue[]): Promise<number>;
}

interface SqliteStatement {
  all(...params: SqlValue[]): unknown[];
  /** The first row only: the rest are not read. */
  get(...params: SqlValue[]): unknown;
  run(...params: SqlValue[]): { changes: number };
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
interface MysqlConnection {
  execute(sql: string, params: SqlValue[], done: (error: Error | null, result: unknown) => void): void;
  query(sql: string, done: (error: Error | null) => void): void;
}
interface PoolClient {
  config: { client: string };
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/** Each SQLite connection's statements, by SQL text (a handful: the step path's). */
const sqliteStatements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

/** The prepared-statement view of a transaction's connection. */
export async function prepared(trx: Knex.Transaction): Promise<PreparedSql> {
  const connection: unknown = await trx.client.acquireConnection();
  return view((trx.client as PoolClient).config.client, connection);
}

/** Prepared statements on `connection` of the knex `driver`. */
function view(driver: string, connection: unknown): PreparedSql {
  return driver === 'better-sqlite3' ? sqlite(connection as SqliteConnection) : mysql(connection as MysqlConnection);
}

/**
 * Runs `work` in a transaction of its own on a connection of the pool, with prepared statements
 * only: no knex transaction object, whose set-up, BEGIN and COMMIT cost more than a step
 * transition's own statements. Rolled back when `work` or the commit fails. Work that also writes
 * through knex uses `db.transaction` and `prepared(trx)` instead.
 */
export async function preparedTransaction<T>(db: Knex, work: (sql: PreparedSql) => Promise<T>): Promise<T> {
  const client = db.client as PoolClient;
  const connection = await client.acquireConnection();
  const sql = view(client.config.client, connection);
  const control = (statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown> =>
    client.config.client === 'better-sqlite3'
      ? sql.run(statement, [])
      : // Transaction control goes to MariaDB as plain text: not every server prepares it.
        new Promise<void>((resolve, reject) =>
          (connection as MysqlConnection).query(statement, (error) => (error ? reject(error) : resolve())),
        );
  try {
    await control('BEGIN');
    try {
      const result = await work(sql);
      await control('COMMIT');
      return result;
    } catch (error) {
      await control('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * Runs `work` with prepared statements on a connection of the pool, outside any transaction: for
 * a single write or reads that need no snapshot (an audit record, a principal's grants).
 */
export async function withPrepared<T>(db: Knex, work: (sql: PreparedSql) => Promise<T>): Promise<T> {
  const client = db.client as PoolClient;
  const connection = await client.acquireConnection();
  try {
    return await work(view(client.config.client, connection));
  } finally {
    await client.releaseConnection(connection);
  }
}

function sqlite(connection: SqliteConnection): PreparedSql {
  let statements = sqliteStatements.get(connection);
  if (!statements) sqliteStatements.set(connection, (statements = new Map()));
  const statement = (sql: string): SqliteStatement => {
    let found = statements.get(sql);
    if (!found) statements.set(sql, (found = connection.prepare(sql)));
    return found;
  };
  return {
    all: <T>(sql: string, params: SqlValue[]) => Promise.resolve(statement(sql).all(...params) as T[]),
    first: <T>(sql: string, params: SqlValue[]) => Promise.resolve(statement(sql).get(...params) as T | undefined),
    run: (sql, params) => Promise.resolve(statement(sql).run(...params).changes),
  };
}

function mysql(connection: MysqlConnection): PreparedSql {
  const execute = (sql: string, params: SqlValue[]): Promise<unknown> =>
    new Promise((resolve, reject) =>
      connection.execute(sql, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  return {
    all: async <T>(sql: string, params: SqlValue[]) => (await execute(sql, params)) as T[],
    first: async <T>(sql: string, params: SqlValue[]) => ((await execute(sql, params)) as T[])[0],
    // mysql2 connects with FOUND_ROWS, so affectedRows counts the rows matched, as SQLite's changes do here.
    run: async (sql, params) => ((await execute(sql, params)) as { affectedRows: number }).affectedRows,
  };
}

/** `UPDATE table SET a = ?, b = ? …` for the columns of `changes`, with their values in order. */
export function setClause(changes: Record<string, SqlValue>): { sql: string; values: SqlValue[] } {
  const columns = Object.keys(changes);
  return {
    sql: columns.map((column) => `\`${column}\` = ?`).join(', '),
    values: columns.map((column) => changes[column]!),
  };
}
