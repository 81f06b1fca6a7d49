/** Prepared statements against real SQL: rows inserted in chunks, as both databases take them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { inList, insertRows, preparedTransaction } from './prepared.js';
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

    it('inserts 250 rows, each with its values in order: on MariaDB in statements of powers of two up to 64, on SQLite one by one', async () => {
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
      assert.deepEqual(statements, target.name === 'MariaDB' ? [64, 64, 64, 32, 16, 8, 2] : Array<number>(250).fill(1));
      const stored = (await db('rows_test').orderBy('id')) as Array<{ id: number; name: string; note: string | null }>;
      assert.deepEqual(
        stored.map((r) => [r.id, r.name, r.note]),
        rows,
      );
    });

    it('pads an IN list to a power of two with its last value, which selects the same rows', async () => {
      assert.deepEqual(inList(['a', 'b', 'c']), { sql: '(?, ?, ?, ?)', values: ['a', 'b', 'c', 'c'] });
      assert.deepEqual(inList([7]), { sql: '(?)', values: [7] });
      const named = inList([3, 5, 249, 17, 100]);
      const selected = await preparedTransaction(db, (sql) =>
        sql.all<{ id: number }>(
          `SELECT \`id\` FROM \`rows_test\` WHERE \`id\` IN ${named.sql} ORDER BY \`id\``,
          named.values,
        ),
      );
      assert.deepEqual(
        selected.map((r) => r.id),
        [3, 5, 17, 100, 249],
      );
    });

    it('says whether a statement is a round trip to a server', async () => {
      const roundTrips = await preparedTransaction(db, async (sql) => sql.roundTrips);
      assert.equal(roundTrips, target.name === 'MariaDB');
    });
  });
}
