/** Keyset pagination of sm's lists: opaque cursors (the last id of the previous page) and one page of a query. */
import type { Knex } from 'knex';
import { InputError } from '@cx/errors';
import { withDatabase } from './database.js';

/** Opaque keyset cursor: the last id of the previous page. */
export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ after: id })).toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    return typeof value.after === 'string' ? value.after : null;
  } catch {
    return null;
  }
}

/** The id a page starts after; a cursor this API did not write is a 400 naming the parameter. */
export function afterCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const after = decodeCursor(cursor);
  if (after === null)
    throw new InputError('cursor is not one this API returned', [
      { field: 'querystring.cursor', message: 'is invalid' },
    ]);
  return after;
}

/**
 * One keyset page of `query` (rows ordered by id, created in id order since ids are UUIDv7, so
 * `desc` is newest first): the rows after `cursor`, at most `limit`, and the cursor of the next
 * page when there is one. `column` is the id's, qualified where the query joins.
 */
export async function keysetPage<R extends { id: string }>(
  query: Knex.QueryBuilder,
  limit: number,
  cursor: string | undefined,
  order: 'asc' | 'desc' = 'asc',
  column = 'id',
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const after = afterCursor(cursor);
  void query.orderBy(column, order).limit(limit + 1);
  if (after) void query.where(column, order === 'asc' ? '>' : '<', after);
  const rows = (await withDatabase(() => query)) as R[];
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}
