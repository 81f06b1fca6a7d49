/**
 * A cluster: its state, pools (scale), nodes, the workflow running on it followed live, its past
 * workflows and events, and the actions your role allows (scale, node actions, delete, each
 * confirmed), plus your kubeconfig.
 */
import { useEffect, useState } from 'preact/hooks';
import { formatLabels, formatTaints, parseLabels, parseTaints } from '../scheduling.js';
import { upgradeTargets } from '../versions.js';
import type { Cluster, Node, ProviderInfo, Workflow } from '@cx/api-schemas';
import { ClusterEvents, ClusterWorkflows } from '../cluster-history.js';
import { clusterActions } from '../cluster-options.js';
import {
  AddonsSection,
  ClusterAccess,
  EtcdSnapshotsSection,
  HaConfigsSection,
  OperationButtons,
} from '../cluster-operations.js';
import { mayOperate, type Access } from '../access.js';
import { api, ApiError } from '../api.js';
import { ConfirmButton, DataTable, ProblemMessage, StatusBadge, usePolled } from '../components.js';
import { Link, navigate } from '../router.js';
import { useWorkflow, WorkflowProgress } from '../workflow-progress.js';

const REFRESH_MS = 3000;

export function ClusterPage({ id, access }: { id: string; access: Access }) {
  const { data: cluster, error, reload } = usePolled(() => api.cluster(id), REFRESH_MS, [id]);
  const { data: nodes, error: nodesError } = usePolled(() => api.nodes(id), REFRESH_MS, [id]);
  // The run last started here, followed until it ends; the cluster's active run otherwise.
  const [started, setStarted] = useState<string | null>(null);
  const runId = cluster?.activeWorkflowId ?? started;
  const run = useWorkflow(runId, (ended) => {
    // A deleted cluster has no page left: back to the list, which no longer shows it.
    if (ended.workflow === 'cluster.delete' && ended.status === 'Succeeded') navigate('/clusters', { replace: true });
    else reload();
  });

  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  const [target, setTarget] = useState('');
  useEffect(() => {
    // Only to offer upgrade targets: without them the action is simply not shown.
    api.providers().then(setProviders, () => setProviders([]));
  }, []);

  if (error instanceof ApiError && error.problem.status === 404)
    return (
      <>
        <h1 tabIndex={-1}>Cluster not found</h1>
        <ProblemMessage error={error} />
        <Link href="/clusters">Back to the clusters</Link>
      </>
    );
  if (!cluster)
    return (
      <>
        <h1 tabIndex={-1}>Cluster</h1>
        <ProblemMessage error={error} />
        {!error ? <p aria-live="polite">Loading…</p> : null}
      </>
    );

  const role = access.roleOn(cluster);
  const operator = mayOperate(role);
  const can = clusterActions(
    cluster,
    providers.find((p) => p.name === cluster.provider),
    role,
  );
  const busy = cluster.activeWorkflowId !== null;
  const upgrades = upgradeTargets(cluster, providers);
  const follow = (accepted: { workflow: { id: string } }): void => {
    setStarted(accepted.workflow.id);
    reload();
  };

  return (
    <>
      <p class="crumbs">
        <Link href="/clusters">Clusters</Link> /
      </p>
      <div class="title-row">
        <h1 tabIndex={-1}>{cluster.name}</h1>
        <StatusBadge status={cluster.status} />
      </div>
      <ProblemMessage error={error} />
      {cluster.statusMessage ? <p class="muted">{cluster.statusMessage}</p> : null}
      <dl class="facts">
        <dt>Provider</dt>
        <dd>{cluster.provider}</dd>
        <dt>Kubernetes</dt>
        <dd>{cluster.kubernetesVersion}</dd>
        <dt>Nodes ready</dt>
        <dd data-testid="nodes-ready">
          {nodes ? nodes.filter((n) => n.status === 'Ready').length : '…'} of{' '}
          {cluster.controlPlane.count + cluster.nodePools.reduce((n, pool) => n + pool.count, 0)}
        </dd>
        {cluster.template ? (
          <>
            <dt>Template</dt>
            <dd>
              {cluster.template.name} (version {cluster.template.version})
            </dd>
          </>
        ) : null}
        <dt>Health</dt>
        <dd data-testid="health">
          {cluster.healthStatus ? `${cluster.healthStatus.state}: ${cluster.healthStatus.message}` : 'not checked yet'}
          <span class="muted small">
            {' '}
            (remediation {cluster.health.remediation}, after {cluster.health.unhealthyTimeoutSeconds} s NotReady; at
            most {String(cluster.health.maxUnhealthy)} unhealthy)
          </span>
        </dd>
        {cluster.osImage ? (
          <>
            <dt>OS image</dt>
            <dd>{cluster.osImage}</dd>
          </>
        ) : null}
        <dt>API endpoint</dt>
        <dd>{cluster.apiEndpoint ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{new Date(cluster.createdAt).toLocaleString()}</dd>
      </dl>

      <div class="actions">
        {cluster.apiEndpoint ? (
          <a class="button" href={api.kubeconfigHref(cluster.id)} download={`${cluster.name}.kubeconfig.yaml`}>
            Download kubeconfig
          </a>
        ) : null}
        {operator && cluster.status === 'Ready' && upgrades.length > 0 ? (
          <ConfirmButton
            label="Upgrade Kubernetes"
            title={`Upgrade ${cluster.name} from Kubernetes ${cluster.kubernetesVersion}`}
            confirmLabel="Upgrade"
            onConfirm={async () => follow(await api.upgradeCluster(cluster.id, target || upgrades[0]!))}
          >
            <label>
              Version
              <select
                value={target || upgrades[0]}
                onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)}
              >
                {upgrades.map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
            <p class="muted small">
              Machines are replaced one at a time (control plane first); workloads move off each node before it goes.
            </p>
          </ConfirmButton>
        ) : null}
        <OperationButtons cluster={cluster} can={can} onStarted={follow} />
        {operator && cluster.status !== 'Deleting' ? (
          <ConfirmButton
            label="Delete cluster"
            title={`Delete cluster ${cluster.name}?`}
            confirmLabel="Delete"
            danger
            onConfirm={async () => {
              follow(await api.deleteCluster(cluster.id));
            }}
          >
            <p>
              Every machine of <strong>{cluster.name}</strong> is deleted, with its workloads and data. This cannot be
              undone.
            </p>
          </ConfirmButton>
        ) : null}
      </div>

      {run ? <WorkflowProgress run={run} /> : null}

      <h2>Pools</h2>
      <DataTable
        label="Pools table"
        items={[
          {
            name: 'control-plane',
            count: cluster.controlPlane.count,
            size: cluster.controlPlane,
            labels: '',
            taints: '',
          },
          ...cluster.nodePools.map((pool) => ({
            name: pool.name,
            count: pool.count,
            size: pool,
            labels: formatLabels(pool.labels),
            taints: formatTaints(pool.taints),
          })),
        ]}
        // Never shown: the control plane is always a row.
        empty=""
        head={['Pool', 'Machines', 'Size', 'Labels and taints', operator && 'Actions']}
        row={(pool) => (
          <PoolRow key={pool.name} cluster={cluster} {...pool} operator={operator} busy={busy} onStarted={follow} />
        )}
      />

      {operator && cluster.status === 'Ready' ? (
        <div class="actions">
          <AddPool cluster={cluster} onStarted={follow} />
        </div>
      ) : null}

      <h2>Nodes</h2>
      <ProblemMessage error={nodesError} />
      <DataTable
        label="Nodes table"
        items={nodes}
        empty="No nodes yet."
        head={['Node', 'Status', 'Role', 'Pool', 'Machine', 'Addresses', operator && 'Actions']}
        row={(node) => (
          <tr key={node.name}>
            <th scope="row">{node.name}</th>
            <td>
              <StatusBadge status={node.status} />
            </td>
            <td>{node.role}</td>
            <td>{node.pool}</td>
            <td>
              {node.machine.phase}
              {node.machine.condition ? <span class="error-text small"> {node.machine.condition.message}</span> : null}
            </td>
            <td>{node.machine.addresses.join(', ') || '—'}</td>
            {operator ? (
              <td>
                <NodeActions cluster={cluster} node={node} onStarted={follow} />
              </td>
            ) : null}
          </tr>
        )}
      />

      <ClusterAccess cluster={cluster} dashboard={can.addons} />
      {can.addons ? <AddonsSection cluster={cluster} can={can} onStarted={follow} /> : null}
      {can.haConfigs ? <HaConfigsSection cluster={cluster} can={can} onStarted={follow} /> : null}
      {can.etcdSnapshots ? <EtcdSnapshotsSection cluster={cluster} can={can} onStarted={follow} /> : null}
      <ClusterWorkflows id={cluster.id} />
      <ClusterEvents id={cluster.id} />
    </>
  );
}

