/**
 * The audit log, newest first, a page at a time (the API's cursors: Next follows one, Previous
 * goes back along those followed), filtered by who, what, on what, outcome and time.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry, Page } from '@cx/api-schemas';
import { auditQuery, NO_AUDIT_FILTERS, type AuditFilters } from '../../admin-forms.js';
import { api } from '../../api.js';
import { ProblemMessage, TableBox } from '../../components.js';
import { typed, when } from './shared.js';

const PAGE_SIZE = 50;

export function Audit() {
  const [draft, setDraft] = useState<AuditFilters>(NO_AUDIT_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_AUDIT_FILTERS);
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<Page<AuditEntry> | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const query = auditQuery(filters, PAGE_SIZE);
    if (typeof query === 'string') {
      setError(new Error(query));
      return;
    }
    let live = true;
    setError(null);
    api.audit({ ...query, ...(cursor ? { cursor } : {}) }).then(
      (p) => live && setPage(p),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [filters, cursor]);

  const set = (key: keyof AuditFilters) => (e: Event) => setDraft({ ...draft, [key]: typed(e) });
  const apply = (e: Event): void => {
    e.preventDefault();
    setCursors([]);
    setCursor(undefined);
    setFilters(draft);
  };
  const number = cursors.length + 1;
  return (
    <>
      <h1 tabIndex={-1}>Audit log</h1>
      <form class="filters" onSubmit={apply} aria-label="Audit filters">
        <label>
          Who
          <input value={draft.actor} onInput={set('actor')} />
        </label>
        <label>
          Action <span class="muted small">exact, or a prefix with *</span>
          <input value={draft.action} placeholder="auth.*" onInput={set('action')} />
        </label>
        <label>
          Target kind
          <input value={draft.targetKind} onInput={set('targetKind')} />
        </label>
        <label>
          Target id
          <input value={draft.targetId} onInput={set('targetId')} />
        </label>
        <label>
          Outcome
          <select value={draft.outcome} onChange={set('outcome')}>
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={draft.since} onInput={set('since')} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={draft.until} onInput={set('until')} />
        </label>
        <button type="submit" class="primary">
          Apply filters
        </button>
      </form>
      <ProblemMessage error={error} />
      {page === undefined && !error ? <p aria-live="polite">Loading…</p> : null}
      {page && page.items.length === 0 ? <p class="empty">No audit record matches these filters.</p> : null}
      {page && page.items.length > 0 ? (
        <TableBox label="Audit table">
          <table>
            <caption class="visually-hidden">Audit records, page {number}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.at)}</td>
                  <td>{entry.actor}</td>
                  <th scope="row">{entry.action}</th>
                  <td>{entry.targetKind ? `${entry.targetKind} ${entry.targetId ?? ''}` : '—'}</td>
                  <td>{entry.outcome}</td>
                  <td>{entry.sourceIp ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : null}
      <nav class="actions" aria-label="Audit pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => {
            setCursor(cursors[cursors.length - 1] || undefined);
            setCursors(cursors.slice(0, -1));
          }}
        >
          Previous page
        </button>
        <span class="muted" aria-live="polite">
          Page {number}
        </span>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => {
            setCursors([...cursors, cursor ?? '']);
            setCursor(page!.nextCursor!);
          }}
        >
          Next page
        </button>
      </nav>
    </>
  );
}
