/**
 * A cluster's operations beyond its pools and nodes: OS upgrade and rollback, certificate and CA
 * rotation, addons, ha-configs and etcd snapshots, and how to reach the cluster (the `cx
 * kubeconfig` command, the Kubernetes Dashboard). Each is shown only where the provider can do it
 * (`GET /api/v1/providers` capabilities) and your role allows it (cluster-options.ts); each is
 * confirmed in a dialog, and the run it starts is followed live on the page.
 */
import { useState } from 'preact/hooks';
import type { Cluster, ClusterAccepted } from '@cx/api-schemas';
import { api } from './api.js';
import { rollbackCandidate, type ClusterActions } from './cluster-options.js';
import { ConfirmButton, DataTable, ProblemMessage, StatusBadge, usePolled } from './components.js';
import { parseLabels } from './scheduling.js';

type Started = (accepted: ClusterAccepted) => void;
const REFRESH_MS = 4000;
const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

/** OS upgrade, its rollback, and the rotations: buttons for the page's action row. */
export function OperationButtons(props: { cluster: Cluster; can: ClusterActions; onStarted: Started }) {
  const { cluster, can, onStarted } = props;
  const [image, setImage] = useState('');
  const [surge, setSurge] = useState('1');
  const { data: runs } = usePolled(
    () => (can.osRollback ? api.clusterWorkflows(cluster.id) : Promise.resolve([])),
    REFRESH_MS,
    [cluster.id, can.osRollback],
  );
  const rollback = runs ? rollbackCandidate(runs) : undefined;
  return (
    <>
      {can.osUpgrade ? (
        <ConfirmButton
          label="Upgrade the OS"
          title={`Move the workers of ${cluster.name} onto a new OS image`}
          confirmLabel="Upgrade the OS"
          onConfirm={async () => {
            if (!image.trim()) throw new Error('Name the image the new machines boot from.');
            onStarted(await api.osUpgrade(cluster.id, { image: image.trim(), maxSurge: Number(surge) }));
          }}
        >
          <div class="stack">
            <label>
              Image <span class="muted small">now: {cluster.osImage ?? "the credential's default"}</span>
              <input value={image} required onInput={(e) => setImage(value(e))} />
            </label>
            <label>
              New machines ahead of the old ones (max surge)
              <input type="number" min={1} value={surge} required onInput={(e) => setSurge(value(e))} />
            </label>
            <p class="muted small">
              Each worker is replaced by a machine booted from the image (Ready first), then cordoned, drained and
              deleted. Control-plane machines stay.
            </p>
          </div>
        </ConfirmButton>
      ) : null}
      {rollback && cluster.status !== 'Deleting' ? (
        <ConfirmButton
          label="Roll back the OS upgrade"
          title={`Roll back the last OS upgrade of ${cluster.name}?`}
          confirmLabel="Roll back"
          onConfirm={async () => onStarted(await api.rollbackOsUpgrade(rollback))}
        >
          <p>
            Workers not yet replaced keep their machine, the new ones go, and new machines boot the image the cluster
            had before.
          </p>
        </ConfirmButton>
      ) : null}
      {can.rotateCertificates ? (
        <ConfirmButton
          label="Rotate certificates"
          title={`Rotate the certificates of ${cluster.name}?`}
          confirmLabel="Rotate certificates"
          onConfirm={async () => onStarted(await api.rotateCertificates(cluster.id))}
        >
          <p>
            The control plane's serving and client certificates are issued again under the same CAs: kubeconfigs keep
            working.
          </p>
        </ConfirmButton>
      ) : null}
      {can.rotateCa ? (
        <ConfirmButton
          label="Rotate the CA"
          title={`Rotate the CA of ${cluster.name}?`}
          confirmLabel="Rotate the CA"
          danger
          onConfirm={async () => onStarted(await api.rotateCa(cluster.id))}
        >
          <p>
            A new cluster CA, in two phases (both trusted, then only the new one). Kubeconfigs signed by the old CA stop
            working at the end: download yours again afterwards.
          </p>
        </ConfirmButton>
      ) : null}
    </>
  );
}

/**
 * How to reach the cluster: the `cx kubeconfig` command, and the Kubernetes Dashboard once its
 * addon is installed (`dashboard`: the cluster may have addons at all).
 */