/**
 * Cordon, uncordon and drain (where the cluster has a Kubernetes API to do them on), and delete
 * (the node's pool shrinks by one, and this machine is the one that goes); each confirmed.
 */
function NodeActions(props: {
  cluster: Cluster;
  node: Node;
  onStarted: (accepted: { workflow: Pick<Workflow, 'id'> }) => void;
}) {
  const { cluster, node } = props;
  const act = (action: 'cordon' | 'uncordon' | 'drain') => async () =>
    props.onStarted(await api.nodeAction(cluster.id, node.name, action));
  return (
    <div class="row-actions">
      {cluster.apiEndpoint && !node.unschedulable ? (
        <ConfirmButton
          label={`Cordon ${node.name}`}
          title={`Cordon node ${node.name}?`}
          confirmLabel="Cordon"
          onConfirm={act('cordon')}
        >
          <p>No new pod is scheduled on it; the pods on it stay.</p>
        </ConfirmButton>
      ) : null}
      {cluster.apiEndpoint && node.unschedulable ? (
        <ConfirmButton
          label={`Uncordon ${node.name}`}
          title={`Uncordon node ${node.name}?`}
          confirmLabel="Uncordon"
          onConfirm={act('uncordon')}
        >
          <p>It takes new pods again.</p>
        </ConfirmButton>
      ) : null}
      {cluster.apiEndpoint ? (
        <ConfirmButton
          label={`Drain ${node.name}`}
          title={`Drain node ${node.name}?`}
          confirmLabel="Drain"
          danger
          onConfirm={act('drain')}
        >
          <p>
            It is cordoned, then its pods are evicted (PodDisruptionBudgets are honoured; DaemonSet and static pods
            stay). It stays cordoned.
          </p>
        </ConfirmButton>
      ) : null}
      <ConfirmButton
        label={`Delete ${node.name}`}
        title={`Delete node ${node.name}?`}
        confirmLabel="Delete node"
        danger
        onConfirm={async () => props.onStarted(await api.deleteNode(cluster.id, node.name))}
      >
        <p>Pool {node.pool} shrinks by one, and this machine is the one that goes: cordoned, drained, then deleted.</p>
      </ConfirmButton>
    </div>
  );
}

