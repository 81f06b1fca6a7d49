/** IP pools against real SQL: SQLite and MariaDB, with concurrent allocations. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { IpPools } from './ip-pools.js';
import { testDatabases } from '../db/test-databases.js';

for (const target of testDatabases) {
  describe(`IP pools on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let pools: IpPools;

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      pools = new IpPools(db);
    });
    after(async () => {
      await db.destroy();
      await drop();
    });

    it("creates a pool from the seeds' syntax and refuses malformed or overlapping ranges, changing nothing", async () => {
      const pool = await pools.create({ name: 'vips', ranges: '10.1.1.5-8,42.42.42.42' }, 'root');
      assert.equal(pool.size, '5');
      assert.deepEqual(pool.families, ['ipv4']);
      await assert.rejects(
        pools.create({ name: 'bad', ranges: '10.1.1.9-3' }, 'root'),
        (e: { code?: string; details?: { fields?: Array<{ field: string }> } }) =>
          e.code === 'CX_INPUT_INVALID' && e.details?.fields?.[0]?.field === 'body.ranges',
      );
      await assert.rejects(pools.create({ name: 'self', ranges: '10.2.0.1-9,10.2.0.9' }, 'root'), {
        code: 'CX_INPUT_INVALID',
      });
      await assert.rejects(
        pools.create({ name: 'clash', ranges: '10.1.1.8-10' }, 'root'),
        /overlaps 10.1.1.5-8 of pool vips/,
      );
      await assert.rejects(pools.create({ name: 'vips', ranges: '10.9.9.9' }, 'root'), { code: 'CX_NAME_TAKEN' });
      assert.deepEqual(
        (await pools.list(50, undefined)).items.map((p) => p.name),
        ['vips'],
      );
    });

    it('never gives one address twice under concurrent requests, and says when the pool is exhausted', async () => {
      await pools.create({ name: 'race', ranges: '192.0.2.0/28,2001:db8::1-4' }, 'root');
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => pools.allocate('race', { owner: `o${i}` }, 'root')),
      );
      const addresses = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
      assert.equal(addresses.length, 20, 'the pool holds 16 + 4 addresses');
      assert.equal(new Set(addresses).size, 20, 'no address was given twice');
      assert.ok(addresses.includes('2001:db8::4'));
      for (const r of results)
        if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'CX_POOL_EXHAUSTED');
      await pools.release('race', '192.0.2.7');
      assert.equal(
        (await pools.allocate('race', { owner: 'again' }, 'root')).address,
        '192.0.2.7',
        'a released address is free again',
      );
      const page = await pools.allocations('race', 15, undefined);
      const rest = await pools.allocations('race', 15, page.nextCursor ?? undefined);
      assert.equal(page.items.length + rest.items.length, 20);
      assert.equal(rest.nextCursor, null);
      await assert.rejects(pools.delete('race'), { code: 'CX_CONFLICT' });
    });

    it('allocates a named address only from the pool, once', async () => {
      assert.equal(
        (await pools.allocate('vips', { owner: 'ingress', address: '42.42.42.42' }, 'root')).address,
        '42.42.42.42',
      );
      await assert.rejects(pools.allocate('vips', { owner: 'other', address: '42.42.42.42' }, 'root'), {
        code: 'CX_CONFLICT',
      });
      await assert.rejects(pools.allocate('vips', { owner: 'other', address: '10.1.1.9' }, 'root'), {
        code: 'CX_INPUT_INVALID',
      });
      assert.equal((await pools.allocate('vips', { owner: 'api' }, 'root')).address, '10.1.1.5');
      await pools.release('vips', '42.42.42.42');
      await pools.release('vips', '10.1.1.5');
      await pools.delete('vips');
      await assert.rejects(pools.get('vips'), { code: 'CX_NOT_FOUND' });
    });
  });
}