export function ClusterAccess(props: { cluster: Cluster; dashboard: boolean }) {
  const { cluster } = props;
  const command = `cx kubeconfig ${cluster.name} --merge`;
  const [copied, setCopied] = useState(false);
  const [link, setLink] = useState<{ url: string; token: string; expiresAt: string } | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const { data: addons } = usePolled(
    () => (props.dashboard && cluster.apiEndpoint ? api.clusterAddons(cluster.id) : Promise.resolve([])),
    REFRESH_MS,
    [cluster.id, props.dashboard, cluster.apiEndpoint],
  );
  const dashboard = addons?.some((a) => a.name === 'dashboard' && a.status === 'Installed');
  if (!cluster.apiEndpoint) return null;
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      <p>
        With the cx CLI: <code data-testid="kubeconfig-command">{command}</code>{' '}
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard?.writeText(command).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          Copy the command
        </button>{' '}
        <span aria-live="polite" class="muted small">
          {copied ? 'Copied.' : ''}
        </span>
      </p>
      {dashboard ? (
        <div class="stack">
          <button
            type="button"
            onClick={() => {
              setError(null);
              api.dashboard(cluster.id).then(setLink, setError);
            }}
          >
            Kubernetes Dashboard: get a link and a token
          </button>
          <ProblemMessage error={error} />
          {link ? (
            <p>
              <a href={link.url} target="_blank" rel="noopener noreferrer">
                Open the Kubernetes Dashboard
              </a>{' '}
              and sign in with this token (your role; until {new Date(link.expiresAt).toLocaleString()}):{' '}
              <code class="token">{link.token}</code>
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

/** The cluster's addons; an operator installs one from the catalog (its settings as JSON) or removes one. */
export function AddonsSection(props: { cluster: Cluster; can: ClusterActions; onStarted: Started }) {
  const { cluster, can } = props;
  const { data: addons, error } = usePolled(() => api.clusterAddons(cluster.id), REFRESH_MS, [cluster.id]);
  const { data: catalog } = usePolled(() => api.addonCatalog(), 60_000, []);
  const [name, setName] = useState('');
  const [settings, setSettings] = useState('');
  const available = (catalog ?? []).filter((a) => !addons?.some((i) => i.name === a.name));
  const chosen = name || available[0]?.name || '';
  return (
    <section aria-labelledby="addons-title">
      <h2 id="addons-title">Addons</h2>
      <ProblemMessage error={error} />
      <DataTable
        label="Addons table"
        items={addons}
        empty="No addon installed."
        head={['Addon', 'Version', 'Status', 'Settings', can.manageAddons && 'Actions']}
        row={(addon) => (
          <tr key={addon.name}>
            <th scope="row">{addon.name}</th>
            <td>{addon.version}</td>
            <td>
              <StatusBadge status={addon.status === 'Installed' ? 'Ready' : addon.status} />
              {addon.message ? <span class="error-text small"> {addon.message}</span> : null}
            </td>
            <td>
              <code class="small">{JSON.stringify(addon.settings)}</code>
            </td>
            {can.manageAddons ? (
              <td>
                <ConfirmButton
                  label={`Remove ${addon.name}`}
                  title={`Remove addon ${addon.name} from ${cluster.name}?`}
                  confirmLabel="Remove addon"
                  danger
                  onConfirm={async () => props.onStarted(await api.removeAddon(cluster.id, addon.name))}
                >
                  <p>Every object of the addon is deleted from the cluster.</p>
                </ConfirmButton>
              </td>
            ) : null}
          </tr>
        )}
      />
      {can.manageAddons && cluster.status === 'Ready' && available.length > 0 ? (
        <div class="actions">
          <ConfirmButton
            label="Install an addon"
            title={`Install an addon on ${cluster.name}`}
            confirmLabel="Install"
            onConfirm={async () => {
              let parsed: Record<string, unknown> | undefined;
              if (settings.trim()) {
                try {
                  parsed = JSON.parse(settings) as Record<string, unknown>;
                } catch {
                  throw new Error('Settings: not JSON. Write an object, such as {"replicas": 2}, or leave it empty.');
                }
              }
              props.onStarted(await api.installAddon(cluster.id, chosen, parsed));
            }}
          >
            <div class="stack">
              <label>
                Addon
                <select value={chosen} onChange={(e) => setName((e.currentTarget as HTMLSelectElement).value)}>
                  {available.map((a) => (
                    <option key={a.name} value={a.name}>
                      {a.name} {a.version} — {a.description}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Settings <span class="muted small">JSON object; empty: the defaults</span>
                <textarea rows={3} value={settings} onInput={(e) => setSettings(value(e))} />
              </label>
            </div>
          </ConfirmButton>
        </div>
      ) : null}
    </section>
  );
}

/** VIPs floated over nodes with keepalived (docs/high-availability.md): list, create, delete. */
export function HaConfigsSection(props: { cluster: Cluster; can: ClusterActions; onStarted: Started }) {
  const { cluster, can } = props;
  const { data: configs, error } = usePolled(() => api.haConfigs(cluster.id), REFRESH_MS, [cluster.id]);
  const [name, setName] = useState('');
  const [vips, setVips] = useState('');
  const [selector, setSelector] = useState('');
  const [watchPort, setWatchPort] = useState('80');
  const [iface, setIface] = useState('eth0');
  const [profile, setProfile] = useState<'default' | 'fast'>('default');
  return (
    <section aria-labelledby="ha-title">
      <h2 id="ha-title">HA configs</h2>
      <ProblemMessage error={error} />
      <DataTable
        label="HA configs table"
        items={configs}
        empty="No ha-config."
        head={['Name', 'Virtual IPs', 'Nodes (selector)', 'Applied to', 'Sync', can.manageHaConfigs && 'Actions']}
        row={(c) => (
          <tr key={c.id}>
            <th scope="row">{c.name}</th>
            <td>{c.virtualIps}</td>
            <td>
              {Object.entries(c.selector)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || 'every node'}
            </td>
            <td>{c.status.applied?.nodes.map((n) => n.name).join(', ') || '—'}</td>
            <td>{c.status.sync ? `${c.status.sync.state}: ${c.status.sync.message}` : '—'}</td>
            {can.manageHaConfigs ? (
              <td>
                <ConfirmButton
                  label={`Delete ha-config ${c.name}`}
                  title={`Delete ha-config ${c.name}?`}
                  confirmLabel="Delete ha-config"
                  danger
                  onConfirm={async () => props.onStarted(await api.deleteHaConfig(c.id))}
                >
                  <p>keepalived is removed from its nodes: the VIPs {c.virtualIps} stop answering.</p>
                </ConfirmButton>
              </td>
            ) : null}
          </tr>
        )}
      />
      {can.manageHaConfigs && cluster.status === 'Ready' ? (
        <div class="actions">
          <ConfirmButton
            label="Create an ha-config"
            title={`Float VIPs over nodes of ${cluster.name}`}
            confirmLabel="Create ha-config"
            onConfirm={async () => {
              const labels = parseLabels(selector);
              if (typeof labels === 'string') throw new Error(`Node selector: ${labels}`);
              props.onStarted(
                await api.createHaConfig({
                  clusterId: cluster.id,
                  name,
                  virtualIps: vips,
                  selector: labels,
                  watchPort: Number(watchPort),
                  interface: iface,
                  profile,
                }),
              );
            }}
          >
            <div class="stack">
              <label>
                Name
                <input value={name} required onInput={(e) => setName(value(e))} />
              </label>
              <label>
                Virtual IPs <span class="muted small">ranges, such as 10.1.1.5-8,42.42.42.42</span>
                <input value={vips} required onInput={(e) => setVips(value(e))} />
              </label>
              <label>
                Node selector <span class="muted small">key=value, comma-separated; empty: every node</span>
                <input value={selector} onInput={(e) => setSelector(value(e))} />
              </label>
              <label>
                Port that must answer on a node <span class="muted small">0: no check</span>
                <input type="number" min={0} max={65535} value={watchPort} onInput={(e) => setWatchPort(value(e))} />
              </label>
              <label>
                Network interface
                <input value={iface} onInput={(e) => setIface(value(e))} />
              </label>
              <label>
                Failover
                <select
                  value={profile}
                  onChange={(e) => setProfile((e.currentTarget as HTMLSelectElement).value as 'default' | 'fast')}
                >
                  <option value="default">default (a VIP moves in about 3 s)</option>
                  <option value="fast">fast (about 0.3 s)</option>
                </select>
              </label>
            </div>
          </ConfirmButton>
        </div>
      ) : null}
    </section>
  );
}

/** etcd snapshots: list, take one (operator), restore one (admin). */
export function EtcdSnapshotsSection(props: { cluster: Cluster; can: ClusterActions; onStarted: Started }) {
  const { cluster, can } = props;
  const { data: snapshots, error } = usePolled(() => api.etcdSnapshots(cluster.id), REFRESH_MS, [cluster.id]);
  return (
    <section aria-labelledby="etcd-title">
      <h2 id="etcd-title">etcd snapshots</h2>
      <ProblemMessage error={error} />
      <DataTable
        label="etcd snapshots table"
        items={snapshots && [...snapshots].reverse()}
        empty="No snapshot yet."
        head={['Taken', 'Revision', 'Size', 'SHA-256', can.restoreSnapshot && 'Actions']}
        row={(s) => (
          <tr key={s.id}>
            <th scope="row">{new Date(s.createdAt).toLocaleString()}</th>
            <td>{s.revision}</td>
            <td>{(s.sizeBytes / 1024).toFixed(1)} KiB</td>
            <td>
              <code class="small">{s.sha256.slice(0, 12)}…</code>
            </td>
            {can.restoreSnapshot ? (
              <td>
                <ConfirmButton
                  label={`Restore snapshot of ${new Date(s.createdAt).toLocaleString()}`}
                  title={`Restore ${cluster.name}'s etcd from this snapshot?`}
                  confirmLabel="Restore"
                  danger
                  onConfirm={async () => props.onStarted(await api.restoreEtcdSnapshot(cluster.id, s.id))}
                >
                  <p>The cluster's state goes back to revision {s.revision}: whatever was written since is lost.</p>
                </ConfirmButton>
              </td>
            ) : null}
          </tr>
        )}
      />
      {can.takeSnapshot ? (
        <div class="actions">
          <ConfirmButton
            label="Take a snapshot"
            title={`Take a snapshot of ${cluster.name}'s etcd?`}
            confirmLabel="Take snapshot"
            onConfirm={async () => props.onStarted(await api.takeEtcdSnapshot(cluster.id))}
          >
            <p>The snapshot is kept by cx, with its checksum, checked again before any restore.</p>
          </ConfirmButton>
        </div>
      ) : null}
    </section>
  );
}