function PoolRow(props: {
  cluster: Cluster;
  name: string;
  count: number;
  size: { vcpus?: number; memoryMiB?: number };
  /** As typed in the forms: `key=value, …` and `key[=value]:Effect, …`. */
  labels: string;
  taints: string;
  operator: boolean;
  busy: boolean;
  onStarted: (accepted: { workflow: Pick<Workflow, 'id'> }) => void;
}) {
  const controlPlane = props.name === 'control-plane';
  const [count, setCount] = useState(props.count);
  const size = [
    props.size.vcpus ? `${props.size.vcpus} vCPU` : '',
    props.size.memoryMiB ? `${props.size.memoryMiB} MiB` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <tr>
      <th scope="row">{props.name}</th>
      <td>{props.count}</td>
      <td>{size || 'provider default'}</td>
      <td>{[props.labels, props.taints].filter(Boolean).join(', ') || '—'}</td>
      {props.operator ? (
        <td>
          <div class="row-actions">
            <ConfirmButton
              label={`Scale ${props.name}`}
              title={`Scale pool ${props.name} of ${props.cluster.name}`}
              confirmLabel="Scale"
              onConfirm={async () => props.onStarted(await api.scalePool(props.cluster.id, props.name, count))}
            >
              <label>
                Machines (now {props.count})
                <input
                  type="number"
                  min={controlPlane ? 1 : 0}
                  max={controlPlane ? 7 : 500}
                  step={controlPlane ? 2 : 1}
                  value={count}
                  required
                  onInput={(e) => setCount(Number((e.currentTarget as HTMLInputElement).value))}
                />
              </label>
              {props.busy ? (
                <p class="muted small">A workflow is running on this cluster; cx refuses another until it ends.</p>
              ) : null}
            </ConfirmButton>
            {!controlPlane && props.cluster.apiEndpoint && props.cluster.status === 'Ready' ? (
              // Keyed by what it edits: the form starts from the pool as it now is.
              <Relabel key={`${props.labels}|${props.taints}`} {...props} />
            ) : null}
            {controlPlane ? null : (
              <ConfirmButton
                label={`Delete pool ${props.name}`}
                title={`Delete pool ${props.name} of ${props.cluster.name}?`}
                confirmLabel="Delete pool"
                danger
                onConfirm={async () => props.onStarted(await api.deletePool(props.cluster.id, props.name))}
              >
                <p>
                  Each of its {props.count} nodes is cordoned, drained and deleted; then the pool leaves the cluster.
                </p>
              </ConfirmButton>
            )}
          </div>
        </td>
      ) : null}
    </tr>
  );
}

