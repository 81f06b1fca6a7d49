/**
 * A cluster's past: its workflow runs (`GET /api/v1/workflows?cluster=`), and its events feed
 * (`GET /api/v1/clusters/{id}/events`, then followed live over server-sent events).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ClusterEvent } from '@cx/api-schemas';
import { api } from './api.js';
import { ProblemMessage, StatusBadge, TableBox, usePolled } from './components.js';
import { mergeEvents } from './events.js';

const RUNS_REFRESH_MS = 5000;
const when = (at: string | null): string => (at ? new Date(at).toLocaleString() : '—');

export function ClusterWorkflows({ id }: { id: string }) {
  const { data: runs, error } = usePolled(() => api.clusterWorkflows(id), RUNS_REFRESH_MS, [id]);
  return (
    <>
      <h2>Workflows</h2>
      <ProblemMessage error={error} />
      {runs && runs.length === 0 ? <p class="empty">No workflow has run on this cluster yet.</p> : null}
      {runs && runs.length > 0 ? (
        <TableBox label="Workflows table">
          <table>
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">By</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id}>
                  <th scope="row">{run.workflow}</th>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{when(run.startedAt ?? run.createdAt)}</td>
                  <td>{when(run.finishedAt)}</td>
                  <td>{run.createdBy}</td>
                  <td>{run.error ? `${run.error.code}: ${run.error.message}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : null}
    </>
  );
}

export function ClusterEvents({ id }: { id: string }) {
  const [events, setEvents] = useState<ClusterEvent[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    api.clusterEvents(id).then(
      (page) => live && setEvents((now) => mergeEvents(now ?? [], page)),
      (e: unknown) => live && setError(e),
    );
    const source = new EventSource(api.clusterEventsHref(id));
    source.addEventListener('cluster-event', (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as ClusterEvent;
      if (live) setEvents((now) => mergeEvents(now ?? [], [next]));
    });
    // The server's own `error` event (the cluster is gone), or a stream the browser gave up on:
    // nothing more will come, and the browser is not to retry.
    source.addEventListener('error', (event) => {
      if ((event as MessageEvent<string>).data !== undefined || source.readyState === EventSource.CLOSED)
        source.close();
    });
    return () => {
      live = false;
      source.close();
    };
  }, [id]);
  return (
    <>
      <h2>Events</h2>
      <ProblemMessage error={error} />
      {events && events.length === 0 ? <p class="empty">Nothing has happened to this cluster yet.</p> : null}
      {events && events.length > 0 ? (
        <ol class="events" aria-label="Cluster events, newest first" aria-live="polite">
          {events.map((e) => (
            <li key={e.id}>
              <span class="muted small">{when(e.at)}</span> {e.message}
              {e.reason ? <span class="muted small"> ({e.reason})</span> : null}
              {e.actor ? <span class="muted small"> by {e.actor}</span> : null}
            </li>
          ))}
        </ol>
      ) : null}
    </>
  );
}
