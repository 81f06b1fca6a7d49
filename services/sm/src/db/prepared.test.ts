/** Prepared transactions against real SQL: SQLite (better-sqlite3) and MariaDB (mysql2, started by npm test). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { ConflictError } from '@cx/errors';
import { preparedTransaction } from './prepared.js';
import { testDatabases } from './test-databases.js';

for (const target of testDatabases) {
  describe(`prepared transactions on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    const names = async (): Promise<string[]> =>
      ((await db('parts').orderBy('name').select('name')) as Array<{ name: string }>).map((row) => row.name);

    before(async () => {
      ({ db, drop } = await target.open());
      await db.schema.createTable('parts', (table) => table.string('name', 32).primary());
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('undoes a failed part alone: the writes before and after it commit, its own do not', async () => {
      const insert = 'INSERT INTO `parts` (`name`) VALUES (?)';
      const refused = await preparedTransaction(db, async (sql) => {
        await sql.undoable(() => sql.run(insert, ['first']));
        const failure = await sql
          .undoable(async () => {
            await sql.run(insert, ['undone-1']);
            await sql.run(insert, ['undone-2']);
            throw new ConflictError('refused after writing', 'CX_CONFLICT');
          })
          .catch((error: unknown) => error);
        await sql.undoable(() => sql.run(insert, ['last']));
        return failure;
      });
      assert.ok(refused instanceof ConflictError, 'the part’s error is thrown on to the caller');
      assert.deepEqual(await names(), ['first', 'last']);
    });

    it('rolls back every part when the transaction itself fails', async () => {
      await assert.rejects(
        preparedTransaction(db, async (sql) => {
          await sql.undoable(() => sql.run('INSERT INTO `parts` (`name`) VALUES (?)', ['kept-only-in-a-part']));
          throw new Error('the work failed');
        }),
        /the work failed/,
      );
      assert.deepEqual(await names(), ['first', 'last']);
    });
  });
}
