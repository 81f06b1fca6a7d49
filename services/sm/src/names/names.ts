/**
 * Names as the public API accepts them in place of ids. Ids (UUIDv7) and names share one path
 * segment, and a name may be spelled like an id (a DNS label can be 36 hex digits and dashes), so
 * an id always wins: `ref` is first looked up as an id, and only then as a name.
 */
import type { Knex } from 'knex';
import { ConflictError } from '@cx/errors';
import type { NamedKind } from '@cx/sm-contract';
import { withDatabase } from '../db/database.js';
import { withPrepared } from '../db/prepared.js';

/** Where each kind is stored and which column holds its name (unique, except ha-configs: per cluster). */
const STORED: Record<NamedKind, { table: string; name: string }> = {
  cluster: { table: 'clusters', name: 'name' },
  user: { table: 'users', name: 'username' },
  group: { table: 'groups', name: 'name' },
  'ha-config': { table: 'ha_configs', name: 'name' },
  'cluster-template': { table: 'cluster_templates', name: 'name' },
  'resource-group': { table: 'resource_groups', name: 'name' },
  credential: { table: 'credentials', name: 'name' },
  host: { table: 'hosts', name: 'name' },
  'ip-pool': { table: 'ip_pools', name: 'name' },
  pair: { table: 'pairs', name: 'name' },
};

export class Names {
  constructor(private readonly db: Knex) {}

  /** The id `ref` stands for, or null; a name two objects share is a 409 (address it by id). */
  async resolve(kind: NamedKind, ref: string): Promise<string | null> {
    const { table, name } = STORED[kind];
    // Resolved on most calls that name an object: prepared statements (table and column are from STORED).
    return withDatabase(() =>
      withPrepared(this.db, async (sql) => {
        const byId = await sql.first<{ id: string }>(`SELECT \`id\` FROM \`${table}\` WHERE \`id\` = ?`, [ref]);
        if (byId) return byId.id;
        const byName = await sql.all<{ id: string }>(`SELECT \`id\` FROM \`${table}\` WHERE \`${name}\` = ? LIMIT 2`, [
          ref,
        ]);
        if (byName.length > 1)
          throw new ConflictError(
            `more than one ${kind} is named ${ref} (their names are unique per cluster only); address it by id, which its list shows`,
            'CX_CONFLICT',
          );
        return byName[0]?.id ?? null;
      }),
    );
  }
}
