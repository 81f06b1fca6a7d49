/** The audit log against real SQL: records, filters, and retention. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { testDatabases } from '../db/test-databases.js';
import { AuditLog } from './audit-log.js';

for (const target of testDatabases) {
  describe(`audit log on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let log: AuditLog;

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      log = new AuditLog(db);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('deletes the records older than the retention, and only those', async () => {
      await log.record({ actor: 'ann', action: 'POST /api/v1/clusters', outcome: 'success', details: { status: 202 } });
      await db('audit_log').insert({
        at: new Date(Date.now() - 400 * 86_400_000).toISOString(),
        actor: 'old',
        action: 'POST /api/v1/clusters',
        outcome: 'success',
      });
      assert.equal(await log.prune(365), 1);
      const left = await log.list({ limit: 50 } as Parameters<AuditLog['list']>[0]);
      assert.deepEqual(
        left.items.map((entry) => entry.actor),
        ['ann'],
      );
      assert.equal(await log.prune(365), 0, 'nothing more to delete');
    });

    it('writes every record of a burst (one transaction per turn), and a record that fails loses no other', async () => {
      const actors = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
      await Promise.all(
        actors.map((actor) => log.record({ actor, action: 'DELETE /api/v1/clusters/{id}', outcome: 'success' })),
      );
      const written = await db('audit_log').whereIn('actor', actors).select('actor');
      assert.deepEqual(written.map((r) => r.actor).sort(), [...actors].sort());
      // An outcome the column cannot hold (NOT NULL) fails that record alone, in the same turn as two good ones.
      const results = await Promise.allSettled([
        log.record({ actor: 'good-1', action: 'POST /api/v1/users', outcome: 'success' }),
        log.record({ actor: 'bad', action: 'POST /api/v1/users', outcome: null as unknown as string }),
        log.record({ actor: 'good-2', action: 'POST /api/v1/users', outcome: 'success' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const kept = await db('audit_log').whereIn('actor', ['good-1', 'bad', 'good-2']).select('actor');
      assert.deepEqual(kept.map((r) => r.actor).sort(), ['good-1', 'good-2']);
    });
  });
}