/**
 * A worker pool's labels and taints, replaced on every node of it (what it no longer has comes off;
 * labels and taints set elsewhere stay): only where the cluster has a Kubernetes API to put them on.
 */
function Relabel(props: {
  cluster: Cluster;
  name: string;
  labels: string;
  taints: string;
  onStarted: (accepted: { workflow: Pick<Workflow, 'id'> }) => void;
}) {
  const [labels, setLabels] = useState(props.labels);
  const [taints, setTaints] = useState(props.taints);
  const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;
  return (
    <ConfirmButton
      label={`Relabel ${props.name}`}
      title={`Labels and taints of pool ${props.name}`}
      confirmLabel="Apply to its nodes"
      onConfirm={async () => {
        const parsedLabels = parseLabels(labels);
        const parsedTaints = parseTaints(taints);
        if (typeof parsedLabels === 'string') throw new Error(`Labels: ${parsedLabels}`);
        if (typeof parsedTaints === 'string') throw new Error(`Taints: ${parsedTaints}`);
        props.onStarted(
          await api.updatePoolScheduling(props.cluster.id, props.name, { labels: parsedLabels, taints: parsedTaints }),
        );
      }}
    >
      <div class="stack">
        <label>
          Labels <span class="muted small">key=value, comma-separated</span>
          <input value={labels} onInput={(e) => setLabels(value(e))} />
        </label>
        <label>
          Taints <span class="muted small">key=value:NoSchedule, comma-separated</span>
          <input value={taints} onInput={(e) => setTaints(value(e))} />
        </label>
        <p class="muted small">
          They replace the pool's on each of its nodes and on the nodes it gets later; labels and taints set elsewhere
          stay.
        </p>
      </div>
    </ConfirmButton>
  );
}

/** Adds a worker pool: name, machines, labels and taints; wfm checks the rest and says what is wrong. */
function AddPool(props: { cluster: Cluster; onStarted: (accepted: { workflow: Pick<Workflow, 'id'> }) => void }) {
  const [name, setName] = useState('');
  const [count, setCount] = useState('1');
  const [labels, setLabels] = useState('');
  const [taints, setTaints] = useState('');
  const value = (e: Event): string => (e.currentTarget as HTMLInputElement).value;
  return (
    <ConfirmButton
      label="Add a pool"
      title={`Add a worker pool to ${props.cluster.name}`}
      confirmLabel="Add pool"
      onConfirm={async () => {
        const parsedLabels = parseLabels(labels);
        const parsedTaints = parseTaints(taints);
        if (typeof parsedLabels === 'string') throw new Error(`Labels: ${parsedLabels}`);
        if (typeof parsedTaints === 'string') throw new Error(`Taints: ${parsedTaints}`);
        props.onStarted(
          await api.addPool(props.cluster.id, {
            name,
            count: Number(count),
            ...(Object.keys(parsedLabels).length ? { labels: parsedLabels } : {}),
            ...(parsedTaints.length ? { taints: parsedTaints } : {}),
          }),
        );
      }}
    >
      <div class="stack">
        <label>
          Pool name
          <input value={name} required onInput={(e) => setName(value(e))} />
        </label>
        <label>
          Machines
          <input type="number" min={0} value={count} required onInput={(e) => setCount(value(e))} />
        </label>
        <label>
          Labels <span class="muted small">key=value, comma-separated</span>
          <input value={labels} onInput={(e) => setLabels(value(e))} />
        </label>
        <label>
          Taints <span class="muted small">key=value:NoSchedule, comma-separated</span>
          <input value={taints} onInput={(e) => setTaints(value(e))} />
        </label>
      </div>
    </ConfirmButton>
  );
}
