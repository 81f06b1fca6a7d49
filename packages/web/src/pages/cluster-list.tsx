/** The clusters you may see, refreshed every few seconds, with a search over name, provider, version and status. */
import { useState } from 'preact/hooks';
import type { Cluster } from '@cx/api-schemas';
import type { Access } from '../access.js';
import { api } from '../api.js';
import { ProblemMessage, StatusBadge, TableBox, usePolled } from '../components.js';
import { Link } from '../router.js';

const REFRESH_MS = 3000;

export const workerCount = (cluster: Cluster): number => cluster.nodePools.reduce((n, pool) => n + pool.count, 0);

export function ClusterList({ access }: { access: Access }) {
  const { data: clusters, error } = usePolled(api.clusters, REFRESH_MS);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const q = query.trim().toLowerCase();
  const shown = (clusters ?? []).filter(
    (c) =>
      (!status || c.status === status) &&
      (!q || [c.name, c.provider, c.kubernetesVersion, c.status].some((v) => v.toLowerCase().includes(q))),
  );
  const statuses = [...new Set((clusters ?? []).map((c) => c.status))].sort();
  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Clusters</h1>
        {access.mayCreate ? (
          <Link href="/clusters/new" class="button primary">
            New cluster
          </Link>
        ) : null}
      </div>
      <div class="filters">
        <label class="search">
          Search
          <input
            type="search"
            value={query}
            placeholder="name, provider, version or status"
            onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">Any</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ProblemMessage error={error} />
      {clusters === undefined && !error ? <p aria-live="polite">Loading…</p> : null}
      {clusters && clusters.length === 0 ? (
        <p class="empty">
          {access.mayCreate
            ? 'There are no clusters yet.'
            : 'You see no clusters: none has been shared with you. Ask an administrator for a grant.'}
        </p>
      ) : null}
      {shown.length > 0 ? (
        <TableBox label="Clusters table">
          <table>
            <caption class="visually-hidden">
              {shown.length} of {clusters?.length} clusters
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Provider</th>
                <th scope="col">Version</th>
                <th scope="col">Control plane</th>
                <th scope="col">Workers</th>
                <th scope="col">Health</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    <Link href={`/clusters/${encodeURIComponent(c.id)}`}>{c.name}</Link>
                  </th>
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  <td>{c.provider}</td>
                  <td>{c.kubernetesVersion}</td>
                  <td>{c.controlPlane.count}</td>
                  <td>
                    {workerCount(c)}
                    <span class="muted small">
                      {' '}
                      in {c.nodePools.length} pool{c.nodePools.length === 1 ? '' : 's'}
                    </span>
                  </td>
                  <td>
                    {c.healthStatus ? (
                      <>
                        {c.healthStatus.state}
                        {c.healthStatus.unhealthy.length > 0 ? (
                          <span class="muted small"> {c.healthStatus.unhealthy.length} unhealthy</span>
                        ) : null}
                      </>
                    ) : (
                      <span class="muted">not checked yet</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : clusters && clusters.length > 0 ? (
        <p class="empty">No cluster matches these filters.</p>
      ) : null}
    </>
  );
}
