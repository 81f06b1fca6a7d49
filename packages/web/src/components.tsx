/** The console's few shared pieces, on native elements (dialog, table, form controls) for accessibility. */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ClusterStatus, WorkflowStatus } from '@cx/api-schemas';
import type { FieldError } from '@cx/errors';
import { ApiError } from './api.js';

/** The API's problem detail, announced to screen readers. */
export function ProblemMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : undefined;
  const fields = problem?.['fields'] as FieldError[] | undefined;
  return (
    <div class="problem" role="alert">
      <strong>{problem ? problem.title : 'Something went wrong'}</strong>
      <p>{problem ? problem.detail : String((error as Error).message ?? error)}</p>
      {fields?.length ? (
        <ul>
          {fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
      {problem ? (
        <p class="muted small">
          {problem.code}
          {problem.requestId ? ` · request ${problem.requestId}` : ''}
        </p>
      ) : null}
    </div>
  );
}

const tone: Record<ClusterStatus | WorkflowStatus | 'Ready' | 'NotReady', string> = {
  Ready: 'ok',
  Succeeded: 'ok',
  Running: 'busy',
  Provisioning: 'busy',
  Updating: 'busy',
  Deleting: 'busy',
  Pending: 'busy',
  Failed: 'bad',
  NotReady: 'bad',
  Cancelled: 'muted',
};

/** A status in words, coloured by what it means; a status this console does not know yet is grey. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge ${tone[status as keyof typeof tone] ?? 'muted'}`}>{status}</span>;
}

/**
 * A confirmation in a modal `<dialog>`: focus moves into it and Escape cancels (the browser's own
 * behaviour); `confirmLabel` names the action, so the button says what it does.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  children?: ComponentChildren;
  onConfirm: () => Promise<unknown>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      dialog.current?.close();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.danger ? 'danger' : ''} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <form method="dialog" onSubmit={confirm}>
          <h2 id={titleId}>{props.title}</h2>
          {props.children}
          <ProblemMessage error={error} />
          <div class="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : props.confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Calls `load` now and every `everyMs` while the page is visible; answers the last result or error. */
export function usePolled<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const value = await load();
        if (live) {
          setData(value);
          setError(null);
        }
      } catch (e) {
        if (live) setError(e);
      }
      if (live) timer = setTimeout(() => void (document.hidden ? schedule() : run()), everyMs);
    };
    const schedule = (): void => {
      timer = setTimeout(() => void (document.hidden ? schedule() : run()), everyMs);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

/**
 * A table's box, scrolling sideways on narrow screens: focusable and named, so that the keyboard
 * can scroll it too (WCAG 2.1.1).
 */
export function TableBox({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/**
 * A list's table once it is read: its empty message when it holds nothing. `head` names the
 * columns; a false one (an action column the user may not use) is left out.
 */
export function DataTable<T>(props: {
  label: string;
  items: T[] | undefined;
  empty: string;
  head: Array<string | false>;
  row: (item: T) => ComponentChildren;
}) {
  if (!props.items) return null;
  if (props.items.length === 0) return <p class="empty">{props.empty}</p>;
  return (
    <TableBox label={props.label}>
      <table>
        <thead>
          <tr>
            {props.head
              .filter((h): h is string => h !== false)
              .map((h) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
          </tr>
        </thead>
        <tbody>{props.items.map(props.row)}</tbody>
      </table>
    </TableBox>
  );
}
