/**
 * A workflow run followed live over server-sent events (`GET /api/v1/workflows/{id}/events`): each
 * `workflow` event is the run as it is now; the stream ends once the run is Succeeded, Failed or
 * Cancelled, and this component closes it then (EventSource would otherwise reconnect).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Workflow } from '@cx/api-schemas';
import { api, ApiError } from './api.js';
import { StatusBadge } from './components.js';

const TERMINAL = new Set<Workflow['status']>(['Succeeded', 'Failed', 'Cancelled']);
const POLL_MS = 3000;

export function useWorkflow(id: string | null | undefined, onEnd?: (run: Workflow) => void): Workflow | undefined {
  const [run, setRun] = useState<Workflow | undefined>(undefined);
  useEffect(() => {
    if (!id) return;
    setRun(undefined);
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const source = new EventSource(api.workflowEventsHref(id));
    const seen = (next: Workflow): boolean => {
      if (!live) return true;
      setRun(next);
      if (!TERMINAL.has(next.status)) return false;
      source.close();
      onEnd?.(next);
      return true;
    };
    source.addEventListener('workflow', (event) => seen(JSON.parse((event as MessageEvent<string>).data) as Workflow));
    // The browser retries a dropped stream by itself; one it gave up on (an error answer) is
    // replaced by reading the run every few seconds.
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) return;
      const poll = (): void => {
        api.workflow(id).then(
          (next) => {
            if (!seen(next) && live) timer = setTimeout(poll, POLL_MS);
          },
          (error: unknown) => {
            // A run this person may not see (or no longer exists) is not retried.
            const gone = error instanceof ApiError && [403, 404].includes(error.problem.status);
            if (live && !gone) timer = setTimeout(poll, POLL_MS);
          },
        );
      };
      poll();
    });
    return () => {
      live = false;
      clearTimeout(timer);
      source.close();
    };
    // onEnd is read when the run ends; a new function each render must not reopen the stream.
  }, [id]);
  return run;
}

/** The run's steps with their state, and a progress bar (steps done of all). */
export function WorkflowProgress({ run }: { run: Workflow }) {
  const done = run.steps.filter((s) => s.status === 'Succeeded').length;
  const current = run.steps.find((s) => s.status === 'Running');
  return (
    <section class="workflow" aria-label={`Workflow ${run.workflow}`}>
      <h3>
        {run.workflow} <StatusBadge status={run.status} />
      </h3>
      <label class="progress">
        <span aria-live="polite">
          {done} of {run.steps.length} steps
          {current?.message ? ` — ${current.name}: ${current.message}` : current ? ` — ${current.name}` : ''}
        </span>
        <progress max={run.steps.length} value={done} />
      </label>
      <ol class="steps">
        {run.steps.map((step) => (
          <li key={step.name} class={`step ${step.status.toLowerCase()}`}>
            <span>{step.name}</span> <StatusBadge status={step.status} />
            {step.message ? <span class="muted small"> {step.message}</span> : null}
            {step.error ? <p class="error-text">{step.error.message}</p> : null}
          </li>
        ))}
      </ol>
      {run.error ? (
        <p class="error-text" role="alert">
          {run.error.code}: {run.error.message}
        </p>
      ) : null}
    </section>
  );
}
