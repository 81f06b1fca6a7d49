/** Prepared statements against real SQL: rows inserted in chunks, as both databases take them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { insertRows, preparedTransaction } from './prepared.js';
import { testDatabases } from './test-databases.js';

for (const target of testDatabases) {
  describe(`prepared statements on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;

    before(async () => {
      ({ db, drop } = await target.open());
      await db.schema.createTable('rows_test', (table) => {
        table.integer('id').primary();
        table.string('name', 32).notNullable();
        table.string('note', 32).nullable();
      });
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('inserts 250 rows in statements of at most 100, each with its values in order', async () => {
      const rows = Array.from({ length: 250 }, (_, i) => [i, `row-${i}`, i % 2 === 0 ? null : 'odd']);
      const statements: number[] = [];
      await preparedTransaction(db, (sql) =>
        insertRows(
          {
            ...sql,
            run: (text, params) => {
              statements.push(params.length / 3);
              return sql.run(text, params);
            },
          },
          'rows_test',
          ['id', 'name', 'note'],
          rows,
        ),
      );
      assert.deepEqual(statements, [100, 100, 50]);
      const stored = (await db('rows_test').orderBy('id')) as Array<{ id: number; name: string; note: string | null }>;
      assert.deepEqual(
        stored.map((r) => [r.id, r.name, r.note]),
        rows,
      );
    });

    it('says whether a statement is a round trip to a server', async () => {
      const roundTrips = await preparedTransaction(db, async (sql) => sql.roundTrips);
      assert.equal(roundTrips, target.name === 'MariaDB');
    });
  });
}
