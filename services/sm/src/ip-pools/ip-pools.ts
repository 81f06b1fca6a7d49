/**
 * IP pools and the addresses allocated from them (control-plane VIPs, ingress VIPs, anything an
 * admin reserves). Ranges are parsed and checked once, at creation; an allocation is a row whose
 * primary key is (pool, address), so two concurrent requests can never get the same address: the
 * loser of an insert race moves on to the next free one.
 */
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import { v7 as uuidv7 } from 'uuid';
import type { IpAllocation, IpAllocationRequest, IpPool, IpPoolCreateRequest, Page } from '@cx/api-schemas';
import { ConflictError, InputError, NotFoundError } from '@cx/errors';
import {
  contains,
  findOverlap,
  firstFree,
  formatAddress,
  parseAddress,
  parseRanges,
  RangeSyntaxError,
  size,
  type AddressRange,
} from '@cx/ipam';
import { nowIso } from '@cx/service-kit';
import { isUniqueViolation, nameTaken, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';

interface PoolRow {
  id: string;
  name: string;
  families: string;
  ranges: string;
  description: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}
interface AllocationRow {
  pool_id: string;
  address: string;
  owner: string;
  cluster_id: string | null;
  created_by: string;
  created_at: string;
}

/**
 * Upper bound on the insert races one allocation may lose. Each lost race means another request got
 * an address, so the loop ends by itself when the pool runs out; the bound only caps a huge pool.
 */
const MAX_LOST_RACES = 10_000;

export class IpPools {
  constructor(private readonly db: Knex) {}

  async list(limit: number, cursor: string | undefined): Promise<Page<IpPool>> {
    const { rows, nextCursor } = await keysetPage<PoolRow>(this.db('ip_pools'), limit, cursor);
    return { items: await Promise.all(rows.map((row) => this.toPool(row))), nextCursor };
  }

  async get(idOrName: string): Promise<IpPool> {
    return this.toPool(await this.row(idOrName));
  }

  /** Creates a pool; malformed ranges, or ranges that overlap each other or another pool, are refused. */
  async create(request: IpPoolCreateRequest, actor: string): Promise<IpPool> {
    const ranges = rangesOf(request.ranges, 'body.ranges');
    const others = (await withDatabase(() => this.db<PoolRow>('ip_pools').select('name', 'ranges'))) as Array<
      Pick<PoolRow, 'name' | 'ranges'>
    >;
    for (const other of others) {
      const overlap = findOverlap(ranges, parseRanges(other.ranges));
      if (overlap) {
        throw new ConflictError(
          `${overlap[0].text} overlaps ${overlap[1].text} of pool ${other.name}; an address belongs to one pool`,
          'CX_CONFLICT',
          { details: { fields: [{ field: 'body.ranges', message: `overlaps pool ${other.name}` }] } },
        );
      }
    }
    const id = uuidv7();
    const now = nowIso();
    try {
      await withDatabase(() =>
        this.db('ip_pools').insert({
          id,
          name: request.name,
          families: families(ranges).join(','),
          ranges: ranges.map((r) => r.text).join(','),
          description: request.description ?? null,
          created_by: actor,
          created_at: now,
          updated_at: now,
          version: 1,
        }),
      );
    } catch (error) {
      throw nameTaken(error, 'an IP pool', request.name);
    }
    return this.get(id);
  }

  async delete(idOrName: string): Promise<void> {
    const row = await this.row(idOrName);
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const held = (await trx('ip_allocations').where({ pool_id: row.id }).count({ n: '*' }).first()) as {
          n: number | string;
        };
        if (Number(held.n) > 0)
          throw new ConflictError(`IP pool ${row.name} still has ${held.n} allocated address(es); release them first`);
        await trx('ip_pools').where({ id: row.id }).delete();
      }),
    );
  }

  /** Allocates the requested address, or the first free one; `409 CX_POOL_EXHAUSTED` when none is left. */
  async allocate(
    idOrName: string,
    request: IpAllocationRequest & { clusterId?: string },
    actor: string,
    db: Knex | Knex.Transaction = this.db,
  ): Promise<IpAllocation> {
    const row = await this.row(idOrName, db);
    const ranges = parseRanges(row.ranges);
    const insert = async (address: string): Promise<IpAllocation> => {
      const allocation = {
        pool_id: row.id,
        address,
        owner: request.owner,
        cluster_id: request.clusterId ?? null,
        created_by: actor,
        created_at: nowIso(),
      };
      await withDatabase(() => db('ip_allocations').insert(allocation));
      return toAllocation(row.name, allocation);
    };
    if (request.address !== undefined) {
      const wanted = parseAddress(request.address);
      if (!wanted || !contains(ranges, wanted)) {
        throw new InputError(`${request.address} is not an address of pool ${row.name} (${row.ranges})`, [
          { field: 'body.address', message: 'must be an address of the pool' },
        ]);
      }
      const address = formatAddress(wanted.family, wanted.value);
      try {
        return await insert(address);
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ConflictError(`${address} of pool ${row.name} is already allocated`, 'CX_CONFLICT', {
            details: { fields: [{ field: 'body.address', message: 'is already allocated' }] },
          });
        throw error;
      }
    }
    for (let lost = 0; lost < MAX_LOST_RACES; lost += 1) {
      const taken = new Set(
        (await withDatabase(() => db('ip_allocations').where({ pool_id: row.id }).pluck('address'))) as string[],
      );
      const address = firstFree(ranges, taken);
      if (address === undefined) {
        throw new ConflictError(
          `IP pool ${row.name} is exhausted: all ${size(ranges)} addresses are allocated`,
          'CX_POOL_EXHAUSTED',
          { details: { pool: row.name, size: String(size(ranges)) } },
        );
      }
      try {
        return await insert(address);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw new ConflictError(`IP pool ${row.name} is under heavy contention; try again`, 'CX_CONFLICT', {
      retryAfterSeconds: 1,
    });
  }

  async allocations(idOrName: string, limit: number, cursor: string | undefined): Promise<Page<IpAllocation>> {
    const row = await this.row(idOrName);
    let query = this.db<AllocationRow>('ip_allocations')
      .where({ pool_id: row.id })
      .orderBy('address')
      .limit(limit + 1);
    if (cursor) query = query.where('address', '>', cursor);
    const rows = (await withDatabase(() => query)) as AllocationRow[];
    const page = rows.slice(0, limit);
    return {
      items: page.map((a) => toAllocation(row.name, a)),
      nextCursor: rows.length > limit ? page[page.length - 1]!.address : null,
    };
  }

  /** Releases an address; releasing one that is not allocated is a success. */
  async release(idOrName: string, address: string): Promise<void> {
    const row = await this.row(idOrName);
    const parsed = parseAddress(address);
    if (!parsed)
      throw new InputError(`${address} is not an IP address`, [
        { field: 'params.address', message: 'must be an IPv4 or IPv6 address' },
      ]);
    await withDatabase(() =>
      this.db('ip_allocations')
        .where({ pool_id: row.id, address: formatAddress(parsed.family, parsed.value) })
        .delete(),
    );
  }

  private async toPool(row: PoolRow): Promise<IpPool> {
    const allocated = (await withDatabase(() =>
      this.db('ip_allocations').where({ pool_id: row.id }).count({ n: '*' }).first(),
    )) as { n: number | string };
    return {
      id: row.id,
      name: row.name,
      ranges: row.ranges,
      description: row.description,
      families: row.families.split(',') as IpPool['families'],
      size: String(size(parseRanges(row.ranges))),
      allocated: Number(allocated.n),
      createdBy: row.created_by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  private async row(idOrName: string, db: Knex | Knex.Transaction = this.db): Promise<PoolRow> {
    const row = (await withDatabase(() =>
      db<PoolRow>('ip_pools').where({ id: idOrName }).orWhere({ name: idOrName }).first(),
    )) as PoolRow | undefined;
    if (!row) throw new NotFoundError(`IP pool ${idOrName} does not exist`);
    return row;
  }
}

/** Parses ranges, turning a syntax error into a 400 on `field`. */
export function rangesOf(text: string, field: string): AddressRange[] {
  try {
    return parseRanges(text);
  } catch (error) {
    if (error instanceof RangeSyntaxError)
      throw new InputError(`invalid ranges: ${error.message}`, [{ field, message: error.message }]);
    throw error;
  }
}

function families(ranges: AddressRange[]): string[] {
  return [...new Set(ranges.map((r) => r.family))].sort();
}

function toAllocation(pool: string, row: Omit<AllocationRow, 'pool_id'>): IpAllocation {
  return {
    pool,
    address: row.address,
    owner: row.owner,
    clusterId: row.cluster_id,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

/** A deleted cluster gives its addresses (its control-plane VIP) back to their pools. */
export async function releaseAddressesOf(sql: PreparedSql, clusterId: string): Promise<void> {
  await sql.run('DELETE FROM `ip_allocations` WHERE `cluster_id` = ?', [clusterId]);
}
