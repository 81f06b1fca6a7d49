/** The audit log: who did what to which target, from where, with what outcome; append-only. */
import type { Knex } from 'knex';
import type { AuditEntry, AuditQuery, Page } from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';
import { afterCursor, encodeCursor } from '../db/pagination.js';
import { preparedTransaction, withPrepared, type SqlValue } from '../db/prepared.js';

const INSERT =
  'INSERT INTO `audit_log` (`at`, `actor`, `action`, `target_kind`, `target_id`, `outcome`, `source_ip`, `request_id`, `details`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

interface PendingRecord {
  values: SqlValue[];
  written: () => void;
  failed: (error: unknown) => void;
}

export class AuditLog {
  /** Records waiting for the next write: those of one turn of the event loop share a transaction. */
  private pending: PendingRecord[] = [];

  constructor(private readonly db: Knex) {}

  /**
   * Writes one record; resolves once it is committed. The records of calls answered in one turn of
   * the event loop are written together in one transaction (a group commit): on SQLite a commit of
   * its own cost a record about four times its insert (docs/benchmarks.md, fifteenth session).
   */
  record(entry: {
    actor: string;
    action: string;
    targetKind?: string | null;
    targetId?: string | null;
    outcome: string;
    sourceIp?: string | null;
    requestId?: string | null;
    details?: unknown;
  }): Promise<void> {
    const values = [
      nowIso(),
      entry.actor.slice(0, 128),
      entry.action.slice(0, 64),
      entry.targetKind ?? null,
      entry.targetId ?? null,
      entry.outcome,
      entry.sourceIp ?? null,
      entry.requestId ?? null,
      entry.details === undefined ? null : JSON.stringify(entry.details),
    ];
    return new Promise((written, failed) => {
      this.pending.push({ values, written, failed });
      if (this.pending.length === 1) setImmediate(() => void this.writePending());
    });
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      if (batch.length === 1) await this.writeAlone(batch[0]!.values);
      else
        await withDatabase(() =>
          preparedTransaction(this.db, async (sql) => {
            for (const record of batch) await sql.run(INSERT, record.values);
          }),
        );
      for (const record of batch) record.written();
    } catch (error) {
      if (batch.length === 1) return batch[0]!.failed(error);
      // Whatever failed the batch, each record is tried alone: one cannot lose the others.
      for (const record of batch) await this.writeAlone(record.values).then(() => record.written(), record.failed);
    }
  }

  private async writeAlone(values: SqlValue[]): Promise<void> {
    await withDatabase(() => withPrepared(this.db, (sql) => sql.run(INSERT, values)));
  }

  /** Audit records matching every given filter, newest first, one keyset page at a time. */
  async list(query: AuditQuery): Promise<Page<AuditEntry>> {
    const before = query.cursor === undefined ? null : Number(afterCursor(query.cursor));
    if (before !== null && !Number.isSafeInteger(before))
      throw new InputError('cursor is not one this API returned', [
        { field: 'querystring.cursor', message: 'is invalid' },
      ]);
    const select = this.db('audit_log')
      .orderBy('id', 'desc')
      .limit(query.limit + 1);
    if (before !== null) void select.where('id', '<', before);
    for (const [filter, column] of [
      ['actor', 'actor'],
      ['targetKind', 'target_kind'],
      ['targetId', 'target_id'],
      ['outcome', 'outcome'],
      ['sourceIp', 'source_ip'],
    ] as const) {
      const value = query[filter];
      if (value !== undefined) void select.where(column, value);
    }
    // A prefix as a range, which needs no LIKE escaping and works alike on MySQL and SQLite.
    if (query.action?.endsWith('*'))
      void select
        .where('action', '>=', query.action.slice(0, -1))
        .where('action', '<', `${query.action.slice(0, -1)}\uffff`);
    else if (query.action !== undefined) void select.where('action', query.action);
    if (query.since) void select.where('at', '>=', new Date(query.since).toISOString());
    if (query.until) void select.where('at', '<', new Date(query.until).toISOString());
    const rows = (await withDatabase(() => select)) as Array<Record<string, string | number | null>>;
    const page = rows.slice(0, query.limit).map((r) => ({
      id: Number(r['id']),
      at: String(r['at']),
      actor: String(r['actor']),
      action: String(r['action']),
      targetKind: r['target_kind'] as string | null,
      targetId: r['target_id'] as string | null,
      outcome: String(r['outcome']),
      sourceIp: r['source_ip'] as string | null,
      requestId: r['request_id'] as string | null,
      details: r['details'] ? (JSON.parse(String(r['details'])) as unknown) : null,
    }));
    return {
      items: page,
      nextCursor: rows.length > query.limit ? encodeCursor(String(page[page.length - 1]!.id)) : null,
    };
  }

  /** Deletes the records older than `days` days; answers how many. */
  async prune(days: number): Promise<number> {
    const before = new Date(Date.now() - days * 86_400_000).toISOString();
    return withDatabase(() => this.db('audit_log').where('at', '<', before).delete());
  }
}
